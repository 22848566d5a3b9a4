// `agenttune train --backend cuda`'s model (CudaTrainableModel) under the trainer: the trainer
// hands clipping and AdamW to the device; the losses follow the host AdamW's run of the same
// model, a checkpoint (values and moments read back from the device) resumes to the same losses
// as one run, and a one-rank NCCL group (gradients summed on the device) gives the plain run.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { encodeBf16 } from "../../../src/engine/cuda/bf16-host.js";
import { ALL_LORA_TARGETS, CudaDecoderTrainer } from "../../../src/engine/cuda/decoder-trainer.js";
import { ncclUniqueId } from "../../../src/engine/cuda/nccl.js";
import { uploadDecoderWeights } from "../../../src/engine/cuda/upload-weights.js";
import { hostModelFromHfFolder } from "../../../src/model/host-weights.js";
import { collate } from "../../../src/train/batches.js";
import { CudaTrainableModel } from "../../../src/train/cuda-model.js";
import { hostDecoderWeights } from "../../../src/train/decoder-engine.js";
import { NcclReducer } from "../../../src/train/nccl-reducer.js";
import { HostStepOptimizer, type Parameter } from "../../../src/train/optimizer.js";
import { type StepLog, type TrainableModel, train } from "../../../src/train/trainer.js";
import { openGpuOrSkip } from "./gpu.js";
import { examples, openTinyModel, options, QWEN2_FIXTURE, settings, uploadTinyQwen2 } from "./tiny-training.js";

const gpu = openGpuOrSkip();
const root = mkdtempSync(join(tmpdir(), "agenttune-cuda-train-"));
after(() => {
  gpu.device?.dispose();
  rmSync(root, { recursive: true, force: true });
});

