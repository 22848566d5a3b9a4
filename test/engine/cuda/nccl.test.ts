// NCCL on the GPU machine: a one-rank group on one GPU (the smoke test every GPU machine runs),
// and, where two or more GPUs are visible, a real group of worker processes summing their arrays.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { ncclUniqueId, ncclVersion } from "../../../src/engine/cuda/nccl.js";
import { launchWorkers } from "../../../src/train/launch.js";
import { NcclReducer } from "../../../src/train/nccl-reducer.js";
import { openGpuOrSkip } from "./gpu.js";

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
});
