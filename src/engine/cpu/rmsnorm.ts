/**
 * RMSNorm. x: [rows, dim], weight: [dim] → out: [rows, dim], rstd: [rows] (saved for the backward).
 * out = x · rstd · w, rstd = 1/√(mean(x²) + eps); with unitOffset (Gemma) the gain is (1 + w).
 * The sum of squares is taken in float64.
 */
export function rmsnormForward(out: Float32Array, rstd: Float32Array, x: Float32Array, weight: Float32Array, rows: number, dim: number, eps: number, unitOffset: boolean): void {
  const off = unitOffset ? 1 : 0;
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let ss = 0;
    for (let j = 0; j < dim; j++) ss += x[o + j] * x[o + j];
    const s = Math.fround(1 / Math.sqrt(ss / dim + eps));
    rstd[r] = s;
    for (let j = 0; j < dim; j++) out[o + j] = x[o + j] * s * (weight[j] + off);
  }
}

/**
 * dout: [rows, dim] → dx: [rows, dim] (overwritten); dweight: [dim] += Σ_rows dout · x · rstd when given.
 * dx = rstd · (g − x̂ · mean(g · x̂)), g = dout · gain, x̂ = x · rstd.
 */
export function rmsnormBackward(
  dx: Float32Array,
  dweight: Float32Array | null,
  dout: Float32Array,
  x: Float32Array,
  weight: Float32Array,
  rstd: Float32Array,
  rows: number,
  dim: number,
  unitOffset: boolean,
): void {
  const off = unitOffset ? 1 : 0;
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const s = rstd[r];
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += dout[o + j] * (weight[j] + off) * x[o + j] * s;
    const mean = dot / dim;
    for (let j = 0; j < dim; j++) {
      const xhat = x[o + j] * s;
      const g = dout[o + j] * (weight[j] + off);
      if (dweight) dweight[j] += dout[o + j] * xhat;
      dx[o + j] = s * (g - xhat * mean);
    }
  }
}
