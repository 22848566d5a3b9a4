import { matmul } from "./matmul.js";

/** x: [rows, inF], w: [outF, inF], bias: [outF] | null → y: [rows, outF] = x·Wᵀ + b. */
export function linearForward(y: Float32Array, x: Float32Array, w: Float32Array, bias: Float32Array | null, rows: number, inF: number, outF: number): void {
  matmul(false, true, rows, outF, inF, 1, x, inF, w, inF, 0, y, outF);
  if (bias) for (let r = 0; r < rows; r++) for (let j = 0; j < outF; j++) y[r * outF + j] += bias[j];
}

/**
 * dy: [rows, outF] → dx: [rows, inF] = dy·W (overwritten), dw: [outF, inF] += dyᵀ·x, db: [outF] += Σ_rows dy.
 * Any of the three may be null (frozen weights, or the first layer's input).
 */
export function linearBackward(
  dx: Float32Array | null,
  dw: Float32Array | null,
  db: Float32Array | null,
  dy: Float32Array,
  x: Float32Array,
  w: Float32Array,
  rows: number,
  inF: number,
  outF: number,
): void {
  if (dx) matmul(false, false, rows, inF, outF, 1, dy, outF, w, inF, 0, dx, inF);
  if (dw) matmul(true, false, outF, inF, rows, 1, dy, outF, x, inF, 1, dw, inF);
  if (db) for (let r = 0; r < rows; r++) for (let j = 0; j < outF; j++) db[j] += dy[r * outF + j];
}
