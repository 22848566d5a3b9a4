import { Scratch, type Sgemm, scaleC } from "./gemm-types.js";

const packA = new Scratch();
const packB = new Scratch();

/**
 * Plain TypeScript sgemm: op(A) and op(B) are packed contiguous ([m, k] and [k, n]), then four
 * rows of C are updated per pass over a row of B (i-k-j order, so the inner loop is unit-stride
 * and each loaded B value feeds four multiply-adds). The pure fallback of `matmul`.
 */
export const sgemmJs: Sgemm = (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
  scaleC(m, n, beta, c, ldc);
  if (m === 0 || n === 0 || k === 0 || alpha === 0) return;
  // A: [m, k] = alpha·op(A)
  const A = packA.get(m * k);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) A[i * k + p] = alpha * (transA ? a[p * lda + i] : a[i * lda + p]);
  // B: [k, n] = op(B)
  const B = packB.get(k * n);
  for (let p = 0; p < k; p++)
    for (let j = 0; j < n; j++) B[p * n + j] = transB ? b[j * ldb + p] : b[p * ldb + j];
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const c0 = i * ldc;
    const c1 = c0 + ldc;
    const c2 = c1 + ldc;
    const c3 = c2 + ldc;
    for (let p = 0; p < k; p++) {
      const a0 = A[i * k + p];
      const a1 = A[(i + 1) * k + p];
      const a2 = A[(i + 2) * k + p];
      const a3 = A[(i + 3) * k + p];
      const bRow = p * n;
      for (let j = 0; j < n; j++) {
        const bv = B[bRow + j];
        c[c0 + j] += a0 * bv;
        c[c1 + j] += a1 * bv;
        c[c2 + j] += a2 * bv;
        c[c3 + j] += a3 * bv;
      }
    }
  }
  for (; i < m; i++) {
    const c0 = i * ldc;
    for (let p = 0; p < k; p++) {
      const a0 = A[i * k + p];
      const bRow = p * n;
      for (let j = 0; j < n; j++) c[c0 + j] += a0 * B[bRow + j];
    }
  }
};
