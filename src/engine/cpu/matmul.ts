import { loadNativeBlas } from "./gemm-blas.js";
import { sgemmJs } from "./gemm-js.js";
import type { Sgemm } from "./gemm-types.js";
import { sgemmWasm, wasmGemmAvailable } from "./gemm-wasm.js";

/** The matrix-product routes of the CPU backend, fastest first (bench/README.md has the figures). */
export type MatmulRoute = "blas" | "wasm" | "js";

/** The sgemm of one route, or null where that route is unavailable here. */
export function sgemmFor(route: MatmulRoute): Sgemm | null {
  if (route === "blas") return loadNativeBlas()?.sgemm ?? null;
  if (route === "wasm") return wasmGemmAvailable() ? sgemmWasm : null;
  return sgemmJs;
}

let chosen: { route: MatmulRoute; sgemm: Sgemm } | undefined;

/**
 * The route `matmul` uses: $AGENTTUNE_MATMUL (blas | wasm | js) when set and available, else
 * OpenBLAS through koffi when a library loads, else WASM SIMD, else plain TypeScript.
 */
export function matmulRoute(): MatmulRoute {
  if (!chosen) {
    const wanted = process.env.AGENTTUNE_MATMUL as MatmulRoute | undefined;
    const order: MatmulRoute[] = wanted && ["blas", "wasm", "js"].includes(wanted) ? [wanted, "blas", "wasm", "js"] : ["blas", "wasm", "js"];
    for (const route of order) {
      const f = sgemmFor(route);
      if (f) {
        chosen = { route, sgemm: f };
        break;
      }
    }
  }
  return chosen!.route;
}

/**
 * C = alpha·op(A)·op(B) + beta·C on row-major Float32Arrays (BLAS sgemm semantics; see `Sgemm`),
 * through the fastest route available (`matmulRoute()`).
 */
export const matmul: Sgemm = (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
  if (!chosen) matmulRoute();
  chosen!.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
};
