// The PEFT LoRA fixtures of test/fixtures/train/lora-grads/ (scripts/fixtures/lora_grads.py):
// the adapter values, PEFT's gradients and loss, and the batch with the trainer's shifted targets.
import assert from "node:assert/strict";
import { openSafetensors } from "../../src/model/safetensors.js";
import { IGNORE_INDEX } from "../../src/train/batches.js";

export interface PeftFixture {
  values: Map<string, { shape: readonly number[]; data: Float32Array }>;
  grads: Map<string, Float32Array>;
  ids: Int32Array;
  targets: Int32Array;
  batch: number;
  tokens: number;
  /** PEFT's mean loss. */
  loss: number;
}

export function readPeftFixture(family: string): PeftFixture {
  const src = openSafetensors(new URL(`../fixtures/train/lora-grads/${family}.safetensors`, import.meta.url).pathname);
  try {
    const values = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    const grads = new Map<string, Float32Array>();
    for (const t of src.tensors) {
      if (t.name.startsWith("value.")) values.set(t.name.slice(6), { shape: t.shape, data: src.readTensor(t.name) });
      if (t.name.startsWith("grad.")) grads.set(t.name.slice(5), src.readTensor(t.name));
    }
    const idsInfo = src.tensors.find((t) => t.name === "batch.ids");
    assert.ok(idsInfo, "the fixture holds batch.ids");
    const [batch, tokens] = idsInfo.shape as [number, number];
    const ids = Int32Array.from(src.readTensor("batch.ids"));
    const labels = Int32Array.from(src.readTensor("batch.labels"));
    // transformers shifts labels inside the model; the trainer's targets come shifted
    const targets = new Int32Array(batch * tokens).fill(IGNORE_INDEX);
    for (let b = 0; b < batch; b++) for (let t = 0; t + 1 < tokens; t++) targets[b * tokens + t] = labels[b * tokens + t + 1] as number;
    return { values, grads, ids, targets, batch, tokens, loss: (src.readTensor("loss") as Float32Array)[0] as number };
  } finally {
    src.close();
  }
}

/** ‖a − b‖ / ‖b‖. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}
