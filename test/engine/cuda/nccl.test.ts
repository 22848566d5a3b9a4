// NCCL on the GPU machine: a one-rank group on one GPU (the smoke test every GPU machine runs),
// and, where two or more GPUs are visible, a real group of worker processes summing their arrays
// and two ranks of a training run against one GPU's.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ncclUniqueId, ncclVersion } from "../../../src/engine/cuda/nccl.js";
import { launchWorkers } from "../../../src/train/launch.js";
import { NcclReducer } from "../../../src/train/nccl-reducer.js";
import { type StepLog, train } from "../../../src/train/trainer.js";
import { openGpuOrSkip } from "./gpu.js";
import { openTinyModel, options, uploadTinyQwen2 } from "./tiny-training.js";

const stepsOf = (dir: string) =>
  readFileSync(join(dir, "train_log.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as StepLog);

const gpu = openGpuOrSkip();
after(() => gpu.device?.dispose());
let gpus = 0;
if (gpu.device) gpus = gpu.device.driver.deviceCount();

describe("NCCL", { skip: gpu.skip }, () => {
  test("a one-rank group: the library loads, and a sum over one rank leaves the arrays as they were", async () => {
    assert.ok(ncclVersion() >= 20000, `NCCL ${ncclVersion()}`);
    const reducer = new NcclReducer(gpu.device!, 0, 1, ncclUniqueId());
    const a = Float32Array.from({ length: 4097 }, (_, i) => Math.sin(i));
    const copy = Float32Array.from(a);
    await reducer.allReduceSum([a, Float32Array.of(2.5)]);
    reducer.close();
    assert.deepEqual(a, copy);
  });

  test("a one-rank group sums a GPU buffer in place on the caller's stream: it is left as it was", () => {
    const device = gpu.device!;
    const reducer = new NcclReducer(device, 0, 1, ncclUniqueId());
    const a = Float32Array.from({ length: 4097 }, (_, i) => Math.cos(i));
    const buffer = device.alloc(a.byteLength);
    try {
      device.upload(buffer.ptr, a);
      reducer.allReduceSumDevice(buffer.ptr, a.length, device.stream);
      const back = new Float32Array(a.length);
      device.download(back, buffer.ptr);
      assert.deepEqual(back, a);
    } finally {
      buffer.free();
      reducer.close();
    }
  });

  test("worker processes on every visible GPU sum their arrays", { skip: gpus < 2 ? `one GPU visible (${gpus}); the group test needs two or more` : false }, async () => {
    const lines: string[] = [];
    const worker = new URL("./nccl-worker.js", import.meta.url).pathname;
    const code = await launchWorkers({ world: gpus, ncclId: ncclUniqueId(), command: process.execPath, args: [worker], err: (t) => lines.push(t) });
    assert.equal(code, 0, lines.join(""));
    const ranks = gpus * (gpus + 1) / 2; // Σ (rank + 1)
    for (const line of lines) {
      const got = JSON.parse(line.replace(/^\[rank \d+\] /, "")) as { a999: number; b0: number };
      assert.equal(got.a999, 999 * ranks);
      assert.equal(got.b0, (gpus * (gpus - 1)) / 2);
    }
    assert.equal(lines.length, gpus - 1, "ranks 1… report through the launcher");
  });
  test("two data-parallel ranks of a training run follow one GPU's loss curve", { skip: gpus < 2 ? `one GPU visible (${gpus}); two ranks need two GPUs` : false }, async () => {
    const root = mkdtempSync(join(tmpdir(), "agenttune-nccl-train-"));
    try {
      const device = gpu.device!;
      const { model, dispose } = openTinyModel(device, uploadTinyQwen2(device));
      try {
        await train({ ...options, model, outputDir: join(root, "one") });
      } finally {
        dispose();
      }
      const lines: string[] = [];
      const worker = new URL("./nccl-train-worker.js", import.meta.url).pathname;
      const code = await launchWorkers({ world: 2, ncclId: ncclUniqueId(), command: process.execPath, args: [worker, join(root, "two")], err: (t) => lines.push(t) });
      assert.equal(code, 0, lines.join(""));
      const [one, two] = [stepsOf(join(root, "one")), stepsOf(join(root, "two"))];
      assert.equal(two.length, one.length);
      // the same micro-batches and masks; the sums' order differs (one GPU accumulates, NCCL adds the ranks')
      for (const [i, a] of two.entries()) {
        const b = one[i]!;
        assert.ok(Math.abs(a.loss - b.loss) <= 1e-4 * Math.abs(b.loss), `step ${a.step}: loss ${a.loss} on two GPUs, ${b.loss} on one`);
        assert.ok(Math.abs(a.grad_norm - b.grad_norm) <= 1e-3 * b.grad_norm, `step ${a.step}: grad norm ${a.grad_norm} against ${b.grad_norm}`);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
