import type { CudaDevice, Kernel } from "./device.js";
import type { DevicePtr } from "./ffi.js";
import { kernelSource } from "./kernel-source.js";

/** Activation of the gated MLP: SwiGLU (Llama, Qwen) or GeGLU with tanh GELU (Gemma). */
export type GluActivation = "silu" | "gelu_tanh";

const THREADS = 256;
const blocksFor = (n: number) => Math.ceil(n / THREADS);
/** Blocks of a grid-stride launch: enough to fill an H200 (132 SMs × 2048 threads ≈ 1056 blocks of 256) several times over. */
const STRIDE_BLOCKS = 4096;
/** Blocks of sumSquares' first pass: its scratch holds one fp32 partial sum each. */
export const SUM_SQUARES_BLOCKS = 1024;

/** Whether n bf16 elements at every pointer can go 8 at a time: n divisible by 8, each pointer 16-byte aligned. */
function vectorizable(n: number, ...pointers: DevicePtr[]): boolean {
  return n % 8 === 0 && pointers.every((p) => BigInt(p) % 16n === 0n);
}

/**
 * The RMSNorm kernel for these rows, and the strided operand's row length (`stride`, elements) in
 * the units it counts: the 8-at-a-time one (words) where dim and stride are divisible by 8, dim is
 * at most 2 words a thread (RMS_VEC_MAX) and the pointers are aligned; else the plain one.
 */
function rowKernel(plain: Kernel, x8: Kernel, dim: number, stride: number, ...pointers: DevicePtr[]): [Kernel, number] {
  const wide = dim <= 2 * 8 * THREADS && stride % 8 === 0 && vectorizable(dim, ...pointers);
  return wide ? [x8, stride / 8] : [plain, stride];
}

/** One AdamW step's hyperparameters; `step` counts from 1, `gradScale` multiplies the gradient first (clipping). */
export interface AdamwStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
  gradScale: number;
}

/**
 * The scalar arguments both AdamW kernels take, in their order: lr, β1, β2, 1 − β1, 1 − β2, eps,
 * wd, 1 − β1^t, 1 − β2^t, grad scale. The differences are taken here in float64: in the kernel's
 * fp32, 1 − β2 would be 1.3e-5 off.
 */
function adamwScalars(o: AdamwStep): number[] {
  return [o.lr, o.beta1, o.beta2, 1 - o.beta1, 1 - o.beta2, o.eps, o.weightDecay, 1 - o.beta1 ** o.step, 1 - o.beta2 ** o.step, o.gradScale];
}
const ADAMW_SCALARS = Array<"f32">(10).fill("f32");

/**
 * The elementwise and row-wise layers of the CUDA backend, forward beside backward (llm.c style).
 * Tensors are device pointers; shapes are in the comments; bf16 unless said otherwise.
 */
export class CudaOps {
  private readonly k: Record<string, Kernel>;