const logOf = (dir: string) =>
  readFileSync(join(dir, "train_log.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as StepLog);

describe("CudaTrainableModel under the trainer", { skip: gpu.skip }, () => {
  test("qwen2: the device optimizer follows the host AdamW, and resumes to the same losses", async () => {
    const device = gpu.device!;
    const uploaded = uploadTinyQwen2(device);
    const open = (hostOptimizer: boolean) => {
      const { model, dispose } = openTinyModel(device, uploaded);
      // without deviceOptimizer the trainer keeps AdamW on the host (as ranks of a host reducer do)
      if (hostOptimizer) Object.defineProperty(model, "deviceOptimizer", { value: undefined });
      return { model: model as TrainableModel, dispose };
    };
    const run = async (dir: string, hostOptimizer: boolean, extra: object = {}) => {
      const { model, dispose } = open(hostOptimizer);
      try {
        await train({ ...options, model, outputDir: dir, ...extra });
      } finally {
        dispose();
      }
    };
    await run(join(root, "host"), true);
    await run(join(root, "device"), false);
    const [h, d] = [logOf(join(root, "host")), logOf(join(root, "device"))];
    assert.equal(d.length, h.length);
    for (const [i, a] of d.entries()) {
      const b = h[i]!;
      // fp32 AdamW on the device against float64 arithmetic rounded to fp32 on the host
      assert.ok(Math.abs(a.loss - b.loss) <= 1e-4 * Math.abs(b.loss), `step ${a.step}: loss ${a.loss} on the device, ${b.loss} on the host`);
      assert.ok(Math.abs(a.grad_norm - b.grad_norm) <= 1e-3 * b.grad_norm, `step ${a.step}: grad norm ${a.grad_norm} against ${b.grad_norm}`);
    }
    assert.ok(d.at(-1)!.loss < d[0]!.loss, `the loss falls: ${d[0]!.loss} → ${d.at(-1)!.loss}`);
    console.log(`qwen2, ${d.length} steps: loss ${d[0]!.loss.toFixed(4)} → ${d.at(-1)!.loss.toFixed(4)} (device), ${h.at(-1)!.loss.toFixed(4)} (host)`);

    await run(join(root, "resumed"), false, { maxSteps: 2, saveEvery: 2 });
    await run(join(root, "resumed"), false, { resume: true });
    assert.deepEqual(
      logOf(join(root, "resumed")).map((l) => [l.step, l.loss, l.grad_norm]),
      d.map((l) => [l.step, l.loss, l.grad_norm]),
    );

    // a data-parallel rank of a one-rank NCCL group: the arena's gradients summed in place (a sum
    // over one rank leaves them as they are) and AdamW on the device, so the run is the plain one
    const reducer = new NcclReducer(device, 0, 1, ncclUniqueId());
    try {
      await run(join(root, "one-rank"), false, { distributed: { reducer } });
    } finally {
      reducer.close();
    }
    assert.deepEqual(
      logOf(join(root, "one-rank")).map((l) => [l.step, l.loss, l.grad_norm]),
      d.map((l) => [l.step, l.loss, l.grad_norm]),
    );
  });

  test("qwen2: from the same gradients, a device AdamW step moves every LoRA master as the host AdamW does", () => {
    // Isolates the optimizer: the device's gradients feed both; the host copy follows its own values.
    const device = gpu.device!;
    const host = hostModelFromHfFolder(QWEN2_FIXTURE);
    const weights = uploadDecoderWeights(device, host.config, hostDecoderWeights(host, ALL_LORA_TARGETS));
    const trainer = new CudaDecoderTrainer(device, host.config, weights, { rank: 4, alpha: 8, targets: ALL_LORA_TARGETS, recompute: "off", seed: 3, dropout: 0 });
    try {
      const model = new CudaTrainableModel(trainer, { ...settings, dropout: 0 }, "tiny-qwen2");
      const mirror: Parameter[] = model.parameters().map((p) => ({ ...p, value: Float32Array.from(p.value), grad: new Float32Array(p.value.length) }));
      const onHost = new HostStepOptimizer(mirror, { weightDecay: 0.01 });
      const onDevice = model.deviceOptimizer({ weightDecay: 0.01 });
      assert.ok(onDevice);
      const batch = collate(examples, [6, 7]);
      // the first step at lr 0, as under warm-up; a small max norm so that clipping acts
      for (const [step, lr, maxNorm] of [[1, 0, 1], [2, 5e-3, 1], [3, 5e-3, 0.05], [4, 5e-3, 1]] as const) {
        model.zeroGrad();
        model.lossAndGrad(batch.ids, batch.targets, batch.batch, batch.tokens, 1 / batch.targetCount);
        const grads = trainer.readLora("grads");
        for (const [i, p] of mirror.entries()) p.grad.set(grads[i] as Float32Array);
        const [hostNorm, deviceNorm] = [onHost.clipGradients(maxNorm), onDevice.clipGradients(maxNorm)];
        assert.ok(Math.abs(hostNorm - deviceNorm) <= 1e-6 * hostNorm, `step ${step}: gradient norm ${deviceNorm} on the device, ${hostNorm} on the host`);
        onHost.step(lr);
        onDevice.step(lr);
        const masters = trainer.readLora("params");
        const shadows = trainer.arena.readShadows();
        for (const [i, p] of mirror.entries()) {
          // what the next forward reads: the masters rounded to bf16
          const rounded = encodeBf16(masters[i] as Float32Array);
          const shadow = shadows[i] as Uint16Array;
          let mismatched = 0;
          for (let j = 0; j < shadow.length; j++) if (shadow[j] !== rounded[j]) mismatched++;
          assert.equal(mismatched, 0, `step ${step}, ${p.name}: ${mismatched} bf16 shadows are not the masters rounded`);
          const got = masters[i] as Float32Array;
          const scale = Math.max(1e-12, ...p.value.map(Math.abs));
          let worst = 0;
          for (let j = 0; j < got.length; j++) worst = Math.max(worst, Math.abs((got[j] as number) - (p.value[j] as number)) / scale);
          assert.ok(worst <= 1e-6, `step ${step}, ${p.name}: masters differ by ${worst} of the matrix's largest value`);
        }
      }
    } finally {
      trainer.dispose();
    }
  });
});
