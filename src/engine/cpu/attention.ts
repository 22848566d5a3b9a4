import { matmul } from "./matmul.js";
import { SimdScratch } from "./simd-exp.js";

/** Sizes of one attention call. `heads` query heads share `kvHeads` key/value heads (GQA), heads % kvHeads == 0. */
export interface AttentionShape {
  batch: number;
  tokens: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Multiplies Q·Kᵀ: 1/√headDim, or Gemma's query_pre_attn_scalar^−½. */
  scale: number;
  /** Query i sees key j when j ≤ i and i − j < window (sliding-window layers); 0 = no window. */
  window: number;
}

/** Query rows per block: scores exist for one block at a time, [QB, keys in reach]. */
const QB = 128;
/** P and dS of one block, side by side in WASM memory: P at 0, dS at `dsOffset(qn·kn)`. */
const scratch = new SimdScratch();
const dsOffset = (n: number) => (n + 15) & ~7;

/** The keys query block [q0, q1) can see: [lo, hi). */
function keyRange(q0: number, q1: number, window: number): [number, number] {
  return [window > 0 ? Math.max(0, q0 - window + 1) : 0, q1];
}

/**
 * Scores S = scale·Q_blk·K_rangeᵀ, masked, turned into probabilities P in place ([qn, kn], row
 * stride kn). S must be the scratch's view from offset 0 (the row kernels address it by offset).
 * With computeLse the row logsumexps are written to lse, else read from it.
 */
function probabilities(
  S: Float32Array,
  q: Float32Array,
  k: Float32Array,
  qBase: number,
  kBase: number,
  qStride: number,
  kStride: number,
  q0: number,
  qn: number,
  lo: number,
  kn: number,
  s: AttentionShape,
  lse: Float32Array,
  lseBase: number,
  computeLse: boolean,
): void {
  const d = s.headDim;
  matmul(false, true, qn, kn, d, s.scale, q.subarray(qBase + q0 * qStride), qStride, k.subarray(kBase + lo * kStride), kStride, 0, S, kn);
  for (let i = 0; i < qn; i++) {
    const qi = q0 + i;
    const row = i * kn;
    const first = s.window > 0 ? Math.max(lo, qi - s.window + 1) : lo;
    const a = first - lo;
    const b = qi - lo + 1; // visible columns [a, b)
    S.fill(0, row, row + a);
    if (computeLse) {
      const max = scratch.max(row + a, b - a);
      scratch.expSub(row + a, b - a, max);
      const sum = scratch.sum(row + a, b - a);
      lse[lseBase + qi] = max + Math.log(sum);
      scratch.scale(row + a, b - a, 1 / sum);
    } else {
      scratch.expSub(row + a, b - a, lse[lseBase + qi]);
    }
    S.fill(0, row + b, row + kn);
  }
}

/**
 * Causal self-attention with GQA and an optional sliding window; softmax in float32 (WASM SIMD rows).
 * q: [B, T, H, d], k, v: [B, T, Hkv, d] → out: [B, T, H, d], lse: [B, H, T] (row logsumexps, saved
 * for the backward pass). Works one query block at a time through `matmul`, so the scores need
 * O(QB · (QB + window)) memory (O(QB · T) without a window), never T².
 */
export function attentionForward(out: Float32Array, lse: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, s: AttentionShape): void {
  const { batch: B, tokens: T, heads: H, kvHeads: Hkv, headDim: d } = s;
  const g = H / Hkv;
  const qStride = H * d;
  const kStride = Hkv * d;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const qBase = b * T * qStride + h * d;
      const kBase = b * T * kStride + Math.floor(h / g) * d;
      const lseBase = (b * H + h) * T;
      for (let q0 = 0; q0 < T; q0 += QB) {
        const q1 = Math.min(T, q0 + QB);
        const [lo, hi] = keyRange(q0, q1, s.window);
        const kn = hi - lo;
        const P = scratch.reserve((q1 - q0) * kn);
        probabilities(P, q, k, qBase, kBase, qStride, kStride, q0, q1 - q0, lo, kn, s, lse, lseBase, true);
        // O_blk = P·V_range: [qn, d]
        matmul(false, false, q1 - q0, d, kn, 1, P, kn, v.subarray(kBase + lo * kStride), kStride, 0, out.subarray(qBase + q0 * qStride), qStride);
      }
    }
}

/**
 * The backward pass of `attentionForward`: dout: [B, T, H, d] → dq: [B, T, H, d], dk, dv: [B, T, Hkv, d]
 * (all overwritten). P is recomputed from q, k and the saved lse;
 * dS = P ⊙ (dout·Vᵀ − rowsum(dout ⊙ out)), dQ = scale·dS·K, dK = scale·dSᵀ·Q, dV = Pᵀ·dout.
 */
export function attentionBackward(
  dq: Float32Array,
  dk: Float32Array,
  dv: Float32Array,
  dout: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  out: Float32Array,
  lse: Float32Array,
  s: AttentionShape,
): void {
  const { batch: B, tokens: T, heads: H, kvHeads: Hkv, headDim: d } = s;
  const g = H / Hkv;
  const qStride = H * d;
  const kStride = Hkv * d;
  dk.fill(0, 0, B * T * kStride);
  dv.fill(0, 0, B * T * kStride);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const qBase = b * T * qStride + h * d;
      const kBase = b * T * kStride + Math.floor(h / g) * d;
      const lseBase = (b * H + h) * T;
      for (let q0 = 0; q0 < T; q0 += QB) {
        const q1 = Math.min(T, q0 + QB);
        const qn = q1 - q0;
        const [lo, hi] = keyRange(q0, q1, s.window);
        const kn = hi - lo;
        const view = scratch.reserve(dsOffset(qn * kn) + qn * kn);
        const P = view;
        const dS = view.subarray(dsOffset(qn * kn));
        probabilities(P, q, k, qBase, kBase, qStride, kStride, q0, qn, lo, kn, s, lse, lseBase, false);
        const dO = dout.subarray(qBase + q0 * qStride);
        // dV_range += Pᵀ·dO: [kn, d]
        matmul(true, false, kn, d, qn, 1, P, kn, dO, qStride, 1, dv.subarray(kBase + lo * kStride), kStride);
        // dP = dO·V_rangeᵀ: [qn, kn]
        matmul(false, true, qn, kn, d, 1, dO, qStride, v.subarray(kBase + lo * kStride), kStride, 0, dS, kn);
        for (let i = 0; i < qn; i++) {
          const o = qBase + (q0 + i) * qStride;
          let D = 0;
          for (let j = 0; j < d; j++) D += dout[o + j] * out[o + j];
          scratch.subMul(dsOffset(qn * kn) + i * kn, i * kn, kn, D);
        }
        // dQ_blk = scale·dS·K_range: [qn, d]
        matmul(false, false, qn, d, kn, s.scale, dS, kn, k.subarray(kBase + lo * kStride), kStride, 0, dq.subarray(qBase + q0 * qStride), qStride);
        // dK_range += scale·dSᵀ·Q_blk: [kn, d]
        matmul(true, false, kn, d, qn, s.scale, dS, kn, q.subarray(qBase + q0 * qStride), qStride, 1, dk.subarray(kBase + lo * kStride), kStride);
      }
    }
}
