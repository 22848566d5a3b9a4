// The LoRA arena (src/engine/cuda/lora-arena.ts): its layout on the host (runs everywhere), and on
// the GPU the whole-arena optimizer step against the per-matrix kernels it replaces, with sizes
// that leave padding between the matrices.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { encodeBf16 } from "../../../src/engine/cuda/bf16-host.js";
import type { CudaDevice } from "../../../src/engine/cuda/device.js";
import type { DevicePtr } from "../../../src/engine/cuda/ffi.js";
import { offsetPtr } from "../../../src/engine/cuda/ffi.js";
import { LORA_ARENA_ALIGN, LoraArena, loraArenaLayout } from "../../../src/engine/cuda/lora-arena.js";
import { type AdamwStep, CudaOps } from "../../../src/engine/cuda/ops.js";
import { openGpuOrSkip } from "./gpu.js";

function random(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return scale * (s / 2 ** 32 - 0.5) * 2;
  });
}

/** Bit-for-bit equality of two fp32 arrays, naming the first difference. */
function assertSameBits(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) assert.fail(`${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

// odd sizes: padding after most matrices; 0 and 1 at the edges; 16 and 32 already aligned
const SIZES = [5, 17, 33, 1, 0, 16, 100, 32, 3];

describe("LoRA arena layout", () => {
  test("each matrix starts at a multiple of 16 elements after the previous one; the total is padded", () => {
    const { offsets, total } = loraArenaLayout(SIZES);
    assert.deepEqual(offsets, [0, 16, 48, 96, 112, 112, 128, 240, 272]);
    assert.equal(total, 288);
    for (const [i, o] of offsets.entries()) {
      assert.equal(o % LORA_ARENA_ALIGN, 0);
      if (i > 0) assert.ok(o >= offsets[i - 1] + SIZES[i - 1], "no overlap");
    }
    assert.equal(total % LORA_ARENA_ALIGN, 0);
    assert.deepEqual(loraArenaLayout([]), { offsets: [], total: 0 });
    assert.throws(() => loraArenaLayout([4, -1]));
    assert.throws(() => loraArenaLayout([1.5]));
  });

  test("a placement decides the neighbours; offsets stay indexed by matrix", () => {
    // matrices 0..3 of 16, 5, 16, 16 elements placed 2, 0, 3, 1: 2 at 0, 0 at 16, 3 at 32, 1 at 48
    const { offsets, total } = loraArenaLayout([16, 5, 16, 16], [2, 0, 3, 1]);
    assert.deepEqual(offsets, [16, 48, 0, 32]);
    assert.equal(total, 64);
    assert.deepEqual(loraArenaLayout([16, 5], [0, 1]), loraArenaLayout([16, 5]));
    assert.throws(() => loraArenaLayout([1, 2], [0, 0]), /each of the 2 matrices once/);
    assert.throws(() => loraArenaLayout([1, 2], [0]), /each of the 2 matrices once/);
    assert.throws(() => loraArenaLayout([1, 2], [0, 2]), /each of the 2 matrices once/);
  });

  test("offsetPtr keeps a number below 2^53 and gives a bigint beyond", () => {
    assert.equal(offsetPtr(0x7f0000000000, 64), 0x7f0000000040);
    assert.equal(offsetPtr(BigInt(2 ** 60), 64), BigInt(2 ** 60) + 64n);
    assert.equal(offsetPtr(Number.MAX_SAFE_INTEGER - 1, 4), BigInt(Number.MAX_SAFE_INTEGER - 1) + 4n);
  });
});

const gpu = openGpuOrSkip();
after(() => gpu.device?.dispose());

describe("LoRA arena on the GPU", { skip: gpu.skip }, () => {
  test("the fused step (one launch) = per-matrix adamw_step bit for bit; shadows = bf16(master); grads zeroed; padding stays zero", () => {
    const device = gpu.device as CudaDevice;
    const ops = new CudaOps(device);
    const arena = new LoraArena(device, ops, SIZES);
    const { offsets, total } = loraArenaLayout(SIZES);
    assert.equal(arena.numel, total);
    assert.equal(arena.trainableParameters, SIZES.reduce((s, n) => s + n, 0));
    assert.deepEqual(
      arena.params.map((p) => [p.offset, p.numel]),
      SIZES.map((n, i) => [offsets[i], n]),
    );
    // the per-matrix path, on its own buffers: p, g, m, v [numel] fp32 each
    const own = SIZES.map((n) => ({ p: device.alloc(Math.max(n, 1) * 4), g: device.alloc(Math.max(n, 1) * 4), m: device.alloc(Math.max(n, 1) * 4), v: device.alloc(Math.max(n, 1) * 4) }));
    try {
      const masters = SIZES.map((n, i) => random(n, 100 + i, 0.1));
      arena.setMasters(masters.map((x, i) => (i === 3 ? null : x))); // null: zeros
      masters[3].fill(0);
      own.forEach((b, i) => {
        if (SIZES[i] === 0) return;
        device.upload(b.p.ptr, masters[i]);
        device.fill(b.m.ptr, 0, SIZES[i] * 4);
        device.fill(b.v.ptr, 0, SIZES[i] * 4);
      });
      assert.deepEqual(arena.read("master"), masters);
      assert.deepEqual(arena.readShadows(), masters.map((x) => encodeBf16(x)));

      for (let step = 1; step <= 3; step++) {
        // gradients written through the views, as the LoRA GEMMs accumulate them
        const grads = SIZES.map((n, i) => random(n, 1000 * step + i, 0.5));
        arena.params.forEach((p, i) => {
          if (p.numel === 0) return;
          device.upload(p.grad.ptr, grads[i]);
          device.upload(own[i].g.ptr, grads[i]);
        });
        const hostSq = grads.reduce((s, g) => s + g.reduce((t, x) => t + x * x, 0), 0);
        const norm = arena.gradNorm();
        assert.ok(Math.abs(norm - Math.sqrt(hostSq)) <= 1e-5 * Math.sqrt(hostSq), `step ${step}: ‖g‖ ${norm} vs ${Math.sqrt(hostSq)}`);
        const o: AdamwStep = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step, gradScale: step === 2 ? 0.25 : 1 };
        arena.adamwStep(o);
        own.forEach((b, i) => {
          if (SIZES[i] > 0) ops.adamw(b.p.ptr, b.g.ptr, b.m.ptr, b.v.ptr, SIZES[i], o);
        });

        const down = (ptr: DevicePtr, n: number) => {
          const out = new Float32Array(n);
          if (n > 0) device.download(out, ptr);
          return out;
        };
        const got = arena.read("master");
        arena.params.forEach((p, i) => {
          assertSameBits(got[i], down(own[i].p.ptr, p.numel), `step ${step} master ${i}`);
          assertSameBits(down(p.m.ptr, p.numel), down(own[i].m.ptr, p.numel), `step ${step} m ${i}`);
          assertSameBits(down(p.v.ptr, p.numel), down(own[i].v.ptr, p.numel), `step ${step} v ${i}`);
        });
        assert.deepEqual(arena.readShadows(), got.map((x) => encodeBf16(x)), `step ${step}: shadows = bf16(master)`);
        for (const [i, g] of arena.read("grad").entries()) assert.ok(g.every((x) => x === 0), `step ${step}: grad ${i} zeroed`);

        // the whole arenas: zero wherever no matrix lies
        const inMatrix = new Uint8Array(total);
        for (const p of arena.params) inMatrix.fill(1, p.offset, p.offset + p.numel);
        const shadowBits = new Uint16Array(total);
        device.download(shadowBits, arena.shadow.ptr);
        const whole = { master: down(arena.master.ptr, total), grad: down(arena.grad.ptr, total), m: down(arena.m.ptr, total), v: down(arena.v.ptr, total), shadow: shadowBits };
        for (const [name, values] of Object.entries(whole)) {
          for (let i = 0; i < total; i++) if (!inMatrix[i] && values[i] !== 0) assert.fail(`step ${step}: ${name} padding [${i}] = ${values[i]}`);
        }
        assert.ok(whole.grad.every((x) => x === 0), `step ${step}: the whole grad arena is zero`);
      }

      // zeroGrads is one memset over the arena
      arena.params.forEach((p, i) => {
        if (p.numel > 0) device.upload(p.grad.ptr, random(p.numel, 77 + i));
      });
      arena.zeroGrads();
      assert.ok(arena.read("grad").every((g) => g.every((x) => x === 0)));
      assert.throws(() => arena.adamwStep({ lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 0, weightDecay: 0, step: 4, gradScale: 1 }), /eps/);
    } finally {
      for (const b of own) for (const buf of [b.p, b.g, b.m, b.v]) buf.free();
      arena.dispose();
      arena.dispose(); // once
    }
  });
});
