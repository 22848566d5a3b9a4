import { InvalidInputError } from "../../errors.js";
import { SimdScratch } from "./simd-exp.js";

const scratch = new SimdScratch();

/** Targets with this value are left out of the loss (PyTorch's and Hugging Face's ignore index). */
export const IGNORE_INDEX = -100;

/**
 * Softmax cross-entropy with the backward fused in. logits: [rows, vocab], targets: [rows]
 * (IGNORE_INDEX skips a row) → losses: [rows] (0 on ignored rows); returns the mean over the
 * counted rows (0 when none) and their count. When dlogits is given it gets
 * (softmax − onehot) / count, zero on ignored rows; it may alias logits.
 * Sums are taken in float64.
 */
export function crossEntropyForwardBackward(
  losses: Float32Array,
  dlogits: Float32Array | null,
  logits: Float32Array,
  targets: Int32Array,
  rows: number,
  vocab: number,
): { loss: number; count: number } {
  let count = 0;
  for (let r = 0; r < rows; r++) if (targets[r] !== IGNORE_INDEX) count++;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * vocab;
    const t = targets[r];
    if (t === IGNORE_INDEX) {
      losses[r] = 0;
      if (dlogits) dlogits.fill(0, o, o + vocab);
      continue;
    }
    if (t < 0 || t >= vocab) throw new InvalidInputError(`target ${t} at row ${r} is outside the vocabulary (0..${vocab - 1})`, { hint: "targets are token ids, or -100 for positions without loss" });
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < vocab; j++) if (logits[o + j] > max) max = logits[o + j];
    const target = logits[o + t]; // read before dlogits (which may alias logits) is written
    // the row's exponentials, four lanes at a time in WASM memory: e^(z − max)
    const e = scratch.reserve(vocab);
    e.set(logits.subarray(o, o + vocab));
    scratch.expSub(0, vocab, max);
    let sum = 0;
    for (let j = 0; j < vocab; j++) sum += e[j];
    const lse = max + Math.log(sum);
    const loss = lse - target;
    losses[r] = loss;
    total += loss;
    if (dlogits) {
      const scale = 1 / (sum * count);
      for (let j = 0; j < vocab; j++) dlogits[o + j] = e[j] * scale;
      dlogits[o + t] -= 1 / count;
    }
  }
  return { loss: count > 0 ? total / count : 0, count };
}
