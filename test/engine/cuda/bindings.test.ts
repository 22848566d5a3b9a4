import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { decodeBf16, encodeBf16, fromBf16Bits, toBf16Bits } from "../../../src/engine/cuda/bf16-host.js";
import { CudaOutOfMemoryError, KernelCompileError } from "../../../src/engine/cuda/errors.js";
import { openGpuOrSkip } from "./gpu.js";
import { randomMatrix, referenceGemm, relativeError, TRANSPOSE_PAIRS } from "./reference-gemm.js";


test("bf16 host conversion rounds to nearest even and round-trips exactly", () => {
  assert.equal(toBf16Bits(1), 0x3f80);
  assert.equal(fromBf16Bits(0x3f80), 1);
  // 1 + 2^-8 is halfway between two bf16 values: ties to the even one (1.0)
  assert.equal(fromBf16Bits(toBf16Bits(1 + 2 ** -8)), 1);
  assert.equal(fromBf16Bits(toBf16Bits(1 + 3 * 2 ** -8)), 1 + 2 ** -6);
  assert.ok(Number.isNaN(fromBf16Bits(toBf16Bits(Number.NaN))));
  const bits = encodeBf16(new Float32Array([0.5, -2, 3.140625]));
  assert.deepEqual([...decodeBf16(bits)], [0.5, -2, 3.140625]);
});

const gpu = openGpuOrSkip();
after(() => gpu.device?.dispose());

