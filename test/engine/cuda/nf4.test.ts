import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { decodeBf16, encodeBf16 } from "../../../src/engine/cuda/bf16-host.js";
import type { DeviceBuffer } from "../../../src/engine/cuda/memory.js";
import { CudaNf4Weight, type Nf4Expansion, nf4ExpansionFromEnv } from "../../../src/engine/cuda/nf4-weight.js";
import { dequantizeNf4, quantizeNf4 } from "../../../src/quant/nf4.js";
import { openGpuOrSkip } from "./gpu.js";

function normals(n: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  return Float32Array.from({ length: n }, () => scale * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

test("$AGENTTUNE_NF4_EXPANSION picks the expansion kernel and names itself when it is wrong", () => {
  assert.equal(nf4ExpansionFromEnv({}), "word");
  assert.equal(nf4ExpansionFromEnv({ AGENTTUNE_NF4_EXPANSION: "wide" }), "wide");
  assert.throws(() => nf4ExpansionFromEnv({ AGENTTUNE_NF4_EXPANSION: "fast" }), /AGENTTUNE_NF4_EXPANSION is "fast"/);
});

const gpu = openGpuOrSkip();
after(() => gpu.device?.dispose());

describe("NF4 on the GPU", { skip: gpu.skip }, () => {
  const device = gpu.device!;

  // [300, 128] and [64, 64] leave the wide kernel's last block partly empty
  for (const [rows, cols, expansion] of [
    [64, 64, "word"],
    [896, 4864, "word"],
    [300, 128, "word"],
    [64, 64, "wide"],
    [896, 4864, "wide"],
    [300, 128, "wide"],
    [2048, 5, "wide"],
  ] as [number, number, Nf4Expansion][]) {
    test(`dequantising [${rows}, ${cols}] to bf16 (${expansion} kernel) equals the CPU reference rounded to bf16, bit for bit`, () => {
      const q = quantizeNf4(normals(rows * cols, rows + cols, 0.02), rows, cols);
      const weight = new CudaNf4Weight(device, q);
      const out = device.alloc(rows * cols * 2);
      weight.dequantizeInto(out, expansion);
      const bits = new Uint16Array(rows * cols);
      device.download(bits, out.ptr);
      const want = encodeBf16(dequantizeNf4(q));
      let mismatches = 0;
      for (let i = 0; i < bits.length; i++) if (bits[i] !== want[i]) mismatches++;
      assert.equal(mismatches, 0, `first values: got ${[...decodeBf16(bits.slice(0, 4))]}, want ${[...decodeBf16(want.slice(0, 4))]}`);
      out.free();
      weight.dispose();
    });
  }

  // ld 4864 + 24 takes 16-byte stores of W's words, 4864 + 6 four-byte ones; B columns after zero ones
  for (const [rows, cols, tail, rank, scale] of [
    [896, 4864, 24, 8, 2],
    [300, 128, 6, 2, 0.75],
    [64, 64, 4, 4, 1.5],
  ] as const) {
    test(`the folded expansion [${rows}, ${cols}] + ${tail} tail columns: W's rows as dequantizeInto writes them, zeros, then bf16(scale·B)`, () => {
      const q = quantizeNf4(normals(rows * cols, rows + cols + 1, 0.02), rows, cols);
      const weight = new CudaNf4Weight(device, q);
      const ld = cols + tail;
      const out = device.alloc(rows * ld * 2);
      device.fill(out.ptr, 0xff, rows * ld * 2); // poison: every element must be written
      const b = encodeBf16(normals(rows * rank, 7, 0.1));
      const bBuf = device.alloc(b.byteLength);
      device.upload(bBuf.ptr, b);
      weight.dequantizeFoldedInto(out, ld, bBuf.ptr, rank, scale);
      const bits = new Uint16Array(rows * ld);
      device.download(bits, out.ptr);
      const w = encodeBf16(dequantizeNf4(q));
      const bValues = decodeBf16(b);
      const bad: string[] = [];
      for (let r = 0; r < rows && bad.length < 4; r++) {
        for (let c = 0; c < ld; c++) {
          const zeros = tail - rank;
          const want = c < cols ? w[r * cols + c] : c < cols + zeros ? 0 : encodeBf16(Float32Array.of(scale * bValues[r * rank + c - cols - zeros]))[0];
          if (bits[r * ld + c] !== want) bad.push(`[${r}, ${c}]: ${bits[r * ld + c]} for ${want}`);
        }
      }
      assert.deepEqual(bad, []);
      assert.throws(() => weight.dequantizeFoldedInto(out, cols + rank - 1, bBuf.ptr, rank, scale), /room for the rank/);
      for (const buffer of [out, bBuf]) buffer.free();
      weight.dispose();
    });
  }

  /**
   * The worst relative error of a bf16 [rows, cols] result on the device against want(i, j), and
   * where it is. One bf16 rounding of an fp32 sum is within 2^-8 of the value.
   */
  const worstBf16Error = (buffer: DeviceBuffer, rows: number, cols: number, name: string, want: (i: number, j: number) => number) => {
    const bits = new Uint16Array(rows * cols);
    device.download(bits, buffer.ptr);
    const values = decodeBf16(bits);
    let worst = 0;
    let where = "";
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const w = want(i, j);
        const err = Math.abs((values[i * cols + j] as number) - w) / (Math.abs(w) + 1e-3);
        if (err > worst) [worst, where] = [err, `${name}[${i}][${j}] = ${values[i * cols + j]}, want ${w}`];
      }
    }
    return { worst, where };
  };
  const notHopper = gpu.device !== undefined && gpu.device.info.computeCapability[0] !== 9 ? "the fused product runs wgmma: sm_90 only" : false;
  test("the fused NF4 product (wgmma, the weight expanded in shared memory) gives x·Wᵀ of the expanded weight, and adds to y", { skip: notHopper }, () => {
    // M not a multiple of the 128-row tile: the last tile's rows past M are zero-filled and not written
    const [M, N, K] = [200, 256, 512];
    const q = quantizeNf4(normals(N * K, 7, 0.05), N, K);
    const weight = new CudaNf4Weight(device, q);
    const xBits = encodeBf16(normals(M * K, 8, 1));
    const [x, w] = [decodeBf16(xBits), decodeBf16(encodeBf16(dequantizeNf4(q)))];
    const y0Bits = encodeBf16(normals(M * N, 9, 1));
    const y0 = decodeBf16(y0Bits);
    const [px, py] = [device.alloc(M * K * 2), device.alloc(M * N * 2)];
    try {
      device.upload(px.ptr, xBits);
      for (const accumulate of [false, true]) {
        device.upload(py.ptr, y0Bits);
        weight.matmulInto(py.ptr, px.ptr, M, accumulate);
        const { worst, where } = worstBf16Error(py, M, N, "y", (i, j) => {
          let want = accumulate ? (y0[i * N + j] as number) : 0;
          for (let t = 0; t < K; t++) want += (x[i * K + t] as number) * (w[j * K + t] as number);
          return want;
        });
        assert.ok(worst <= 2 ** -8, `accumulate ${accumulate}: worst relative error ${worst.toExponential(2)} at ${where}`);
      }
    } finally {
      px.free();
      py.free();
      weight.dispose();
    }
  });

  test("the fused NF4 input gradient (W's tile N-major in shared memory) gives dy·W of the expanded weight, and adds to dx", { skip: notHopper }, () => {
    const [M, N, K] = [200, 192, 256]; // W: [N, K]; dy: [M, N]; dx: [M, K]
    const q = quantizeNf4(normals(N * K, 10, 0.05), N, K);
    const weight = new CudaNf4Weight(device, q);
    const dyBits = encodeBf16(normals(M * N, 11, 1));
    const [dy, w] = [decodeBf16(dyBits), decodeBf16(encodeBf16(dequantizeNf4(q)))];
    const dx0Bits = encodeBf16(normals(M * K, 12, 1));
    const dx0 = decodeBf16(dx0Bits);
    const [pdy, pdx] = [device.alloc(M * N * 2), device.alloc(M * K * 2)];
    const worstOf = (accumulate: boolean, offsets?: readonly [number, number]) => {
      device.upload(pdx.ptr, dx0Bits);
      weight.matmulTransposedInto(pdx.ptr, pdy.ptr, M, accumulate, offsets);
      return worstBf16Error(pdx, M, K, "dx", (i, j) => {
        let want = accumulate ? (dx0[i * K + j] as number) : 0;
        for (let t = 0; t < N; t++) want += (dy[i * N + t] as number) * (w[t * K + j] as number);
        return want;
      });
    };
    try {
      device.upload(pdy.ptr, dyBits);
      for (const accumulate of [false, true]) {
        const { worst, where } = worstOf(accumulate);
        if (worst > 2 ** -8 && !accumulate) {
          // say whether the N-major tile's descriptor offsets the other way round would have been right
          assert.fail(`worst relative error ${worst.toExponential(2)} at ${where}; with the offsets swapped ${worstOf(false, [128, 2048]).worst.toExponential(2)}`);
        }
        assert.ok(worst <= 2 ** -8, `accumulate ${accumulate}: worst relative error ${worst.toExponential(2)} at ${where}`);
      }
    } finally {
      pdy.free();
      pdx.free();
      weight.dispose();
    }
  });
});
