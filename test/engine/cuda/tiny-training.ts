// The tiny qwen2 training run the trainer's GPU tests share (train-model.test.ts, and the ranks of
// nccl-train-worker.ts): eight short sequences over the fixture's vocabulary (32), the second half
// of each trained, two epochs of two micro-batches of two a step.

import { ALL_LORA_TARGETS, CudaDecoderTrainer } from "../../../src/engine/cuda/decoder-trainer.js";
import type { CudaDevice } from "../../../src/engine/cuda/device.js";
import { uploadDecoderWeights } from "../../../src/engine/cuda/upload-weights.js";
import { hostModelFromHfFolder } from "../../../src/model/host-weights.js";
import { CudaTrainableModel } from "../../../src/train/cuda-model.js";
import { hostDecoderWeights } from "../../../src/train/decoder-engine.js";
import type { LoraSettings } from "../../../src/train/lora-decoder.js";
import type { TokenizedExample } from "../../../src/train/tokenize.js";

export const settings: LoraSettings = { rank: 4, alpha: 8, dropout: 0.1, targets: ["q", "k", "v", "o", "gate", "up", "down"], seed: 3 };

export const examples: TokenizedExample[] = Array.from({ length: 8 }, (_, i) => {
  const n = 12 + 3 * i;
  return { ids: Int32Array.from({ length: n }, (_, t) => (7 * i + 5 * t + 1) % 32), mask: Uint8Array.from({ length: n }, (_, t) => (t >= n / 2 ? 1 : 0)), messages: 2, truncated: false };
});

/** The trainer's options but the model and the output folder. */
export const options = { modelId: "tiny-qwen2", examples, epochs: 2, batchSize: 2, gradAccum: 2, lr: 5e-3, warmupRatio: 0.1, seed: 5 };

export const QWEN2_FIXTURE = new URL("../../fixtures/decoder/qwen2", import.meta.url).pathname;

/** The qwen2 fixture's weights on `device` (upload once, open several trainers over them). */
export function uploadTinyQwen2(device: CudaDevice) {
  const host = hostModelFromHfFolder(QWEN2_FIXTURE);
  return { config: host.config, weights: uploadDecoderWeights(device, host.config, hostDecoderWeights(host, ALL_LORA_TARGETS)) };
}

/** A CudaTrainableModel over the uploaded fixture, with `settings`; dispose frees its trainer. */
export function openTinyModel(device: CudaDevice, uploaded: ReturnType<typeof uploadTinyQwen2>) {
  const trainer = new CudaDecoderTrainer(device, uploaded.config, uploaded.weights, { rank: settings.rank, alpha: settings.alpha, targets: ALL_LORA_TARGETS, recompute: "off", seed: settings.seed, dropout: settings.dropout });
  return { trainer, model: new CudaTrainableModel(trainer, settings, "tiny-qwen2"), dispose: () => trainer.dispose() };
}
