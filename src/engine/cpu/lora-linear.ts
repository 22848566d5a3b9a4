import { Scratch } from "./gemm-types.js";
import { linearForward } from "./linear.js";
import { matmul } from "./matmul.js";
import { SimdScratch } from "./simd-exp.js";

export { dropoutMultiplier } from "./dropout.js";

/** Sizes and settings of one LoRA linear call (PEFT's formula). */
export interface LoraShape {
  rows: number;
  inF: number;
  outF: number;
  rank: number;
  /** α / r. */
  scaling: number;
  /** Dropout probability on the adapter's input (0 = none, as at evaluation). */
  dropout: number;
  /** Seed of the dropout mask (one per module and step); the backward pass regenerates the same mask from it. */
  seed: number;
}

const scratch = new SimdScratch();
const dhBuf = new Scratch();

/** dropout(x): [rows, inF] in the scratch memory, or x itself when p = 0. */
function dropped(x: Float32Array, s: LoraShape): Float32Array {
  if (s.dropout <= 0) return x;
  const n = s.rows * s.inF;
  const xd = scratch.reserve(n);
  xd.set(x.subarray(0, n));
  scratch.dropout(0, n, s.seed, s.dropout, 0);
  return xd;
}

/**
 * LoRA linear: y = x·Wᵀ + b + scaling·(dropout(x)·Aᵀ)·Bᵀ.
 * x: [rows, inF], w: [outF, inF] (frozen, dequantised), bias: [outF] | null, a: [rank, inF],
 * b: [outF, rank] → y: [rows, outF], h: [rows, rank] = dropout(x)·Aᵀ (saved for the backward).
 */
export function loraForward(y: Float32Array, h: Float32Array, x: Float32Array, w: Float32Array, bias: Float32Array | null, a: Float32Array, b: Float32Array, s: LoraShape): void {
  linearForward(y, x, w, bias, s.rows, s.inF, s.outF);
  const xd = dropped(x, s);
  matmul(false, true, s.rows, s.rank, s.inF, 1, xd, s.inF, a, s.inF, 0, h, s.rank);
  matmul(false, true, s.rows, s.outF, s.rank, s.scaling, h, s.rank, b, s.rank, 1, y, s.outF);
}

/**
 * The backward pass of `loraForward` for x, A and B only (W and the bias are frozen).
 * dy: [rows, outF] → dx: [rows, inF] (overwritten, null to skip), dA: [rank, inF] +=, dB: [outF, rank] +=.
 * dB = scaling·dyᵀ·h, dh = scaling·dy·B, dA = dhᵀ·dropout(x), dx = dy·W + dropout'(dh·A).
 */
export function loraBackward(
  dx: Float32Array | null,
  dA: Float32Array,
  dB: Float32Array,
  dy: Float32Array,
  x: Float32Array,
  w: Float32Array,
  a: Float32Array,
  b: Float32Array,
  h: Float32Array,
  s: LoraShape,
): void {
  const { rows, inF, outF, rank } = s;
  matmul(true, false, outF, rank, rows, s.scaling, dy, outF, h, rank, 1, dB, rank);
  const dh = dhBuf.get(rows * rank);
  matmul(false, false, rows, rank, outF, s.scaling, dy, outF, b, rank, 0, dh, rank);
  matmul(true, false, rank, inF, rows, 1, dh, rank, dropped(x, s), inF, 1, dA, inF);
  if (!dx) return;
  if (s.dropout <= 0) {
    matmul(false, false, rows, inF, outF, 1, dy, outF, w, inF, 0, dx, inF);
    matmul(false, false, rows, inF, rank, 1, dh, rank, a, inF, 1, dx, inF);
    return;
  }
  // the adapter's share of dx goes through the dropout mask: dx = dy·W + mask ⊙ (dh·A)
  const tmp = scratch.reserve(rows * inF);
  matmul(false, false, rows, inF, rank, 1, dh, rank, a, inF, 0, tmp, inF);
  scratch.dropout(0, rows * inF, s.seed, s.dropout, 0);
  matmul(false, false, rows, inF, outF, 1, dy, outF, w, inF, 0, dx, inF);
  for (let i = 0; i < rows * inF; i++) dx[i] += tmp[i];
}
