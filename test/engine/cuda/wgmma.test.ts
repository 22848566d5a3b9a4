// The first warpgroup MMAs (wgmma, sm_90a) against the host: one 64 × 64 tile over K = 64 and 256,
// with the shared tiles K-major (no swizzle, and the 128-byte swizzle) and with B N-major (the
// layout the input gradient through an [out, in] weight reads), and a grid of tiles whose B is an
// NF4 weight expanded straight into shared memory, and attention's two products chained through
// registers (the accumulator of q·kᵀ as the A operand of p·v) and a whole flash forward on them, as
// test/engine/cuda/kernels/wgmma_probe.cu stages them. A wrong descriptor or fragment order
// moves values to other places, which the element-wise comparison names.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { DYNAMIC_MAP } from "../../../src/quant/dynamic-map.js";
import { dequantizeNf4, quantizeNf4 } from "../../../src/quant/nf4.js";
import { encodeBf16 } from "../../../src/engine/cuda/bf16-host.js";
import type { Kernel } from "../../../src/engine/cuda/device.js";
import { kernelSourceIn } from "../../../src/engine/cuda/kernel-source.js";
import { openGpuOrSkip } from "./gpu.js";

const gpu = openGpuOrSkip();
after(() => gpu.device?.dispose());

const source = () => kernelSourceIn(new URL("./kernels/", import.meta.url), "wgmma_probe.cu");

const pattern = (n: number, seed: number, scale = 1) => Float32Array.from({ length: n }, (_, i) => scale * Math.sin(seed * 1.7 + i * 0.37) * Math.cos(i * 0.011 + seed));

/** bf16 values (their bits and their exact values) of a float array. */
function bf16Of(f: Float32Array): { bits: Uint16Array; values: Float64Array } {
  const bits = encodeBf16(f);
  const values = Float64Array.from(bits, (b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0] as number);
  return { bits, values };
}

/** bf16 values of a deterministic pattern in about [−1, 1]. */
const bf16Matrix = (rows: number, cols: number, seed: number) => bf16Of(pattern(rows * cols, seed));

