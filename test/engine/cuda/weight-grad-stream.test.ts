// The LoRA weight gradients on a second stream (LoraOptions.overlapWeightGrads) against the same
// step with them on the main stream: the same products in the same order on each stream, so the
// loss and every gradient matrix must agree bit for bit. Two accumulated micro-batches a step, so
// a product that read a buffer the main stream had already moved on from would show.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { ALL_LORA_TARGETS, CudaDecoderTrainer, type LoraOptions } from "../../../src/engine/cuda/decoder-trainer.js";
import { uploadDecoderWeights } from "../../../src/engine/cuda/upload-weights.js";
import { hostModelFromHfFolder } from "../../../src/model/host-weights.js";
import { hostDecoderWeights } from "../../../src/train/decoder-engine.js";
import { readPeftFixture } from "../../train/lora-fixture.js";
import { openGpuOrSkip } from "./gpu.js";

const gpu = openGpuOrSkip();
after(() => gpu.device?.dispose());

const CASES: { label: string; options: Partial<LoraOptions> }[] = [
  { label: "shared A products, the B side folded both ways (auto here)", options: {} },
  { label: "shared A products, the B side apart", options: { foldLoraB: "off" } },
  { label: "every projection alone", options: { fuseSharedInputs: false } },
  { label: "dropout 0.3", options: { dropout: 0.3 } },
  { label: "selective recomputation", options: { recompute: "selective" } },
  { label: "B side folded forward", options: { foldLoraB: "forward" } },
];

describe("the LoRA weight gradients on a second stream", { skip: gpu.skip }, () => {
  for (const family of ["llama", "gemma3_text"]) {
    test(`${family}: the loss and every gradient matrix as on one stream, bit for bit`, () => {
      const device = gpu.device!;
      const host = hostModelFromHfFolder(new URL(`../../fixtures/decoder/${family}`, import.meta.url).pathname);
      const b = readPeftFixture(family);
      const weights = uploadDecoderWeights(device, host.config, hostDecoderWeights(host, ALL_LORA_TARGETS));
      for (const { label, options } of CASES) {
        const run = (overlapWeightGrads: boolean) => {
          const t = new CudaDecoderTrainer(device, host.config, weights, { rank: 4, alpha: 8, targets: ALL_LORA_TARGETS, recompute: "off", seed: 1, ...options, overlapWeightGrads });
          try {
            // B ≠ 0, so every product of the backward pass matters
            t.setLoraParams(t.readLora("params").map((p, i) => (i % 2 === 1 ? p.map((_, j) => 0.01 * Math.cos(j + i)) : p)));
            const losses = [t.forwardBackward(b.ids, b.targets, b.batch, b.tokens, 0.5), t.forwardBackward(b.ids, b.targets, b.batch, b.tokens, 0.5)];
            return { losses, grads: t.readLora("grads") };
          } finally {
            t.dispose();
          }
        };
        const one = run(false);
        const two = run(true);
        assert.deepEqual(two.losses, one.losses, `${label}: losses`);
        const differing = two.grads.flatMap((g, i) => (g.every((v, j) => Object.is(v, one.grads[i]![j])) ? [] : [i]));
        assert.deepEqual(differing, [], `${label}: gradient matrices ${differing.join(", ")} differ`);
        assert.ok(one.grads.some((g) => g.some((v) => v !== 0)), `${label}: the gradients are not all zero`);
      }
      console.log(`${family}: ${CASES.length} settings, the same bits on one stream and two`);
    });
  }
});
