import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { blasCandidates } from "../../src/engine/cpu/gemm-blas.js";
import { setWasmGemmLimit, startWasmThreads, wasmGemmAvailable } from "../../src/engine/cpu/gemm-wasm.js";
import { type MatmulRoute, matmul, matmulRoute, sgemmFor } from "../../src/engine/cpu/matmul.js";
import { assertClose, randomF32, rng } from "./helpers.js";

/** C = alpha·op(A)·op(B) + beta·C in float64, with leading dimensions. */
function reference(tA: boolean, tB: boolean, m: number, n: number, k: number, alpha: number, a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number): Float64Array {
  const out = Float64Array.from(c);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (tA ? a[p * lda + i] : a[i * lda + p]) * (tB ? b[j * ldb + p] : b[p * ldb + j]);
      out[i * ldc + j] = alpha * s + (beta === 0 ? 0 : beta * c[i * ldc + j]);
    }
  return out;
}

const ROUTES: MatmulRoute[] = ["blas", "wasm", "js"];

describe("matrix products", () => {
  for (const route of ROUTES) {
    const f = sgemmFor(route);
    it(`the ${route} route matches a float64 product on random odd shapes, transposes and strides`, { skip: f ? false : `${route} route unavailable here (no OpenBLAS library found: install libopenblas0-pthread or set AGENTTUNE_BLAS)` }, () => {
      const rand = rng(route.length * 31);
      const sizes = [1, 3, 4, 5, 7, 8, 9, 17, 33, 70];
      for (let trial = 0; trial < 40; trial++) {
        const pick = () => sizes[Math.floor(rand() * sizes.length)];
        const [m, n, k] = [pick(), pick(), pick()];
        const tA = rand() < 0.5;
        const tB = rand() < 0.5;
        const pad = Math.floor(rand() * 3);
        const lda = (tA ? m : k) + pad;
        const ldb = (tB ? k : n) + pad;
        const ldc = n + pad;
        const a = randomF32(rand, (tA ? k : m) * lda);
        const b = randomF32(rand, (tB ? n : k) * ldb);
        const c = randomF32(rand, m * ldc);
        const alpha = trial % 3 === 0 ? 1 : rand() * 2 - 1;
        const beta = [0, 1, -0.5][trial % 3];
        if (beta === 0) c.fill(Number.NaN); // beta = 0 must not read C
        const want = reference(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        f!(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        // compare the written [m, n] block; the padding columns must be untouched
        const got: number[] = [];
        const exp: number[] = [];
        for (let i = 0; i < m; i++)
          for (let j = 0; j < ldc; j++) {
            if (j < n) {
              got.push(c[i * ldc + j]);
              exp.push(want[i * ldc + j]);
            } else if (beta !== 0) assert.equal(c[i * ldc + j], Math.fround(want[i * ldc + j]), "padding column changed");
          }
        assertClose(got, exp, 1e-5, 1e-5 * Math.sqrt(k), `${route} ${m}x${n}x${k} tA=${tA} tB=${tB} lda=${lda}`);
      }
    });
  }

  it("the wasm route split across worker threads matches a float64 product", { skip: wasmGemmAvailable() ? false : "no WASM SIMD here" }, async () => {
    const threads = await startWasmThreads(2);
    assert.equal(threads, 2);
    const rand = rng(3);
    for (const [tA, tB] of [[false, true], [true, false]]) {
      const [m, n, k] = [131, 150, 91]; // above the threading threshold, odd sizes
      const a = randomF32(rand, m * k);
      const b = randomF32(rand, k * n);
      const c = randomF32(rand, m * n);
      const want = reference(tA, tB, m, n, k, 1.5, a, tA ? m : k, b, tB ? k : n, 0.5, c, n);
      sgemmFor("wasm")!(tA, tB, m, n, k, 1.5, a, tA ? m : k, b, tB ? k : n, 0.5, c, n);
      assertClose(c, Array.from(want), 1e-5, 1e-4, `threaded wasm tA=${tA} tB=${tB}`);
    }
  });

  it("the wasm route splits a product too large for its memory by rows", { skip: wasmGemmAvailable() ? false : "no WASM SIMD here" }, () => {
    const old = setWasmGemmLimit(16 * 1024);
    try {
      const rand = rng(8);
      for (const tA of [false, true]) {
        const [m, n, k] = [61, 37, 23];
        const a = randomF32(rand, m * k);
        const b = randomF32(rand, k * n);
        const c = randomF32(rand, m * n);
        const want = reference(tA, false, m, n, k, 1, a, tA ? m : k, b, n, 2, c, n);
        sgemmFor("wasm")!(tA, false, m, n, k, 1, a, tA ? m : k, b, n, 2, c, n);
        assertClose(c, Array.from(want), 1e-5, 1e-5, `split wasm tA=${tA}`);
      }
    } finally {
      setWasmGemmLimit(old);
    }
  });

  it("a product with k = 0 scales C by beta", () => {
    const c = Float32Array.of(1, 2, 3, 4);
    matmul(false, false, 2, 2, 0, 1, new Float32Array(0), 1, new Float32Array(0), 2, 0.5, c, 2);
    assert.deepEqual(Array.from(c), [0.5, 1, 1.5, 2]);
  });

  it("matmul uses the fastest available route, or the one AGENTTUNE_MATMUL names", () => {
    const route = matmulRoute();
    const wanted = process.env.AGENTTUNE_MATMUL;
    const expected = wanted && sgemmFor(wanted as MatmulRoute) ? wanted : ROUTES.find((r) => sgemmFor(r));
    assert.equal(route, expected);
  });

  it("an OpenBLAS path in AGENTTUNE_BLAS is tried first", () => {
    assert.equal(blasCandidates({ AGENTTUNE_BLAS: "/opt/x/libopenblas.so" })[0], "/opt/x/libopenblas.so");
    assert.ok(blasCandidates({}).includes("libopenblas.so.0"));
  });
});
