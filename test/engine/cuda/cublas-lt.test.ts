import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { InvalidInputError } from "../../../src/errors.js";
import { decodeBf16, encodeBf16 } from "../../../src/engine/cuda/bf16-host.js";
import { type GemmArgs, gemmRouteFromEnv } from "../../../src/engine/cuda/cublas.js";
import { CublasLt } from "../../../src/engine/cuda/cublas-lt.js";
import { offsetPtr } from "../../../src/engine/cuda/ffi.js";
import { openGpuOrSkip } from "./gpu.js";
import { randomMatrix, referenceGemm, relativeError, TRANSPOSE_PAIRS } from "./reference-gemm.js";

test("AGENTTUNE_GEMM picks the product library: gemmex unless lt is asked for, an error naming the variable otherwise", () => {
  assert.equal(gemmRouteFromEnv({}), "gemmex");
  assert.equal(gemmRouteFromEnv({ AGENTTUNE_GEMM: "lt" }), "lt");
  assert.throws(() => gemmRouteFromEnv({ AGENTTUNE_GEMM: "cutlass" }), (e: unknown) => e instanceof InvalidInputError && /AGENTTUNE_GEMM/.test(e.message));
});

const gpu = openGpuOrSkip();
after(() => gpu.device?.dispose());

describe("cuBLASLt with tuned algorithms on a real GPU", { skip: gpu.skip }, () => {
  const device = gpu.device!;
  const workspace = device.alloc(32 << 20);
  const lt = new CublasLt(device.stream, { ptr: workspace.ptr, bytes: 32 << 20 }, (w) => device.time(w), (b) => device.alloc(b), (a) => device.cublas.gemmEx(a));
  // every product through Cublas.gemm with cuBLASLt set, as AGENTTUNE_GEMM=lt runs them: the tuned
  // choice, or cublasGemmEx where that timed fastest
  const before = device.cublas.lt; // the device's own under AGENTTUNE_GEMM=lt
  device.cublas.lt = lt;
  const gemm = (args: GemmArgs) => device.cublas.gemm(args);
  after(() => {
    device.cublas.lt = before;
    lt.dispose();
    workspace.free();
  });

  /** bf16-exact random matrix (values the device holds exactly) and its device copy. */
  function upload(n: number, seed: number) {
    const host = decodeBf16(encodeBf16(randomMatrix(n, seed)));
    const buf = device.alloc(n * 2);
    device.upload(buf.ptr, encodeBf16(host));
    return { host, buf };
  }

  for (const [transA, transB] of TRANSPOSE_PAIRS) {
    test(`row-major bf16 product with transA=${transA} transB=${transB} matches a float64 reference, every call after tuning too`, () => {
      const m = 77;
      const n = 130;
      const k = 96;
      const a = upload(m * k, 21);
      const b = upload(k * n, 22);
      const c = device.alloc(m * n * 4);
      const want = referenceGemm(a.host, b.host, m, n, k, transA, transB);
      for (let call = 0; call < 2; call++) {
        device.fill(c.ptr, 0xff, m * n * 4); // NaN everywhere: every element must be written
        gemm({ transA, transB, m, n, k, a: a.buf.ptr, b: b.buf.ptr, c: c.ptr, dtype: "bf16", cType: "f32" });
        const got = new Float32Array(m * n);
        device.download(got, c.ptr);
        assert.ok(relativeError(got, want) < 1e-5, `call ${call}`);
      }
      for (const x of [a.buf, b.buf, c]) x.free();
    });
  }

  test("C += A·B adds the product once, though tuning ran the shape's candidates (into a scratch output)", () => {
    const m = 64;
    const n = 48;
    const k = 32;
    const a = upload(m * k, 31);
    const b = upload(n * k, 32);
    const c0 = randomMatrix(m * n, 33);
    const c = device.alloc(m * n * 4);
    device.upload(c.ptr, c0);
    gemm({ transA: false, transB: true, m, n, k, a: a.buf.ptr, b: b.buf.ptr, c: c.ptr, dtype: "bf16", cType: "f32", beta: 1 });
    const got = new Float32Array(m * n);
    device.download(got, c.ptr);
    const ab = referenceGemm(a.host, b.host, m, n, k, false, true);
    assert.ok(relativeError(got, ab.map((v, i) => v + c0[i])) < 1e-5);
    const tuning = lt.tunings().find((t) => t.key.includes(`${m}×${n}×${k}`) && t.key.includes("beta 1"));
    // a cuBLASLt candidate or cublasGemmEx (index `candidates`), each timed
    assert.ok(tuning && tuning.chosen >= 0 && tuning.chosen <= tuning.candidates && tuning.times.length === tuning.candidates + 1, JSON.stringify(tuning));
    for (const x of [a.buf, b.buf, c]) x.free();
  });

  test("column slices of wider matrices (lda, ldc beyond the row length) read and write only their columns", () => {
    // xa is columns [16, 32) of an [m, 48] buffer, as a LoRA group's member reads it; C is the middle 40 columns of [m, 64]
    const m = 50;
    const r = 16;
    const n = 40;
    const xa = upload(m * 48, 41);
    const bMat = upload(n * r, 42);
    const c = device.alloc(m * 64 * 2);
    device.fill(c.ptr, 0, m * 64 * 2);
    const a = offsetPtr(xa.buf.ptr, r * 2);
    const cSlice = offsetPtr(c.ptr, 8 * 2);
    gemm({ transA: false, transB: true, m, n, k: r, a, b: bMat.buf.ptr, c: cSlice, dtype: "bf16", lda: 48, ldc: 64 });
    const out = new Uint16Array(m * 64);
    device.download(out, c.ptr);
    const got = decodeBf16(out);
    const aHost = new Float32Array(m * r);
    for (let i = 0; i < m; i++) for (let j = 0; j < r; j++) aHost[i * r + j] = xa.host[i * 48 + r + j];
    const want = referenceGemm(aHost, bMat.host, m, n, r, false, true);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < 64; j++) {
        const v = got[i * 64 + j];
        if (j < 8 || j >= 8 + n) assert.equal(v, 0, `row ${i} column ${j} lies outside C and must stay 0`);
        else assert.ok(Math.abs(v - want[i * n + j - 8]) <= 1e-2 * Math.max(1, Math.abs(want[i * n + j - 8])), `row ${i} column ${j}`);
      }
    }
    for (const x of [xa.buf, bMat.buf, c]) x.free();
  });
});