describe("CUDA bindings on a real GPU", { skip: gpu.skip }, () => {
  const device = gpu.device!;

  test("the device reports a name, an architecture and memory", () => {
    assert.ok(device.info.name.length > 0);
    assert.match(device.arch, /^sm_\d+$/);
    assert.ok(device.info.totalMemory > 2 ** 30);
  });

  test("an NVRTC-compiled kernel computes y = a·x + y on every element", () => {
    const { axpy } = device.compile(
      `extern "C" __global__ void axpy(float a, const float* x, float* y, int n) {
         int i = blockIdx.x * blockDim.x + threadIdx.x;
         if (i < n) y[i] = a * x[i] + y[i];
       }`,
      "axpy.cu",
      { axpy: ["f32", "ptr", "ptr", "i32"] },
    );
    const n = 100_003; // not a multiple of the block size
    const x = randomMatrix(n, 1);
    const y = randomMatrix(n, 2);
    const dx = device.alloc(n * 4);
    const dy = device.alloc(n * 4);
    device.upload(dx.ptr, x);
    device.upload(dy.ptr, y);
    axpy.launch([Math.ceil(n / 256)], [256], 0, 2.5, dx.ptr, dy.ptr, n);
    const out = new Float32Array(n);
    device.download(out, dy.ptr);
    // the GPU fuses a·x + y into one FMA (one rounding), so compare with the exactly rounded value
    for (let i = 0; i < n; i++) assert.equal(out[i], Math.fround(2.5 * x[i] + y[i]));
    dx.free();
    dy.free();
  });

  test("the device's bf16 conversion (cvt.rn.bf16.f32, no toolkit headers) rounds like the host", () => {
    const { roundtrip } = device.compile(
      `extern "C" __global__ void roundtrip(const float* x, unsigned short* y, int n) {
         int i = blockIdx.x * blockDim.x + threadIdx.x;
         if (i < n) { unsigned short r; asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(x[i])); y[i] = r; }
       }`,
      "bf16.cu",
      { roundtrip: ["ptr", "ptr", "i32"] },
    );
    const n = 4096;
    const x = randomMatrix(n, 3).map((v) => v * 1000);
    const dx = device.alloc(n * 4);
    const dy = device.alloc(n * 2);
    device.upload(dx.ptr, x);
    roundtrip.launch([n / 256], [256], 0, dx.ptr, dy.ptr, n);
    const bits = new Uint16Array(n);
    device.download(bits, dy.ptr);
    assert.deepEqual([...bits], [...encodeBf16(x)]);
    dx.free();
    dy.free();
  });

  test("profiling times every kernel launch and GEMM by name, and stops when asked", () => {
    const { scale } = device.compile(
      `extern "C" __global__ void scale(float* y, int n) {
         int i = blockIdx.x * blockDim.x + threadIdx.x;
         if (i < n) y[i] *= 2.0f;
       }`,
      "scale.cu",
      { scale: ["ptr", "i32"] },
    );
    const n = 1 << 20;
    const y = device.alloc(n * 4);
    const a = device.alloc(256 * 256 * 2);
    device.fill(y.ptr, 0, n * 4);
    device.fill(a.ptr, 0, 256 * 256 * 2);
    device.startProfiling();
    for (let i = 0; i < 3; i++) scale.launch([n / 256], [256], 0, y.ptr, n);
    device.cublas.gemm({ transA: false, transB: true, m: 256, n: 256, k: 256, a: a.ptr, b: a.ptr, c: a.ptr, dtype: "bf16" });
    const times = device.stopProfiling();
    const byName = new Map(times.map((t) => [t.name, t]));
    assert.equal(byName.get("scale")?.calls, 3);
    assert.equal(byName.get("gemm NT 256×256×256")?.calls, 1);
    for (const t of times) assert.ok(t.ms > 0 && t.ms < 1000, `${t.name}: ${t.ms} ms`);
    scale.launch([n / 256], [256], 0, y.ptr, n);
    assert.deepEqual(device.stopProfiling(), [], "nothing is timed after stopProfiling");
    y.free();
    a.free();
  });

  test("a kernel that does not compile reports NVRTC's log", () => {
    assert.throws(
      () => device.compile(`extern "C" __global__ void broken() { undefined_name = 1; }`, "broken.cu", { broken: [] }),
      (error: unknown) => error instanceof KernelCompileError && /undefined_name/.test(error.log),
    );
  });

  for (const [transA, transB] of TRANSPOSE_PAIRS) {
    test(`cuBLAS row-major bf16 GEMM with transA=${transA} transB=${transB} matches a float64 reference`, () => {
      const m = 77;
      const n = 130;
      const k = 96;
      const a = decodeBf16(encodeBf16(randomMatrix(m * k, 11)));
      const b = decodeBf16(encodeBf16(randomMatrix(k * n, 12)));
      const da = device.alloc(m * k * 2);
      const db = device.alloc(k * n * 2);
      const dc = device.alloc(m * n * 4);
      device.upload(da.ptr, encodeBf16(a));
      device.upload(db.ptr, encodeBf16(b));
      device.cublas.gemm({ transA, transB, m, n, k, a: da.ptr, b: db.ptr, c: dc.ptr, dtype: "bf16", cType: "f32" });
      const c = new Float32Array(m * n);
      device.download(c, dc.ptr);
      // bf16-exact inputs, fp32 accumulation: only summation order differs from float64
      assert.ok(relativeError(c, referenceGemm(a, b, m, n, k, transA, transB)) < 1e-5);
      da.free();
      db.free();
      dc.free();
    });
  }

  test("freed blocks are reused and the peak is reported", () => {
    device.memory.resetPeak();
    const before = device.memory.memoryStats().driverAllocations;
    const a = device.alloc(3 << 20);
    a.free();
    const b = device.alloc(3 << 20);
    b.free();
    const stats = device.memory.memoryStats();
    assert.equal(stats.driverAllocations - before <= 1, true);
    assert.ok(stats.peakInUse >= 3 << 20);
  });

  test("asking for more memory than the GPU has says what was asked and what is free", () => {
    assert.throws(
      () => device.alloc(device.info.totalMemory * 2),
      (error: unknown) => error instanceof CudaOutOfMemoryError && /asked for .* GiB free/.test(error.message),
    );
  });
});
