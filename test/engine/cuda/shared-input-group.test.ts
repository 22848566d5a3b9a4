// One shared-input group (q/k/v-like: three projections reading one input) on the GPU against a
// float64 reference written from the LoRA definitions, with its B side apart, folded into the
// forward's base products, and folded both ways; its A side shared (fused) or member by member.
// The reference takes the bf16 values the GPU
// holds (x, W, A, B, dy, and xa and dxa rounded as the GPU rounds them), so what is left is the
// products' own rounding: a column of the wrong member, a missing product or a product added
// twice shows as an error of order 1.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { decodeBf16, encodeBf16 } from "../../../src/engine/cuda/bf16-host.js";
import type { CudaDevice } from "../../../src/engine/cuda/device.js";
import { LoraArena } from "../../../src/engine/cuda/lora-arena.js";
import { CudaLoraLinear } from "../../../src/engine/cuda/lora-linear.js";
import { CudaNf4Weight } from "../../../src/engine/cuda/nf4-weight.js";
import { loraFoldFor, loraFoldFromEnv } from "../../../src/engine/cuda/decoder-trainer.js";
import { CudaOps } from "../../../src/engine/cuda/ops.js";
import { CudaSharedInputGroup, LORA_FOLDS } from "../../../src/engine/cuda/shared-input-group.js";
import { dequantizeNf4, quantizeNf4 } from "../../../src/quant/nf4.js";
import { relError } from "../../train/lora-fixture.js";
import { openGpuOrSkip } from "./gpu.js";

function random(n: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return scale * (s / 2 ** 32 - 0.5) * 2;
  });
}
const bf = (x: Float32Array) => decodeBf16(encodeBf16(x));


/** C [m, n] = A [m, k] · op(B) in float64; B is [n, k] (transposed) or [k, n]. */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, n: number, k: number, bTransposed: boolean): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * (bTransposed ? b[j * k + p] : b[p * n + j]);
      c[i * n + j] = s;
    }
  }
  return c;
}
const transpose = (a: ArrayLike<number>, rows: number, cols: number) => Float64Array.from({ length: rows * cols }, (_, i) => a[(i % rows) * cols + Math.floor(i / rows)]);

test('foldLoraB "auto" folds both ways up to a hidden size of 2048 and the forward above; a mode asked for is kept', () => {
  const config = (hiddenSize: number) => ({ hiddenSize }) as Parameters<typeof loraFoldFor>[0];
  assert.equal(loraFoldFor(config(896)), "both"); // Qwen2.5-0.5B
  assert.equal(loraFoldFor(config(2048)), "both"); // Qwen2.5-3B
  assert.equal(loraFoldFor(config(3584)), "forward"); // Qwen2.5-7B
  assert.equal(loraFoldFor(config(3584), "forward"), "forward");
  assert.equal(loraFoldFor(config(896), "off"), "off");
  assert.equal(loraFoldFromEnv({}), "auto");
  assert.equal(loraFoldFromEnv({ AGENTTUNE_LORA_FOLD: "forward" }), "forward");
  assert.throws(() => loraFoldFromEnv({ AGENTTUNE_LORA_FOLD: "sideways" }), /AGENTTUNE_LORA_FOLD is "sideways"/);
});

const gpu = openGpuOrSkip();
after(() => gpu.device?.dispose());

