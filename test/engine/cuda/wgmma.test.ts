// The first warpgroup MMA (wgmma, sm_90a) against the host: c = a·bᵀ for one 64 × 64 tile over
// K = 64 and 256, the layout of the shared tiles and of the accumulator as the kernel assumes
// them (test/engine/cuda/kernels/wgmma_probe.cu). A wrong descriptor or fragment order moves
// values to other places, which the element-wise comparison names.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { encodeBf16 } from "../../../src/engine/cuda/bf16-host.js";
import { openGpuOrSkip } from "./gpu.js";

const gpu = openGpuOrSkip();
after(() => gpu.device?.dispose());

const read = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8");
const source = () => `${read("../../../src/engine/cuda/kernels/common.cuh")}\n#line 1 "wgmma_probe.cu"\n${read("./kernels/wgmma_probe.cu")}`;

/** bf16 values of a deterministic pattern in about [−1, 1], and their exact float values. */
function bf16Matrix(rows: number, cols: number, seed: number): { bits: Uint16Array; values: Float64Array } {
  const f = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(seed * 1.7 + i * 0.37) * Math.cos(i * 0.011 + seed));
  const bits = encodeBf16(f);
  const values = Float64Array.from(bits, (b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0] as number);
  return { bits, values };
}

describe("wgmma on the GPU (sm_90a)", { skip: gpu.skip || (gpu.device !== undefined && gpu.device.info.computeCapability[0] !== 9 ? "needs an sm_90 GPU" : false) }, () => {
  test("one warpgroup's m64n64k16 products over shared tiles give a·bᵀ, every element in its place", () => {
    const device = gpu.device!;
    const k = device.compile(source(), "wgmma_probe.cu", { wgmma_probe_gemm: ["ptr", "ptr", "ptr", "i32"] }, [], `${device.arch}a`);
    for (const K of [64, 256]) {
      const a = bf16Matrix(64, K, 1);
      const b = bf16Matrix(64, K, 2);
      const [pa, pb, pc] = [device.alloc(a.bits.byteLength), device.alloc(b.bits.byteLength), device.alloc(64 * 64 * 4)];
      try {
        device.upload(pa.ptr, a.bits);
        device.upload(pb.ptr, b.bits);
        k.wgmma_probe_gemm.launch([1], [128], 0, pc.ptr, pa.ptr, pb.ptr, K);
        const got = new Float32Array(64 * 64);
        device.download(got, pc.ptr);
        let worst = 0;
        let where = "";
        for (let i = 0; i < 64; i++) {
          for (let j = 0; j < 64; j++) {
            let want = 0;
            for (let t = 0; t < K; t++) want += (a.values[i * K + t] as number) * (b.values[j * K + t] as number);
            const err = Math.abs((got[i * 64 + j] as number) - want) / (1 + Math.abs(want));
            if (err > worst) [worst, where] = [err, `c[${i}][${j}] = ${got[i * 64 + j]}, want ${want}`];
          }
        }
        // fp32 accumulation of bf16 products: a few ulps of the sum
        assert.ok(worst < 1e-5, `K ${K}: worst error ${worst.toExponential(2)} at ${where}`);
      } finally {
        for (const p of [pa, pb, pc]) p.free();
      }
    }
  });
});
