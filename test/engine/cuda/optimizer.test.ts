// The optimizer step of the CUDA QLoRA trainer (Σg², then one fused AdamW + bf16 shadow + zeroed
// gradient over the LoRA arena) against an fp32 AdamW on the host, fed the gradients the trainer
// accumulated: a few steps of the tiny qwen2 model, with the clipping on in one of them.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { encodeBf16 } from "../../../src/engine/cuda/bf16-host.js";
import { ALL_LORA_TARGETS, CudaDecoderTrainer } from "../../../src/engine/cuda/decoder-trainer.js";
import type { AdamwStep } from "../../../src/engine/cuda/ops.js";
import { uploadDecoderWeights } from "../../../src/engine/cuda/upload-weights.js";
import { hostModelFromHfFolder } from "../../../src/model/host-weights.js";
import { hostDecoderWeights } from "../../../src/train/decoder-engine.js";
import { readPeftFixture, relError } from "../../train/lora-fixture.js";
import { openGpuOrSkip } from "./gpu.js";

const f = Math.fround;

/** The kernel's hyperparameters, for the host reference. */
type HostAdamw = AdamwStep;

/** One AdamW step in fp32 (each operation rounded, as adamw_step does it), p, m, v updated in place. */
function adamwFp32(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, o: HostAdamw): void {
  // the kernel's arguments are fp32; 1 − β and the bias corrections come from the host in float64
  const [lr, b1, b2, eps, wd, scale] = [o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, o.gradScale].map(f);
  const [w1, w2] = [f(1 - o.beta1), f(1 - o.beta2)];
  const bias1 = f(1 - o.beta1 ** o.step);
  const bias2 = f(1 - o.beta2 ** o.step);
  for (let i = 0; i < p.length; i++) {
    const grad = f(g[i] * scale);
    m[i] = f(f(b1 * m[i]) + f(w1 * grad));
    v[i] = f(f(b2 * v[i]) + f(f(w2 * grad) * grad));
    const mhat = f(m[i] / bias1);
    const vhat = f(v[i] / bias2);
    p[i] = f(p[i] - f(lr * f(f(mhat / f(f(Math.sqrt(vhat)) + eps)) + f(wd * p[i]))));
  }
}

const FAMILY = "qwen2";
const gpu = openGpuOrSkip();
after(() => gpu.device?.dispose());

describe("the CUDA trainer's optimizer step against an fp32 AdamW on the host", { skip: gpu.skip }, () => {
  test(`${FAMILY}: 3 steps (clipped in step 2): LoRA params within 1e-6, shadows = bf16(master) exactly, grads zeroed`, () => {
    const device = gpu.device!;
    const dir = new URL(`../../fixtures/decoder/${FAMILY}`, import.meta.url).pathname;
    const host = hostModelFromHfFolder(dir);
    const c = host.config;
    const b = readPeftFixture(FAMILY);
    const weights = uploadDecoderWeights(device, c, hostDecoderWeights(host, ALL_LORA_TARGETS));
    const r = 4;
    const trainer = new CudaDecoderTrainer(device, c, weights, { rank: r, alpha: 8, targets: ALL_LORA_TARGETS, recompute: "off", seed: 0 });
    try {
      // only the matrices' elements count, not the arena's padding
      const qd = c.numHeads * c.headDim;
      const kd = c.numKvHeads * c.headDim;
      const d = c.hiddenSize;
      const I = c.intermediateSize;
      const perLayer = r * (d + qd) + 2 * r * (d + kd) + r * (qd + d) + 2 * r * (d + I) + r * (I + d);
      assert.equal(trainer.trainableParameters, c.numLayers * perLayer);
      assert.equal(
        trainer.readLora("params").reduce((s, p) => s + p.length, 0),
        trainer.trainableParameters,
      );
      const names = trainer.loraNames();
      assert.equal(names.length, c.numLayers * ALL_LORA_TARGETS.length * 2);

      // the fixture's adapter: B is non-zero, so A gets a gradient from the first step
      const params = names.map((name) => Float32Array.from(b.values.get(name)!.data));
      trainer.setLoraParams(params);
      assert.deepEqual(trainer.readLora("params"), params);
      assert.deepEqual(trainer.arena.readShadows(), params.map((p) => encodeBf16(p)), "shadows after setLoraParams");
      const m = params.map((p) => new Float32Array(p.length));
      const v = params.map((p) => new Float32Array(p.length));
      const unmasked = b.targets.filter((t) => t >= 0).length;

      // step 2 accumulates two micro-batches and is clipped to a quarter of its norm; step 3 has a bound it stays under
      const plan = [
        { microBatches: 1, clipTo: null as number | null },
        { microBatches: 2, clipTo: 0.25 },
        { microBatches: 1, clipTo: 1e9 },
      ];
      let clipped = 0;
      for (const [s, step] of plan.entries()) {
        for (let k = 0; k < step.microBatches; k++) trainer.forwardBackward(b.ids, b.targets, b.batch, b.tokens, 1 / unmasked);
        const grads = trainer.readLora("grads");
        let sq = 0;
        for (const g of grads) for (const x of g) sq += x * x;
        const hostNorm = Math.sqrt(sq);
        assert.ok(hostNorm > 0, `step ${s + 1}: the gradients are not all zero`);
        assert.ok(grads.every((g) => g.some((x) => x !== 0)), `step ${s + 1}: every LoRA matrix has a gradient`);
        const maxGradNorm = step.clipTo === null ? undefined : step.clipTo < 1 ? step.clipTo * hostNorm : step.clipTo;
        const o = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, maxGradNorm };
        const norm = trainer.optimizerStep(o);
        assert.ok(Math.abs(norm - hostNorm) <= 1e-5 * hostNorm, `step ${s + 1}: pre-clip norm ${norm} vs host ${hostNorm}`);
        // the trainer's rule, from the norm it returned: clip = maxGradNorm / (‖g‖ + 1e-6) when ‖g‖ exceeds it
        const gradScale = maxGradNorm && norm > maxGradNorm ? maxGradNorm / (norm + 1e-6) : 1;
        if (gradScale !== 1) clipped++;
        for (const [i, p] of params.entries()) adamwFp32(p, grads[i], m[i], v[i], { ...o, step: s + 1, gradScale });

        const got = trainer.readLora("params");
        for (const [i, p] of got.entries()) {
          const err = relError(p, params[i]);
          assert.ok(err <= 1e-6, `step ${s + 1}: ${names[i]} relative error ${err.toExponential(2)}`);
        }
        const shadows = trainer.arena.readShadows();
        for (const [i, p] of got.entries()) {
          const want = encodeBf16(p);
          for (let j = 0; j < want.length; j++) {
            if (shadows[i][j] !== want[j]) assert.fail(`step ${s + 1}: ${names[i]} shadow [${j}] = 0x${shadows[i][j].toString(16)}, bf16(master) = 0x${want[j].toString(16)}`);
          }
        }
        for (const [i, g] of trainer.readLora("grads").entries()) assert.ok(g.every((x) => x === 0), `step ${s + 1}: ${names[i]} gradient zeroed`);
      }
      assert.equal(clipped, 1, "the clipping was on in exactly one step");
    } finally {
      trainer.dispose();
      trainer.dispose(); // frees the arenas once
    }
  });
});