  constructor(device: CudaDevice) {
    this.k = {
      ...device.compile(kernelSource("rmsnorm.cu"), "rmsnorm.cu", {
        rmsnorm_forward: ["ptr", "ptr", "ptr", "ptr", "i32", "f32", "f32", "i32"],
        rmsnorm_backward: ["ptr", "ptr", "ptr", "ptr", "ptr", "i32", "f32", "i32", "i32"],
        add_rmsnorm_forward: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "f32", "f32", "i32"],
        rmsnorm_forward_x8: ["ptr", "ptr", "ptr", "ptr", "i32", "f32", "f32", "i32"],
        rmsnorm_backward_x8: ["ptr", "ptr", "ptr", "ptr", "ptr", "i32", "f32", "i32", "i32"],
        add_rmsnorm_forward_x8: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "f32", "f32", "i32"],
      }),
      ...device.compile(kernelSource("glu.cu"), "glu.cu", {
        glu_forward: ["ptr", "ptr", "ptr", "i64", "i32"],
        glu_backward: ["ptr", "ptr", "ptr", "ptr", "ptr", "i64", "i32"],
        glu_forward_x8: ["ptr", "ptr", "ptr", "i64", "i32"],
        glu_backward_x8: ["ptr", "ptr", "ptr", "ptr", "ptr", "i64", "i32"],
        glu_backward_remake: ["ptr", "ptr", "ptr", "ptr", "ptr", "i64", "i32"],
        glu_backward_remake_x8: ["ptr", "ptr", "ptr", "ptr", "ptr", "i64", "i32"],
      }),
      ...device.compile(kernelSource("rope.cu"), "rope.cu", {
        rope_apply: ["ptr", "ptr", "ptr", "i32", "i32", "i32", "f32", "f32"],
        rope_table: ["ptr", "ptr", "i32", "i32", "f32"],
      }),
      ...device.compile(kernelSource("adamw.cu"), "adamw.cu", {
        adamw_step: ["ptr", "ptr", "ptr", "ptr", "i64", ...ADAMW_SCALARS],
        adamw_shadow_step: ["ptr", "ptr", "ptr", "ptr", "ptr", "i64", ...ADAMW_SCALARS],
        sum_squares_partial: ["ptr", "i64", "ptr"],
        sum_partials: ["ptr", "i32", "ptr"],
      }),
      ...device.compile(kernelSource("cross_entropy.cu"), "cross_entropy.cu", {
        cross_entropy_fused: ["ptr", "ptr", "ptr", "i32", "f32"],
        cross_entropy_fused_x8: ["ptr", "ptr", "ptr", "i32", "f32"],
      }),
      // LoRA dropout: the backend's kernel, which draws the CPU's mask bit for bit
      ...device.compile(kernelSource("backend.cu"), "backend.cu", {
        dropout: ["ptr", "i32", "ptr", "i32", "i64", "u32", "u32", "f32"],
      }),
      ...device.compile(kernelSource("elementwise.cu"), "elementwise.cu", {
        add_inplace: ["ptr", "ptr", "i64"],
        add: ["ptr", "ptr", "ptr", "i64"],
        add_bias: ["ptr", "ptr", "i64", "i32"],
        copy_columns: ["ptr", "ptr", "i32", "i32", "i32"],
        f32_to_bf16_copy: ["ptr", "ptr", "i64"],
        embedding_gather: ["ptr", "ptr", "ptr", "i32", "i32", "f32"],
        embedding_gather_x8: ["ptr", "ptr", "ptr", "i32", "i32", "f32"],
        neftune_noise_add: ["ptr", "i64", "u32", "f32"],
        scatter_rows: ["ptr", "ptr", "ptr", "i32", "i32"],
        fill_random_bf16: ["ptr", "i64", "f32", "u32"],
        fill_random_u8: ["ptr", "i64", "u32"],
      }),
    };
  }

  /** dst: [n] bf16 = src ⊙ the dropout mask of (seed, p) (src/engine/cpu/dropout.ts); dst may be src. */
  dropout(dst: DevicePtr, src: DevicePtr, n: number, seed: number, p: number): void {
    const threshold = Math.ceil(p * 4294967296) >>> 0;
    this.k.dropout.launch([blocksFor(n)], [THREADS], 0, dst, 1, src, 1, n, seed >>> 0, threshold, 1 / (1 - p));
  }

  /**
   * x: [rows, dim], weight: [dim] fp32 → y: [rows, dim], rstd: [rows] fp32. y may be the first dim
   * columns of a wider matrix, `yStride` elements a row (the other columns are left alone).
   */
  rmsnormForward(y: DevicePtr, rstd: DevicePtr, x: DevicePtr, weight: DevicePtr, rows: number, dim: number, eps: number, unitOffset: boolean, yStride = dim): void {
    const [kernel, stride] = rowKernel(this.k.rmsnorm_forward, this.k.rmsnorm_forward_x8, dim, yStride, x, y, weight);
    kernel.launch([rows], [THREADS], 0, x, weight, y, rstd, dim, eps, unitOffset ? 1 : 0, stride);
  }

  /** sum: [rows, dim] = a + b (the residual stream), then y = RMSNorm(sum), rstd: [rows] — one pass. y: `yStride` elements a row. */
  addRmsnormForward(sum: DevicePtr, y: DevicePtr, rstd: DevicePtr, a: DevicePtr, b: DevicePtr, weight: DevicePtr, rows: number, dim: number, eps: number, unitOffset: boolean, yStride = dim): void {
    const [kernel, stride] = rowKernel(this.k.add_rmsnorm_forward, this.k.add_rmsnorm_forward_x8, dim, yStride, a, b, sum, y, weight);
    kernel.launch([rows], [THREADS], 0, a, b, weight, sum, y, rstd, dim, eps, unitOffset ? 1 : 0, stride);
  }

  /**
   * dy: [rows, dim] → dx: [rows, dim] (added to dx when accumulate). The weight is frozen: no dweight.
   * dy may be the first dim columns of a wider matrix, `dyStride` elements a row.
   */
  rmsnormBackward(dx: DevicePtr, dy: DevicePtr, x: DevicePtr, weight: DevicePtr, rstd: DevicePtr, rows: number, dim: number, unitOffset: boolean, accumulate: boolean, dyStride = dim): void {
    const [kernel, stride] = rowKernel(this.k.rmsnorm_backward, this.k.rmsnorm_backward_x8, dim, dyStride, dy, x, dx, weight);
    kernel.launch([rows], [THREADS], 0, dy, x, weight, rstd, dx, dim, unitOffset ? 1 : 0, accumulate ? 1 : 0, stride);
  }

  /** gate, up: [n] → h = act(gate) · up: [n]. 8 elements a thread where n and the pointers allow. */
  gluForward(h: DevicePtr, gate: DevicePtr, up: DevicePtr, n: number, act: GluActivation): void {
    const code = act === "silu" ? 0 : 1;
    if (vectorizable(n, h, gate, up)) this.k.glu_forward_x8.launch([blocksFor(n / 8)], [THREADS], 0, gate, up, h, n / 8, code);
    else this.k.glu_forward.launch([blocksFor(n)], [THREADS], 0, gate, up, h, n, code);
  }

  /** dh: [n] → dgate, dup: [n]. 8 elements a thread where n and the pointers allow. */
  gluBackward(dgate: DevicePtr, dup: DevicePtr, dh: DevicePtr, gate: DevicePtr, up: DevicePtr, n: number, act: GluActivation): void {
    const code = act === "silu" ? 0 : 1;
    if (vectorizable(n, dgate, dup, dh, gate, up)) this.k.glu_backward_x8.launch([blocksFor(n / 8)], [THREADS], 0, dh, gate, up, dgate, dup, n / 8, code);
    else this.k.glu_backward.launch([blocksFor(n)], [THREADS], 0, dh, gate, up, dgate, dup, n, code);
  }

  /**
   * As gluBackward, and h = act(gate) · up written over dh (dhThenH: dh in, h out), the same bits
   * as gluForward: the backward pass of a layer whose forward dropped h gets it back here.
   */
  gluBackwardRemaking(dgate: DevicePtr, dup: DevicePtr, dhThenH: DevicePtr, gate: DevicePtr, up: DevicePtr, n: number, act: GluActivation): void {
    const code = act === "silu" ? 0 : 1;
    if (vectorizable(n, dgate, dup, dhThenH, gate, up)) this.k.glu_backward_remake_x8.launch([blocksFor(n / 8)], [THREADS], 0, dhThenH, gate, up, dgate, dup, n / 8, code);
    else this.k.glu_backward_remake.launch([blocksFor(n)], [THREADS], 0, dhThenH, gate, up, dgate, dup, n, code);
  }

  /** x: [tokens, heads, headDim] rotated in place; positions: [tokens] int32. inverse = the backward pass. */
  rope(x: DevicePtr, positions: DevicePtr, tokens: number, heads: number, headDim: number, theta: number, inverse = false): void {
    const n = (tokens * heads * headDim) / 2;
    this.k.rope_apply.launch([blocksFor(n)], [THREADS], 0, x, positions, 0, tokens, heads, headDim, theta, inverse ? -1 : 1);
  }

  /** table: [tokens, headDim/2] (cos, sin) fp32 pairs of the rotation `rope` applies at positions: [tokens] int32. */
  ropeTable(table: DevicePtr, positions: DevicePtr, tokens: number, headDim: number, theta: number): void {
    this.k.rope_table.launch([blocksFor((tokens * headDim) / 2)], [THREADS], 0, table, positions, tokens, headDim, theta);
  }

  /** `rope` from a ropeTable of the same positions and theta: the same bits, without the trigonometry. */
  ropeFromTable(x: DevicePtr, table: DevicePtr, tokens: number, heads: number, headDim: number, inverse = false): void {
    const n = (tokens * heads * headDim) / 2;
    this.k.rope_apply.launch([blocksFor(n)], [THREADS], 0, x, 0, table, tokens, heads, headDim, 0, inverse ? -1 : 1);
  }

  /** logits: [rows, vocab] → overwritten by dlogits·scale; targets: [rows] int32 (−100 ignored) → losses: [rows] fp32. */
  crossEntropy(logits: DevicePtr, targets: DevicePtr, losses: DevicePtr, rows: number, vocab: number, scale: number): void {
    const kernel = vectorizable(vocab, logits) ? this.k.cross_entropy_fused_x8 : this.k.cross_entropy_fused;
    kernel.launch([rows], [1024], 0, logits, targets, losses, vocab, scale);
  }

  /** out: [n] = a + b. */
  add(out: DevicePtr, a: DevicePtr, b: DevicePtr, n: number): void {
    this.k.add.launch([blocksFor(n)], [THREADS], 0, out, a, b, n);
  }

  /** y: [n] += x: [n]. */
  addInPlace(y: DevicePtr, x: DevicePtr, n: number): void {
    this.k.add_inplace.launch([blocksFor(n)], [THREADS], 0, y, x, n);
  }

  /** y: [rows, cols] += bias: [cols] fp32. */
  addBias(y: DevicePtr, bias: DevicePtr, rows: number, cols: number): void {
    this.k.add_bias.launch([blocksFor(rows * cols)], [THREADS], 0, y, bias, rows * cols, cols);
  }

  /** dst: [n] bf16 = src: [n] fp32. */
  toBf16(dst: DevicePtr, src: DevicePtr, n: number): void {
    this.k.f32_to_bf16_copy.launch([blocksFor(n)], [THREADS], 0, dst, src, n);
  }

  /** ids: [tokens] int32, table: [vocab, dim] → out: [tokens, dim] = table[ids] · scale. */
  embedding(out: DevicePtr, table: DevicePtr, ids: DevicePtr, tokens: number, dim: number, scale: number): void {
    if (vectorizable(dim, out, table)) this.k.embedding_gather_x8.launch([blocksFor((tokens * dim) / 8)], [THREADS], 0, out, table, ids, tokens, dim / 8, scale);
    else this.k.embedding_gather.launch([blocksFor(tokens * dim)], [THREADS], 0, out, table, ids, tokens, dim, scale);
  }

  /** x: [n] bf16 += the NEFTune noise of (seed, magnitude), neftuneNoise's values (src/engine/neftune.ts). */
  neftuneNoise(x: DevicePtr, n: number, seed: number, magnitude: number): void {
    this.k.neftune_noise_add.launch([blocksFor(n)], [THREADS], 0, x, n, seed >>> 0, magnitude);
  }

  /** out: [rows, dim] bf16 = the rows `index` (int32 [rows]) names of table: [*, dim]. */
  gatherRows(out: DevicePtr, table: DevicePtr, index: DevicePtr, rows: number, dim: number): void {
    this.embedding(out, table, index, rows, dim, 1); // × 1 keeps every bf16 as it is
  }

  /** dst: [rows, cols] = src: [rows, cols] read `srcStride` elements a row (a column slice of a wider matrix). */
  copyColumns(dst: DevicePtr, src: DevicePtr, rows: number, cols: number, srcStride: number): void {
    this.k.copy_columns.launch([blocksFor(rows * cols)], [THREADS], 0, dst, src, rows, cols, srcStride);
  }

  /** out row index[r] = src row r, for r < rows ([rows, dim] bf16 into [*, dim]); the other rows of out are left alone. */
  scatterRows(out: DevicePtr, src: DevicePtr, index: DevicePtr, rows: number, dim: number): void {
    this.k.scatter_rows.launch([blocksFor(rows * dim)], [THREADS], 0, out, src, index, rows, dim);
  }

  /** Fills [n] bf16 with uniform values in [-scale, scale) from a hash of (seed, index): random weights for benchmarks. */
  fillRandomBf16(out: DevicePtr, n: number, scale: number, seed: number): void {
    this.k.fill_random_bf16.launch([blocksFor(n)], [THREADS], 0, out, n, scale, seed >>> 0);
  }

  /** Fills [n] bytes from a hash of (seed, index). */
  fillRandomBytes(out: DevicePtr, n: number, seed: number): void {
    this.k.fill_random_u8.launch([blocksFor(n)], [THREADS], 0, out, n, seed >>> 0);
  }

  /**
   * *out = Σx² of x: [n] fp32, the same bits on every run (a sum a block, then one block over
   * those; no atomics). scratch: [SUM_SQUARES_BLOCKS] fp32. Two launches however large n is.
   */
  sumSquares(out: DevicePtr, scratch: DevicePtr, x: DevicePtr, n: number): void {
    const blocks = Math.max(1, Math.min(blocksFor(n), SUM_SQUARES_BLOCKS));
    this.k.sum_squares_partial.launch([blocks], [THREADS], 0, x, n, scratch);
    this.k.sum_partials.launch([1], [THREADS], 0, scratch, blocks, out);
  }

  /** One AdamW step on fp32 p, g, m, v: [n]; `step` counts from 1. */
  adamw(p: DevicePtr, g: DevicePtr, m: DevicePtr, v: DevicePtr, n: number, o: AdamwStep): void {
    this.k.adamw_step.launch([blocksFor(n)], [THREADS], 0, p, g, m, v, n, ...adamwScalars(o));
  }

  /**
   * The AdamW step of `adamw` on fp32 p, g, m, v: [n], and in the same pass shadow: [n] bf16 =
   * bf16(new p) and g = 0 — one launch for all the LoRA matrices of a LoraArena.
   */
  adamwWithShadow(p: DevicePtr, g: DevicePtr, m: DevicePtr, v: DevicePtr, shadow: DevicePtr, n: number, o: AdamwStep): void {
    this.k.adamw_shadow_step.launch([Math.min(blocksFor(n), STRIDE_BLOCKS)], [THREADS], 0, p, g, m, v, shadow, n, ...adamwScalars(o));
  }
}
