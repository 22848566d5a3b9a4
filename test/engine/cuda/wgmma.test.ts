// The first warpgroup MMAs (wgmma, sm_90a) against the host: one 64 × 64 tile over K = 64 and 256,
// with the shared tiles K-major (no swizzle, and the 128-byte swizzle) and with B N-major (the
// layout the input gradient through an [out, in] weight reads), as
// test/engine/cuda/kernels/wgmma_probe.cu stages them. A wrong descriptor or fragment order
// moves values to other places, which the element-wise comparison names.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { encodeBf16 } from "../../../src/engine/cuda/bf16-host.js";
import type { Kernel } from "../../../src/engine/cuda/device.js";
import { openGpuOrSkip } from "./gpu.js";

const gpu = openGpuOrSkip();
after(() => gpu.device?.dispose());

const read = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8");
const source = () => `${read("../../../src/engine/cuda/kernels/common.cuh")}\n#line 1 "wgmma_probe.cu"\n${read("./kernels/wgmma_probe.cu")}`;

/** bf16 values of a deterministic pattern in about [−1, 1], and their exact values. */
function bf16Matrix(rows: number, cols: number, seed: number): { bits: Uint16Array; values: Float64Array } {
  const bits = encodeBf16(Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(seed * 1.7 + i * 0.37) * Math.cos(i * 0.011 + seed)));
  const values = Float64Array.from(bits, (b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0] as number);
  return { bits, values };
}

/** The worst relative error of a [64, 64] result against want(i, j), and where it is. */
function worstError(got: Float32Array, want: (i: number, j: number) => number): { worst: number; where: string } {
  let worst = 0;
  let where = "";
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 64; j++) {
      const w = want(i, j);
      const err = Math.abs((got[i * 64 + j] as number) - w) / (1 + Math.abs(w));
      if (err > worst) [worst, where] = [err, `c[${i}][${j}] = ${got[i * 64 + j]}, want ${w}`];
    }
  }
  return { worst, where };
}

const notHopper = gpu.device !== undefined && gpu.device.info.computeCapability[0] !== 9 ? "needs an sm_90 GPU" : false;

describe("wgmma on the GPU (sm_90a)", { skip: gpu.skip || notHopper }, () => {
  const kernels = () =>
    gpu.device!.compile(
      source(),
      "wgmma_probe.cu",
      { wgmma_probe_gemm: ["ptr", "ptr", "ptr", "i32"], wgmma_probe_gemm_swizzled: ["ptr", "ptr", "ptr", "i32"], wgmma_probe_gemm_mn: ["ptr", "ptr", "ptr", "i32", "u32", "u32"] },
      [],
      `${gpu.device!.arch}a`,
    );

  /** Runs one probe on a: [64, K] and b (as the kernel reads it) and downloads c: [64, 64]. */
  const run = (kernel: Kernel, a: Uint16Array, b: Uint16Array, K: number, ...extra: number[]): Float32Array => {
    const device = gpu.device!;
    const [pa, pb, pc] = [device.alloc(a.byteLength), device.alloc(b.byteLength), device.alloc(64 * 64 * 4)];
    try {
      device.upload(pa.ptr, a);
      device.upload(pb.ptr, b);
      kernel.launch([1], [128], 0, pc.ptr, pa.ptr, pb.ptr, K, ...extra);
      const got = new Float32Array(64 * 64);
      device.download(got, pc.ptr);
      return got;
    } finally {
      for (const p of [pa, pb, pc]) p.free();
    }
  };

  test("K-major tiles, unswizzled and with the 128-byte swizzle: c = a·bᵀ, every element in its place", () => {
    const k = kernels();
    for (const K of [64, 256]) {
      const a = bf16Matrix(64, K, 1);
      const b = bf16Matrix(64, K, 2);
      const want = (i: number, j: number) => {
        let s = 0;
        for (let t = 0; t < K; t++) s += (a.values[i * K + t] as number) * (b.values[j * K + t] as number);
        return s;
      };
      for (const [name, kernel] of [["no swizzle", k.wgmma_probe_gemm], ["128-byte swizzle", k.wgmma_probe_gemm_swizzled]] as const) {
        const { worst, where } = worstError(run(kernel, a.bits, b.bits, K), want);
        // fp32 accumulation of bf16 products: a few ulps of the sum
        assert.ok(worst < 1e-5, `${name}, K ${K}: worst error ${worst.toExponential(2)} at ${where}`);
      }
    }
  });

  test("B N-major (transposed): c = a·w with w: [K, 64], the input gradient's layout", () => {
    const k = kernels();
    const K = 128;
    const a = bf16Matrix(64, K, 3);
    const w = bf16Matrix(K, 64, 4);
    const want = (i: number, j: number) => {
      let s = 0;
      for (let t = 0; t < K; t++) s += (a.values[i * K + t] as number) * (w.values[t * 64 + j] as number);
      return s;
    };
    const { worst, where } = worstError(run(k.wgmma_probe_gemm_mn, a.bits, w.bits, K, 1024, 128), want);
    if (worst >= 1e-5) {
      // say whether the leading and stride offsets the other way round would have been right
      const swapped = worstError(run(k.wgmma_probe_gemm_mn, a.bits, w.bits, K, 128, 1024), want);
      assert.fail(`N-major B: worst error ${worst.toExponential(2)} at ${where}; with the offsets swapped ${swapped.worst.toExponential(2)}`);
    }
  });
});