describe("a shared-input LoRA group on the GPU against float64", { skip: gpu.skip }, () => {
  const device = gpu.device as CudaDevice;
  const ops = new CudaOps(device);

  // 256 + 3·8 takes the 16-byte stores; 64 + 3·2 and 32 + 3·4 (the qwen3 fixture's q/k/v) the 4-byte ones
  for (const [inFeatures, rank, outs] of [[256, 8, [96, 32, 48]], [64, 2, [96, 32, 48]], [32, 4, [64, 32, 32]]] as const) {
    for (const [fold, fuse] of [...LORA_FOLDS.map((f) => [f, true] as const), ["both", false] as const]) {
      test(`in ${inFeatures}, rank ${rank}, fold ${fold}${fuse ? "" : ", members one by one"}: outputs, the input gradient and every dA, dB`, () => {
        const n = 40;
        const scale = 2.5;
        const L = outs.length * rank;
        const hostW = outs.map((out, i) => {
          const q = quantizeNf4(random(out * inFeatures, 10 + i, 0.05), out, inFeatures);
          return { q, w: bf(dequantizeNf4(q)) };
        });
        const a = outs.map((_, i) => bf(random(rank * inFeatures, 20 + i, 0.1)));
        const b = outs.map((out, i) => bf(random(out * rank, 30 + i, 0.1)));
        // A_i then B_i in params order; in memory the three A side by side, then the three B
        const arena = new LoraArena(device, ops, outs.flatMap((out) => [rank * inFeatures, out * rank]), [0, 2, 4, 1, 3, 5]);
        arena.setMasters(outs.flatMap((_, i) => [a[i], b[i]]));
        const weights = hostW.map(({ q }) => new CudaNf4Weight(device, q));
        const scratch = device.alloc(Math.max(...outs) * (inFeatures + L) * 2);
        const linears = weights.map((w, i) => new CudaLoraLinear(device, ops, w, null, { a: arena.params[2 * i], b: arena.params[2 * i + 1], rank, scale, dropout: 0 }, scratch));
        const group = new CudaSharedInputGroup(device, ops, linears, fuse, fold);
        assert.equal(group.folded, fold !== "off");
        assert.equal(group.stride, inFeatures + (fold === "off" ? 0 : L));
        // one by one, only the forward folds
        assert.equal(group.gradStride, inFeatures + (fold === "both" && fuse ? L : 0));
        const buffers: { free(): void }[] = [{ free: () => arena.dispose() }, scratch, ...weights.map((w) => ({ free: () => w.dispose() }))];
        const alloc = (bytes: number) => {
          const buffer = device.alloc(bytes);
          buffers.push(buffer);
          return buffer;
        };
        const errors: string[] = [];
        const check = (name: string, got: ArrayLike<number>, want: ArrayLike<number>, tolerance: number) => {
          const err = relError(got, want);
          errors.push(`${name} ${err.toExponential(1)}`);
          assert.ok(err < tolerance, `${name}: relative error ${err.toExponential(2)}`);
        };
        try {
          const x = bf(random(n * inFeatures, 1, 1));
          const xWide = new Float32Array(n * group.stride).fill(7); // the xa columns are the group's to write
          for (let r = 0; r < n; r++) xWide.set(x.subarray(r * inFeatures, (r + 1) * inFeatures), r * group.stride);
          const xBuf = alloc(xWide.length * 2);
          device.upload(xBuf.ptr, encodeBf16(xWide));
          const ys = outs.map((out) => alloc(n * out * 2));
          const xa = alloc(n * L * 2);
          group.forward(ys.map((y) => y.ptr), xBuf.ptr, n, xa.ptr, [0, 0, 0]);
          const down = (ptr: unknown, count: number) => {
            const bits = new Uint16Array(count);
            device.download(bits, ptr as never);
            return decodeBf16(bits);
          };
          // xa_i = bf16(x·A_iᵀ), as kept for the backward pass: [n, L] with member i's r columns at i·r
          // (fused), or member i's [n, r] block at i·n·r (one by one)
          const gotXa = down(xa.ptr, n * L);
          const xaOf = (i: number) =>
            Float32Array.from({ length: n * rank }, (_, j) => (fuse ? gotXa[Math.floor(j / rank) * L + i * rank + (j % rank)] : gotXa[i * n * rank + j]));
          outs.forEach((out, i) => {
            check(`xa${i}`, xaOf(i), matmul(x, a[i], n, rank, inFeatures, true), 8e-3);
            const lora = matmul(xaOf(i), b[i], n, out, rank, true);
            const want = matmul(x, hostW[i].w, n, out, inFeatures, true).map((v, j) => v + scale * lora[j]);
            check(`y${i}`, down(ys[i].ptr, n * out), want, 8e-3);
          });

          const dys = outs.map((out, i) => bf(random(n * out, 40 + i, 1)));
          const dyBufs = dys.map((dy) => {
            const buffer = alloc(dy.length * 2);
            device.upload(buffer.ptr, encodeBf16(dy));
            return buffer;
          });
          const dx = alloc(n * group.gradStride * 2);
          const dxa = alloc(n * L * 2);
          group.backward(dx.ptr, dyBufs.map((d) => d.ptr), xBuf.ptr, xa.ptr, dxa.ptr, n, false, [0, 0, 0]);
          const gotDxWide = down(dx.ptr, n * group.gradStride);
          const gotDx = Float32Array.from({ length: n * inFeatures }, (_, j) => gotDxWide[Math.floor(j / inFeatures) * group.gradStride + (j % inFeatures)]);
          const wantDx = new Float64Array(n * inFeatures);
          const grads = arena.read("grad");
          outs.forEach((out, i) => {
            // dxa_i = bf16(s·dy_i·B_i): [n, r]
            const dxaI = bf(Float32Array.from(matmul(dys[i], b[i], n, rank, out, false), (v) => scale * v));
            const fromW = matmul(dys[i], hostW[i].w, n, inFeatures, out, false);
            const fromA = matmul(dxaI, a[i], n, inFeatures, rank, false);
            for (let j = 0; j < wantDx.length; j++) wantDx[j] += fromW[j] + fromA[j];
            const wantDa = matmul(transpose(dxaI, n, rank), x, rank, inFeatures, n, false);
            const wantDb = matmul(transpose(dys[i], n, out), xaOf(i), out, rank, n, false).map((v) => scale * v);
            check(`dA${i}`, grads[2 * i], wantDa, 1e-2);
            check(`dB${i}`, grads[2 * i + 1], wantDb, 1e-2);
          });
          check("dx", gotDx, wantDx, 1e-2);
          console.log(`in ${inFeatures}, rank ${rank}, fold ${fold}${fuse ? "" : ", one by one"}: ${errors.join(", ")}`);
        } finally {
          for (const buffer of buffers) buffer.free();
        }
      });
    }
  }
});
