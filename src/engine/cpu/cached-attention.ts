// Attention of new query rows over the KV cache on the CPU, for the inference decoder: per head,
// scores = scale·Q·Kᵀ and out = P·V as matrix products (BLAS where present), causal and
// sliding-window masks applied to the scores in between. Prefill of a long prompt is then
// bound by the products, not by a scalar loop (a 693-token system prompt: ~32 s before).

import { InvalidInputError } from "../../errors.js";
import { matmul } from "./matmul.js";

export interface CachedAttentionShape {
  /** New query rows (their positions are start … start + rows − 1). */
  rows: number;
  /** Tokens in the cache before these rows. */
  start: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  scale: number;
  /** Sliding window (query p sees keys p − window + 1 … p), 0 = none. */
  window: number;
}

/**
 * Checks that an op over these sizes stays inside its tensors (both backends call it before
 * touching memory). @throws InvalidInputError naming the tensor that is too small.
 */
export function checkCachedAttention(s: CachedAttentionShape, qRow: number, sizes: { q: number; out: number; kCache: number; vCache: number }): void {
  const { rows, start, heads: H, kvHeads: Hkv, headDim: d } = s;
  if (!(rows > 0 && start >= 0 && qRow >= 0 && H > 0 && Hkv > 0 && H % Hkv === 0 && d > 0)) {
    throw new InvalidInputError(`cached attention: bad shape rows ${rows}, start ${start}, q row ${qRow}, heads ${H}/${Hkv}, headDim ${d}`);
  }
  const rowsEnd = (qRow + rows) * H * d;
  const keysEnd = (start + rows) * Hkv * d;
  for (const [name, need, size] of [
    ["q", rowsEnd, sizes.q],
    ["out", rowsEnd, sizes.out],
    ["kCache", keysEnd, sizes.kCache],
    ["vCache", keysEnd, sizes.vCache],
  ] as const) {
    if (size < need) throw new InvalidInputError(`cached attention: ${name} holds ${size} elements, the op needs ${need}`, { hint: "a KV cache holds maxTokens rows; make it larger or start a new one" });
  }
}

/**
 * q: [rows, H, d] (rotated), kCache, vCache: [≥ start + rows, Hkv, d] with the new rows already
 * written → out: [rows, H, d] (overwritten). Scratch holds the scores: ≥ rows·(start + rows).
 */
export function cachedAttention(out: Float32Array, q: Float32Array, kCache: Float32Array, vCache: Float32Array, s: CachedAttentionShape, scratch: Float32Array): void {
  const { rows, start, heads: H, kvHeads: Hkv, headDim: d } = s;
  const keys = start + rows;
  const group = H / Hkv;
  const kvStride = Hkv * d;
  const qStride = H * d;
  // keys before `first` are outside every row's window: skip them in the products
  const first = s.window > 0 ? Math.max(0, start - s.window + 1) : 0;
  const span = keys - first;
  const scores = scratch.subarray(0, rows * span);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / group);
    const kv = first * kvStride + g * d;
    // scores [rows, span] = scale · Q_h [rows, d] · K_g [span, d]ᵀ
    matmul(false, true, rows, span, d, s.scale, q.subarray(h * d), qStride, kCache.subarray(kv), kvStride, 0, scores, span);
    for (let t = 0; t < rows; t++) {
      const p = start + t;
      const lo = (s.window > 0 ? Math.max(0, p - s.window + 1) : 0) - first;
      const hi = p - first; // inclusive
      const row = t * span;
      let max = Number.NEGATIVE_INFINITY;
      for (let j = lo; j <= hi; j++) if ((scores[row + j] as number) > max) max = scores[row + j] as number;
      let sum = 0;
      for (let j = lo; j <= hi; j++) {
        const e = Math.exp((scores[row + j] as number) - max);
        scores[row + j] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let j = 0; j < span; j++) scores[row + j] = j >= lo && j <= hi ? (scores[row + j] as number) * inv : 0;
    }
    // out_h [rows, d] = P [rows, span] · V_g [span, d]
    matmul(false, false, rows, d, span, 1, scores, span, vCache.subarray(kv), kvStride, 0, out.subarray(h * d), qStride);
  }
}
