import type { AttentionShape } from "./cpu/attention.js";
import type { CachedAttentionShape } from "./cpu/cached-attention.js";
import type { GluActivation } from "./cpu/glu.js";
import type { LoraShape } from "./cpu/lora-linear.js";

export type { AttentionShape, CachedAttentionShape, GluActivation, LoraShape };

/** Element types: f32 everywhere on the CPU; bf16 for the CUDA backend's activations and weights; i32 for ids and positions. */
export type DType = "f32" | "bf16" | "i32";

/** A tensor owned by one backend (host memory for `cpu`, device memory for `cuda`). Row-major. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
}

/** Transposes and scalars of one matrix product, sgemm style: C = alpha·op(A)·op(B) + beta·C. */
export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
}

/**
 * The engine's backend: tensors and the layer set, each forward with its backward (llm.c style:
 * explicit outputs, sizes passed in, nothing allocated behind the caller's back).
 * Gradient conventions: activation gradients (dx, dq, dgate…) are overwritten; parameter
 * gradients (dweight, dW, db, dA, dB, dtable) are accumulated (+=), so micro-batches add up.
 * Layouts: activations [rows = batch·tokens, features]; attention q [B, T, H, d], k/v [B, T, Hkv, d].
 */
export interface Backend {
  readonly name: "cpu" | "cuda";

  /** A zero-filled tensor. */
  alloc(shape: readonly number[], dtype?: DType): Tensor;
  /** Copies host data in (length = t.size; Int32Array for i32). */
  upload(t: Tensor, data: Float32Array | Int32Array): void;
  /** Copies the tensor out to the host (f32 for f32/bf16 tensors, Int32Array for i32). */
  download(t: Tensor): Float32Array | Int32Array;
  /** Frees one tensor. */
  free(t: Tensor): void;

  /** c: [m, n] = alpha·op(a)·op(b) + beta·c with op(a): [m, k], op(b): [k, n], both contiguous. */
  matmul(c: Tensor, a: Tensor, b: Tensor, m: number, n: number, k: number, o?: MatmulOptions): void;

  /** ids: [tokens] → out: [tokens, dim] = table[ids]·scale. */
  embeddingForward(out: Tensor, table: Tensor, ids: Tensor, tokens: number, dim: number, scale: number): void;
  /** dtable: [vocab, dim] += scatter of dout: [tokens, dim]·scale. */
  embeddingBackward(dtable: Tensor, dout: Tensor, ids: Tensor, tokens: number, dim: number, scale: number): void;

  /** x: [rows, dim] → out: [rows, dim], rstd: [rows]; unitOffset = Gemma's (1 + w). */
  rmsnormForward(out: Tensor, rstd: Tensor, x: Tensor, weight: Tensor, rows: number, dim: number, eps: number, unitOffset: boolean): void;
  /** dout → dx (overwritten), dweight += (null when frozen). */
  rmsnormBackward(dx: Tensor, dweight: Tensor | null, dout: Tensor, x: Tensor, weight: Tensor, rstd: Tensor, rows: number, dim: number, unitOffset: boolean): void;

  /** x: [tokens, heads, headDim] rotated in place (HF rotate-half); positions: [tokens] i32. */
  ropeForward(x: Tensor, positions: Tensor, tokens: number, heads: number, headDim: number, theta: number): void;
  /** dx in place: the inverse rotation. */
  ropeBackward(dx: Tensor, positions: Tensor, tokens: number, heads: number, headDim: number, theta: number): void;

  /** Causal GQA attention with optional sliding window → out: [B, T, H, d], lse: [B, H, T] f32. */
  attentionForward(out: Tensor, lse: Tensor, q: Tensor, k: Tensor, v: Tensor, s: AttentionShape): void;
  /** dout → dq, dk, dv (overwritten). */
  attentionBackward(dq: Tensor, dk: Tensor, dv: Tensor, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, s: AttentionShape): void;

  /**
   * Inference attention of new query rows over a KV cache: rows qRow … qRow + s.rows − 1 of
   * q: [*, H, d] (rotated), at positions s.start … s.start + s.rows − 1, over keys
   * 0 … start + rows − 1 of kCache, vCache: [≥ start + rows, Hkv, d] (the new rows already
   * written; causal, sliding window s.window) → the same rows of out: [*, H, d] (overwritten).
   */
  cachedAttention(out: Tensor, q: Tensor, qRow: number, kCache: Tensor, vCache: Tensor, s: CachedAttentionShape): void;
  /** dst rows dstRow … dstRow + rows − 1 = src rows srcRow … srcRow + rows − 1, rows of `width` elements (same dtype). */
  copyRows(dst: Tensor, dstRow: number, src: Tensor, srcRow: number, rows: number, width: number): void;

  /** h: [n] = act(gate)·up. */
  gluForward(h: Tensor, gate: Tensor, up: Tensor, n: number, act: GluActivation): void;
  /** dh → dgate, dup (overwritten). */
  gluBackward(dgate: Tensor, dup: Tensor, dh: Tensor, gate: Tensor, up: Tensor, n: number, act: GluActivation): void;

  /** y: [rows, outF] = x: [rows, inF]·w: [outF, inF]ᵀ + bias: [outF]. */
  linearForward(y: Tensor, x: Tensor, w: Tensor, bias: Tensor | null, rows: number, inF: number, outF: number): void;
  /** dx = dy·W (overwritten), dw += dyᵀ·x, db += Σ dy; any may be null. */
  linearBackward(dx: Tensor | null, dw: Tensor | null, db: Tensor | null, dy: Tensor, x: Tensor, w: Tensor, rows: number, inF: number, outF: number): void;

  /** LoRA linear (PEFT): y = x·Wᵀ + b + scaling·(dropout(x)·Aᵀ)·Bᵀ; h: [rows, rank] saved. */
  loraForward(y: Tensor, h: Tensor, x: Tensor, w: Tensor, bias: Tensor | null, a: Tensor, b: Tensor, s: LoraShape): void;
  /** dy → dx (overwritten, or null), dA +=, dB += (W frozen). */
  loraBackward(dx: Tensor | null, dA: Tensor, dB: Tensor, dy: Tensor, x: Tensor, w: Tensor, a: Tensor, b: Tensor, h: Tensor, s: LoraShape): void;

  /** out: [n] = a + b (out may alias an input). */
  residualForward(out: Tensor, a: Tensor, b: Tensor, n: number): void;
  /** dst: [n] += src: [n] (the residual's backward, gradient accumulation). */
  accumulate(dst: Tensor, src: Tensor, n: number): void;

  /**
   * Cross-entropy over logits: [rows, vocab] with targets: [rows] i32 (−100 ignored), mean over
   * counted rows → losses: [rows]; dlogits (may alias logits) = (softmax − onehot)/count. Returns the mean loss.
   */
  crossEntropy(losses: Tensor, dlogits: Tensor | null, logits: Tensor, targets: Tensor, rows: number, vocab: number): number;

  /** Releases everything the backend holds. */
  dispose(): void;
}