/** The worst relative error of a [rows, cols] result against want(i, j), and where it is. */
function worstError(got: Float32Array, want: (i: number, j: number) => number, rows = 64, cols = 64): { worst: number; where: string } {
  let worst = 0;
  let where = "";
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const w = want(i, j);
      const err = Math.abs((got[i * cols + j] as number) - w) / (1 + Math.abs(w));
      if (err > worst) [worst, where] = [err, `c[${i}][${j}] = ${got[i * cols + j]}, want ${w}`];
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
      {
        wgmma_probe_gemm: ["ptr", "ptr", "ptr", "i32"],
        wgmma_probe_gemm_swizzled: ["ptr", "ptr", "ptr", "i32"],
        wgmma_probe_gemm_mn: ["ptr", "ptr", "ptr", "i32", "u32", "u32"],
        nf4_wgmma_probe_gemm: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "f32", "i32", "i32"],
        wgmma_probe_two_products: ["ptr", "ptr", "ptr", "ptr", "ptr", "i32"],
        wgmma_probe_flash_forward: ["ptr", "ptr", "ptr", "ptr", "i32", "f32", "i32"],
      },
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
        // fp32 accumulation of bf16 products (the tensor cores add in their own order): far below the
        // O(1) error of a value in the wrong place
        assert.ok(worst < 1e-4, `${name}, K ${K}: worst error ${worst.toExponential(2)} at ${where}`);
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
    if (worst >= 1e-4) {
      // say whether the leading and stride offsets the other way round would have been right
      const swapped = worstError(run(k.wgmma_probe_gemm_mn, a.bits, w.bits, K, 128, 1024), want);
      assert.fail(`N-major B: worst error ${worst.toExponential(2)} at ${where}; with the offsets swapped ${swapped.worst.toExponential(2)}`);
    }
  });

  test("attention's two products: s = q·kᵀ, then o = bf16(s)·v with bf16(s) the register A operand (wgmma's RS form)", () => {
    const device = gpu.device!;
    const k = kernels();
    const [q, key, v] = [bf16Matrix(64, 64, 5), bf16Matrix(64, 64, 6), bf16Matrix(64, 64, 7)];
    const bufs = [q, key, v].map((m) => {
      const b = device.alloc(m.bits.byteLength);
      device.upload(b.ptr, m.bits);
      return b;
    });
    const [ps, po] = [device.alloc(64 * 64 * 4), device.alloc(64 * 64 * 4)];
    const runOrder = (order: number) => {
      k.wgmma_probe_two_products.launch([1], [128], 0, ps.ptr, po.ptr, bufs[0].ptr, bufs[1].ptr, bufs[2].ptr, order);
      const [sGot, oGot] = [new Float32Array(64 * 64), new Float32Array(64 * 64)];
      device.download(sGot, ps.ptr);
      device.download(oGot, po.ptr);
      // p as the device rounds it (round to nearest even), from the device's own s
      const p = bf16Of(sGot).values;
      const oWant = (i: number, j: number) => {
        let acc = 0;
        for (let t = 0; t < 64; t++) acc += (p[i * 64 + t] as number) * (v.values[t * 64 + j] as number);
        return acc;
      };
      return { s: sGot, o: worstError(oGot, oWant) };
    };
    try {
      const first = runOrder(0);
      const sWant = (i: number, j: number) => {
        let acc = 0;
        for (let t = 0; t < 64; t++) acc += (q.values[i * 64 + t] as number) * (key.values[j * 64 + t] as number);
        return acc;
      };
      const sErr = worstError(first.s, sWant);
      assert.ok(sErr.worst < 1e-4, `s = q·kᵀ: worst error ${sErr.worst.toExponential(2)} at ${sErr.where}`);
      if (first.o.worst >= 1e-4) {
        // say whether the other reading of the register fragment (a[1] and a[2] swapped) is right
        const swapped = runOrder(1).o;
        assert.fail(`o = bf16(s)·v: worst error ${first.o.worst.toExponential(2)} at ${first.o.where}; with a[1] and a[2] swapped ${swapped.worst.toExponential(2)}`);
      }
    } finally {
      for (const b of [...bufs, ps, po]) b.free();
    }
  });

  test("a flash forward on wgmma: o = softmax(q·kᵀ/8)·v over 256 keys, the online softmax between the two products", () => {
    const device = gpu.device!;
    const k = kernels();
    const T = 256;
    const scale = 1 / 8;
    const [q, key, v] = [bf16Matrix(64, 64, 8), bf16Of(pattern(T * 64, 9, 2)), bf16Matrix(T, 64, 10)];
    const bufs = [q, key, v].map((m) => {
      const b = device.alloc(m.bits.byteLength);
      device.upload(b.ptr, m.bits);
      return b;
    });
    const po = device.alloc(64 * 64 * 4);
    // float64 attention of the bf16 inputs
    const want = new Float64Array(64 * 64);
    for (let i = 0; i < 64; i++) {
      const logits = Array.from({ length: T }, (_, t) => {
        let acc = 0;
        for (let j = 0; j < 64; j++) acc += (q.values[i * 64 + j] as number) * (key.values[t * 64 + j] as number);
        return acc * scale;
      });
      const top = Math.max(...logits);
      const weights = logits.map((x) => Math.exp(x - top));
      const sum = weights.reduce((a, b) => a + b, 0);
      for (let j = 0; j < 64; j++) {
        let acc = 0;
        for (let t = 0; t < T; t++) acc += (weights[t] as number) * (v.values[t * 64 + j] as number);
        want[i * 64 + j] = acc / sum;
      }
    }
    const runOrder = (order: number) => {
      k.wgmma_probe_flash_forward.launch([1], [128], 0, po.ptr, bufs[0].ptr, bufs[1].ptr, bufs[2].ptr, T, scale, order);
      const got = new Float32Array(64 * 64);
      device.download(got, po.ptr);
      return worstError(got, (i, j) => want[i * 64 + j] as number);
    };
    try {
      const first = runOrder(0);
      // the probabilities go into the second product as bf16 (8 bits of mantissa): about 1e-3
      if (first.worst >= 1e-2) {
        const swapped = runOrder(1);
        assert.fail(`flash forward: worst error ${first.worst.toExponential(2)} at ${first.where}; with a[1] and a[2] swapped ${swapped.worst.toExponential(2)}`);
      }
    } finally {
      for (const b of [...bufs, po]) b.free();
    }
  });

  test("an NF4 weight expanded straight into the swizzled tile: y = x·Wᵀ equals x times the CPU's dequantised W", () => {
    const device = gpu.device!;
    const k = kernels();
    const [M, N, K] = [128, 192, 256];
    const x = bf16Of(pattern(M * K, 5));
    const q = quantizeNf4(pattern(N * K, 6, 0.05), N, K);
    // the kernel rounds each expanded weight to bf16, as the expansion kernel does
    const w = bf16Of(dequantizeNf4(q)).values;
    const buffers = [x.bits, q.packed, q.absmaxCodes, q.absmaxScales, DYNAMIC_MAP].map((data) => {
      const b = device.alloc(data.byteLength);
      device.upload(b.ptr, data);
      return b;
    });
    const y = device.alloc(M * N * 4);
    try {
      const [px, pPacked, pCodes, pScales, pMap] = buffers.map((b) => b.ptr);
      k.nf4_wgmma_probe_gemm.launch([N / 64, M / 64], [128], 0, y.ptr, px, pPacked, pCodes, pScales, pMap, q.absmaxOffset, N, K);
      const got = new Float32Array(M * N);
      device.download(got, y.ptr);
      const want = (i: number, j: number) => {
        let s = 0;
        for (let t = 0; t < K; t++) s += (x.values[i * K + t] as number) * (w[j * K + t] as number);
        return s;
      };
      const { worst, where } = worstError(got, want, M, N);
      assert.ok(worst < 1e-4, `worst error ${worst.toExponential(2)} at ${where}`);
    } finally {
      for (const b of [...buffers, y]) b.free();
    }
  });
});
