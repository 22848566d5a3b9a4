/**
 * One single-precision GEMM call with BLAS sgemm semantics on row-major storage:
 * C = alpha·op(A)·op(B) + beta·C, op(A): [m, k], op(B): [k, n], C: [m, n].
 * A is stored [m, lda] (or [k, lda] when transA), B [k, ldb] (or [n, ldb] when transB), C [m, ldc].
 * With beta = 0, C is only written (NaN in C does not leak), as in BLAS.
 */
export type Sgemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number,
) => void;

/** C[m, n] (leading dimension ldc) = beta·C, writing zeros when beta = 0. */
export function scaleC(m: number, n: number, beta: number, c: Float32Array, ldc: number): void {
  if (beta === 1) return;
  for (let i = 0; i < m; i++) {
    const row = i * ldc;
    if (beta === 0) c.fill(0, row, row + n);
    else for (let j = row; j < row + n; j++) c[j] *= beta;
  }
}

/** Grow-only scratch buffer, so hot loops do not allocate. */
export class Scratch {
  private buf = new Float32Array(0);
  /** A view of at least `n` floats (contents undefined). */
  get(n: number): Float32Array {
    if (this.buf.length < n) this.buf = new Float32Array(Math.max(n, Math.ceil(this.buf.length * 1.5)));
    return this.buf;
  }
}
