import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { decodeBf16, encodeBf16 } from "../../../src/engine/cuda/bf16-host.js";
import type { CudaDevice } from "../../../src/engine/cuda/device.js";
import type { DeviceBuffer } from "../../../src/engine/cuda/memory.js";
import { offsetPtr } from "../../../src/engine/cuda/ffi.js";
import { CudaOps, SUM_SQUARES_BLOCKS } from "../../../src/engine/cuda/ops.js";
import { openGpuOrSkip } from "./gpu.js";

// float64 references written from the definitions, independent of both backends.

function random(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return scale * (s / 2 ** 32 - 0.5) * 2;
  });
}
const bf = (x: Float32Array) => decodeBf16(encodeBf16(x)); // the values as the GPU sees them

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}
const BF16_TOL = 8e-3; // bf16 outputs: 8 bits of mantissa

const gpu = openGpuOrSkip();
after(() => gpu.device?.dispose());

describe("CUDA layer kernels against float64 references", { skip: gpu.skip }, () => {
  const device = gpu.device as CudaDevice;
  const ops = new CudaOps(device);
  const held: DeviceBuffer[] = [];
  after(() => {
    for (const b of held) b.free();
  });
  const upBf16 = (x: Float32Array) => {
    const b = device.alloc(x.length * 2);
    held.push(b);
    device.upload(b.ptr, encodeBf16(x));
    return b.ptr;
  };
  const upRaw = (x: Float32Array | Int32Array) => {
    const b = device.alloc(x.byteLength);
    held.push(b);
    device.upload(b.ptr, x);
    return b.ptr;
  };
  const empty = (bytes: number) => {
    const b = device.alloc(bytes);
    held.push(b);
    device.fill(b.ptr, 0xff, bytes); // poison: every element must be written
    return b.ptr;
  };
  const downBf16 = (ptr: unknown, n: number) => {
    const bits = new Uint16Array(n);
    device.download(bits, ptr as never);
    return decodeBf16(bits);
  };
  const downF32 = (ptr: unknown, n: number) => {
    const out = new Float32Array(n);
    device.download(out, ptr as never);
    return out;
  };

  // 896 and 4096 take the 8-at-a-time kernels, 900 and 4104 the one-element ones
  for (const [unitOffset, dim] of [[false, 896], [true, 896], [false, 900], [true, 900], [false, 4096], [false, 4104]] as const) {
    test(`RMSNorm forward and backward${unitOffset ? " with Gemma's (1 + w)" : ""}, dim ${dim}`, () => {
      const rows = 37;
      const eps = 1e-6;
      const x = bf(random(rows * dim, 1, 2));
      const w = random(dim, 2);
      const dy = bf(random(rows * dim, 3));
      const y = empty(rows * dim * 2);
      const rstd = empty(rows * 4);
      const dx = empty(rows * dim * 2);
      const px = upBf16(x);
      const pw = upRaw(w);
      ops.rmsnormForward(y, rstd, px, pw, rows, dim, eps, unitOffset);
      ops.rmsnormBackward(dx, upBf16(dy), px, pw, rstd, rows, dim, unitOffset, false);
      const wantY = new Float64Array(rows * dim);
      const wantDx = new Float64Array(rows * dim);
      for (let r = 0; r < rows; r++) {
        let ss = 0;
        for (let i = 0; i < dim; i++) ss += x[r * dim + i] ** 2;
        const rs = 1 / Math.sqrt(ss / dim + eps);
        let dot = 0;
        for (let i = 0; i < dim; i++) dot += x[r * dim + i] * (w[i] + (unitOffset ? 1 : 0)) * dy[r * dim + i];
        for (let i = 0; i < dim; i++) {
          const g = w[i] + (unitOffset ? 1 : 0);
          wantY[r * dim + i] = x[r * dim + i] * rs * g;
          wantDx[r * dim + i] = rs * g * dy[r * dim + i] - (x[r * dim + i] * rs ** 3 * dot) / dim;
        }
      }
      assert.ok(relErr(downBf16(y, rows * dim), wantY) < BF16_TOL);
      assert.ok(relErr(downBf16(dx, rows * dim), wantDx) < BF16_TOL);
      ops.rmsnormBackward(dx, upBf16(dy), px, pw, rstd, rows, dim, unitOffset, true); // dx += the same again
      assert.ok(relErr(downBf16(dx, rows * dim), Float64Array.from(wantDx, (v) => 2 * v)) < BF16_TOL);
    });
  }

  // a norm output (and its gradient) with columns beside it, as a folded LoRA group's input: the
  // same bits as the dense rows where the same kernel runs (stride divisible by 8 with dim), the
  // other columns left as they were. 896 + 16 takes the 8-at-a-time kernels, 896 + 12 and 900 + 12 the one-element ones
  for (const [dim, stride] of [[896, 912], [896, 908], [900, 912]] as const) {
    test(`RMSNorm, the fused add + RMSNorm and the RMSNorm backward with rows ${stride} elements apart, dim ${dim}`, () => {
      const rows = 11;
      const x = bf(random(rows * dim, 31, 2));
      const b = bf(random(rows * dim, 32, 2));
      const w = random(dim, 33);
      const dy = bf(random(rows * dim, 34));
      const [px, pb, pw, pdy] = [upBf16(x), upBf16(b), upRaw(w), upBf16(dy)];
      const dense = { y: empty(rows * dim * 2), sumY: empty(rows * dim * 2), dx: empty(rows * dim * 2), sum: empty(rows * dim * 2), rstd: empty(rows * 4) };
      ops.rmsnormForward(dense.y, dense.rstd, px, pw, rows, dim, 1e-6, false);
      ops.addRmsnormForward(dense.sum, dense.sumY, empty(rows * 4), px, pb, pw, rows, dim, 1e-6, false);
      ops.rmsnormBackward(dense.dx, pdy, px, pw, dense.rstd, rows, dim, false, false);
      const y = empty(rows * stride * 2);
      const sumY = empty(rows * stride * 2);
      const dyWide = new Float32Array(rows * stride).fill(1e4); // what lies beside dy must not be read
      for (let r = 0; r < rows; r++) dyWide.set(dy.subarray(r * dim, (r + 1) * dim), r * stride);
      const dx = empty(rows * dim * 2);
      ops.rmsnormForward(y, empty(rows * 4), px, pw, rows, dim, 1e-6, false, stride);
      ops.addRmsnormForward(empty(rows * dim * 2), sumY, empty(rows * 4), px, pb, pw, rows, dim, 1e-6, false, stride);
      ops.rmsnormBackward(dx, upBf16(dyWide), px, pw, dense.rstd, rows, dim, false, false, stride);
      const sameKernel = dim % 8 === 0 === (stride % 8 === 0);
      const rowsOf = (wide: Float32Array) => Float32Array.from({ length: rows * dim }, (_, i) => wide[Math.floor(i / dim) * stride + (i % dim)]);
      for (const [name, got, want] of [["norm", y, dense.y], ["add + norm", sumY, dense.sumY]] as const) {
        const wide = downBf16(got, rows * stride);
        const bits = new Uint16Array(rows * stride);
        device.download(bits, got as never);
        const beside = bits.filter((_, i) => i % stride >= dim);
        assert.ok(beside.every((v) => v === 0xffff), `${name}: a column beside the rows was written`);
        const wantRows = downBf16(want, rows * dim);
        if (sameKernel) assert.deepEqual([...rowsOf(wide)], [...wantRows], `${name}: not the dense rows' bits`);
        else assert.ok(relErr(rowsOf(wide), wantRows) < BF16_TOL, `${name}: far from the dense rows`);
      }
      const [gotDx, wantDx] = [downBf16(dx, rows * dim), downBf16(dense.dx, rows * dim)];
      if (sameKernel) assert.deepEqual([...gotDx], [...wantDx], "backward: not the dense dy's bits");
      else assert.ok(relErr(gotDx, wantDx) < BF16_TOL, "backward: far from the dense dy's gradient");
    });
  }

  // 72 takes the 8-wide gather, 75 the one-element one
  for (const dim of [72, 75]) test(`the embedding gather reads a table in page-locked host memory as it reads one on the GPU, bit for bit, dim ${dim}`, () => {
    const [vocab, tokens] = [300, 41];
    const table = encodeBf16(random(vocab * dim, 51));
    const onHost = device.allocHostMapped(table.byteLength);
    try {
      device.upload(onHost.ptr, table); // a copy into it goes through the same call as into device memory
      const back = new Uint16Array(table.length);
      device.download(back, onHost.ptr as never);
      assert.deepEqual(back, table);
      const ids = upRaw(Int32Array.from({ length: tokens }, (_, t) => (t * 37 + 5) % vocab));
      const [fromHost, fromDevice] = [empty(tokens * dim * 2), empty(tokens * dim * 2)];
      ops.embedding(fromHost, onHost.ptr, ids, tokens, dim, 1.5);
      const onGpu = device.alloc(table.byteLength);
      held.push(onGpu);
      device.upload(onGpu.ptr, table);
      ops.embedding(fromDevice, onGpu.ptr, ids, tokens, dim, 1.5);
      const got = downBf16(fromHost, tokens * dim);
      assert.deepEqual([...got], [...downBf16(fromDevice, tokens * dim)]);
      const values = decodeBf16(table);
      const want = bf(Float32Array.from({ length: tokens * dim }, (_, i) => 1.5 * values[((Math.floor(i / dim) * 37 + 5) % vocab) * dim + (i % dim)]));
      assert.deepEqual([...got], [...want]);
    } finally {
      onHost.free();
    }
  });

  test("copyColumns takes a column slice out of a wider matrix", () => {
    const [rows, cols, stride] = [37, 12, 76];
    const src = bf(random(rows * stride, 41));
    const out = empty(rows * cols * 2);
    ops.copyColumns(out, offsetPtr(upBf16(src), 64 * 2), rows, cols, stride);
    const want = Float32Array.from({ length: rows * cols }, (_, i) => src[Math.floor(i / cols) * stride + 64 + (i % cols)]);
    assert.deepEqual([...downBf16(out, rows * cols)], [...want]);
  });

  for (const dim of [640, 644]) test(`the fused residual add + RMSNorm equals the add then the norm, dim ${dim}`, () => {
    const rows = 9;
    const a = bf(random(rows * dim, 21, 2));
    const b = bf(random(rows * dim, 22, 2));
    const w = random(dim, 23);
    const sum = empty(rows * dim * 2);
    const y = empty(rows * dim * 2);
    const rstd = empty(rows * 4);
    ops.addRmsnormForward(sum, y, rstd, upBf16(a), upBf16(b), upRaw(w), rows, dim, 1e-6, true);
    const s = bf(Float32Array.from(a, (v, i) => v + b[i]));
    assert.deepEqual([...downBf16(sum, rows * dim)], [...s]);
    const want = new Float64Array(rows * dim);
    for (let r = 0; r < rows; r++) {
      let ss = 0;
      for (let i = 0; i < dim; i++) ss += s[r * dim + i] ** 2;
      const rs = 1 / Math.sqrt(ss / dim + 1e-6);
      for (let i = 0; i < dim; i++) want[r * dim + i] = s[r * dim + i] * rs * (w[i] + 1);
    }
    assert.ok(relErr(downBf16(y, rows * dim), want) < BF16_TOL);
  });

  // 10 007 takes the one-element kernels, 10 008 the 8-at-a-time ones
  for (const [act, n] of [["silu", 10_007], ["silu", 10_008], ["gelu_tanh", 10_007], ["gelu_tanh", 10_008]] as const) {
    test(`${act} gated MLP forward and backward, n = ${n}`, () => {
      const gate = bf(random(n, 4, 4));
      const up = bf(random(n, 5, 2));
      const dh = bf(random(n, 6));
      const h = empty(n * 2);
      const dgate = empty(n * 2);
      const dup = empty(n * 2);
      const pg = upBf16(gate);
      const pu = upBf16(up);
      ops.gluForward(h, pg, pu, n, act);
      ops.gluBackward(dgate, dup, upBf16(dh), pg, pu, n, act);
      const f = (x: number) =>
        act === "silu" ? x / (1 + Math.exp(-x)) : 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
      const df = (x: number) => (f(x + 1e-6) - f(x - 1e-6)) / 2e-6; // the derivative, numerically
      assert.ok(relErr(downBf16(h, n), Array.from(gate, (g, i) => f(g) * up[i])) < BF16_TOL);
      assert.ok(relErr(downBf16(dgate, n), Array.from(gate, (g, i) => dh[i] * up[i] * df(g))) < BF16_TOL);
      assert.ok(relErr(downBf16(dup, n), Array.from(gate, (g, i) => dh[i] * f(g))) < BF16_TOL);
    });
  }

  test("the 8-at-a-time gated MLP kernels give the one-element kernels' bits", () => {
    const n = 4096;
    // the same values once at an aligned pointer (8 at a time) and once 2 bytes in (one element a thread)
    const raw = (x: Float32Array) => {
      const shifted = new Float32Array(n + 1);
      shifted.set(x, 1);
      return { aligned: upBf16(x), unaligned: BigInt(upBf16(shifted)) + 2n };
    };
    const gate = raw(bf(random(n, 7, 4)));
    const up = raw(bf(random(n, 8, 2)));
    const dh = raw(bf(random(n, 9)));
    const outs = (aligned: boolean) => {
      const shift = aligned ? 0n : 2n;
      const [h, dg, du] = [0, 1, 2].map(() => BigInt(empty((n + 1) * 2)) + shift);
      const pick = (t: { aligned: unknown; unaligned: bigint }) => (aligned ? (t.aligned as bigint) : t.unaligned);
      ops.gluForward(h, pick(gate), pick(up), n, "silu");
      ops.gluBackward(dg, du, pick(dh), pick(gate), pick(up), n, "silu");
      return [h, dg, du].map((p) => {
        const bits = new Uint16Array(n);
        device.download(bits, p);
        return bits;
      });
    };
    const [vector, scalar] = [outs(true), outs(false)];
    for (let j = 0; j < 3; j++) assert.deepEqual(vector[j], scalar[j]);
  });

  // 10 007 takes the one-element kernel, 10 008 the 8-at-a-time one
  for (const [act, n] of [["silu", 10_007], ["silu", 10_008], ["gelu_tanh", 10_007], ["gelu_tanh", 10_008]] as const) {
    test(`${act} GLU backward remaking h over dh gives gluBackward's gradients and gluForward's h bit for bit, n = ${n}`, () => {
      const gate = upBf16(bf(random(n, 14, 4)));
      const up = upBf16(bf(random(n, 15, 2)));
      const dhValues = bf(random(n, 16));
      const [h, dg, du, dg2, du2] = [0, 1, 2, 3, 4].map(() => empty(n * 2));
      ops.gluForward(h, gate, up, n, act);
      ops.gluBackward(dg, du, upBf16(dhValues), gate, up, n, act);
      const dhThenH = upBf16(dhValues);
      ops.gluBackwardRemaking(dg2, du2, dhThenH, gate, up, n, act);
      const bits = (p: unknown) => {
        const out = new Uint16Array(n);
        device.download(out, p as never);
        return [...out];
      };
      assert.deepEqual(bits(dg2), bits(dg), "dgate");
      assert.deepEqual(bits(du2), bits(du), "dup");
      assert.deepEqual(bits(dhThenH), bits(h), "h written over dh");
    });
  }

  test("RoPE rotates pairs (i, i + d/2) and its inverse undoes it", () => {
    const tokens = 19;
    const heads = 3;
    const headDim = 64;
    const theta = 1e6;
    const x = bf(random(tokens * heads * headDim, 7));
    const positions = Int32Array.from({ length: tokens }, (_, t) => t * 7 + 3);
    const px = upBf16(x);
    const pp = upRaw(positions);
    ops.rope(px, pp, tokens, heads, headDim, theta);
    const want = new Float64Array(x.length);
    const half = headDim / 2;
    for (let t = 0; t < tokens; t++) {
      for (let h = 0; h < heads; h++) {
        const base = (t * heads + h) * headDim;
        for (let i = 0; i < half; i++) {
          const angle = positions[t] / theta ** ((2 * i) / headDim);
          want[base + i] = x[base + i] * Math.cos(angle) - x[base + i + half] * Math.sin(angle);
          want[base + i + half] = x[base + i + half] * Math.cos(angle) + x[base + i] * Math.sin(angle);
        }
      }
    }
    assert.ok(relErr(downBf16(px, x.length), want) < BF16_TOL);
    ops.rope(px, pp, tokens, heads, headDim, theta, true);
    assert.ok(relErr(downBf16(px, x.length), x) < 2 * BF16_TOL);
  });

  test("RoPE from a table of the step's angles gives rope's bits, both ways", () => {
    const [tokens, heads, headDim, theta] = [37, 4, 128, 1e4];
    const x = encodeBf16(bf(random(tokens * heads * headDim, 11)));
    const pp = upRaw(Int32Array.from({ length: tokens }, (_, t) => (t * 13) % 1024));
    const table = empty((tokens * headDim) / 2 * 8);
    ops.ropeTable(table, pp, tokens, headDim, theta);
    for (const inverse of [false, true]) {
      const [direct, fromTable] = [0, 1].map(() => {
        const b = device.alloc(x.byteLength);
        held.push(b);
        device.upload(b.ptr, x);
        return b.ptr;
      });
      ops.rope(direct, pp, tokens, heads, headDim, theta, inverse);
      ops.ropeFromTable(fromTable, table, tokens, heads, headDim, inverse);
      const [a, b] = [direct, fromTable].map((p) => {
        const bits = new Uint16Array(x.length);
        device.download(bits, p);
        return bits;
      });
      assert.deepEqual(b, a);
      assert.notDeepEqual(a, x); // the rotation did something
    }
  });

  // 49 152 takes the 8-at-a-time kernel, 49 153 the one-element one
  for (const vocab of [49_152, 49_153]) test(`fused cross-entropy gives the loss and (softmax − onehot)·scale, ignoring −100, vocab ${vocab}`, () => {
    const rows = 6;
    const logits = bf(random(rows * vocab, 8, 6));
    const targets = Int32Array.from([5, vocab - 1, -100, 0, 1234, 777]);
    const pl = upBf16(logits);
    const losses = empty(rows * 4);
    const scale = 1 / 5;
    ops.crossEntropy(pl, upRaw(targets), losses, rows, vocab, scale);
    const gotLoss = downF32(losses, rows);
    const gotGrad = downBf16(pl, rows * vocab);
    for (let r = 0; r < rows; r++) {
      const row = logits.subarray(r * vocab, (r + 1) * vocab);
      if (targets[r] < 0) {
        assert.equal(gotLoss[r], 0);
        assert.ok(gotGrad.subarray(r * vocab, (r + 1) * vocab).every((v) => v === 0));
        continue;
      }
      const max = Math.max(...row);
      let sum = 0;
      for (const v of row) sum += Math.exp(v - max);
      const lse = max + Math.log(sum);
      assert.ok(Math.abs(gotLoss[r] - (lse - row[targets[r]])) < 1e-3);
      const want = Array.from(row, (v, i) => (Math.exp(v - lse) - (i === targets[r] ? 1 : 0)) * scale);
      assert.ok(relErr(gotGrad.subarray(r * vocab, (r + 1) * vocab), want) < BF16_TOL);
    }
  });

  test("fused AdamW matches the textbook update, and Σx² reduces across blocks", () => {
    const n = 300_001;
    const p = random(n, 9);
    const g = random(n, 10);
    const m = random(n, 11, 0.1);
    const v = random(n, 12, 0.1).map(Math.abs);
    const pp = upRaw(p);
    const pm = upRaw(m);
    const pv = upRaw(v);
    const pg = upRaw(g);
    const o = { lr: 2e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 3, gradScale: 0.5 };
    ops.adamw(pp, pg, pm, pv, n, o);
    const got = downF32(pp, n);
    const want = Array.from(p, (pi, i) => {
      const gi = g[i] * o.gradScale;
      const mi = o.beta1 * m[i] + (1 - o.beta1) * gi;
      const vi = o.beta2 * v[i] + (1 - o.beta2) * gi * gi;
      const mhat = mi / (1 - o.beta1 ** o.step);
      const vhat = vi / (1 - o.beta2 ** o.step);
      return pi - o.lr * (mhat / (Math.sqrt(vhat) + o.eps) + o.weightDecay * pi);
    });
    assert.ok(relErr(got, want) < 1e-6);
    // out is written, not added to: a stale value there must not survive
    const out = upRaw(Float32Array.of(123));
    const scratch = upRaw(new Float32Array(SUM_SQUARES_BLOCKS));
    ops.sumSquares(out, scratch, pg, n);
    const sumSq = g.reduce((s, x) => s + x * x, 0);
    assert.ok(Math.abs(downF32(out, 1)[0] - sumSq) / sumSq < 1e-5);
  });

  test("AdamW's first step from zero: v = (1 − β2)·g² and each value moves by lr·g/(|g| + eps), as torch's", () => {
    // From p = m = v = 0 the update is the whole new value, so a bias in the moments' weights
    // shows in full: 1 − β2 taken in fp32 (1 − fp32(0.999)) is 1.3e-5 off and moved every value by 6e-6.
    const n = 4097;
    const g = random(n, 14);
    const [pp, pm, pv, pg] = [upRaw(new Float32Array(n)), upRaw(new Float32Array(n)), upRaw(new Float32Array(n)), upRaw(g)];
    const o = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 1, gradScale: 1 };
    ops.adamw(pp, pg, pm, pv, n, o);
    const wantV = Array.from(g, (x) => 0.001 * x * x);
    const wantP = Array.from(g, (x) => -1e-3 * (x / (Math.abs(x) + 1e-8)));
    assert.ok(relErr(downF32(pv, n), wantV) < 1e-6, `v: ${relErr(downF32(pv, n), wantV)}`);
    assert.ok(relErr(downF32(pm, n), Array.from(g, (x) => 0.1 * x)) < 1e-6);
    assert.ok(relErr(downF32(pp, n), wantP) < 1e-6, `p: ${relErr(downF32(pp, n), wantP)}`);
  });

  test("Σx² gives the same bits on every run (the gradient norm a resumed run logs)", () => {
    // 2²² elements: every one of the first pass's blocks has a partial sum, whose order an
    // atomic accumulation would change from run to run
    const n = 1 << 22;
    const x = random(n, 13);
    const px = upRaw(x);
    const out = upRaw(new Float32Array(1));
    const scratch = upRaw(new Float32Array(SUM_SQUARES_BLOCKS));
    const runs = Array.from({ length: 20 }, () => {
      ops.sumSquares(out, scratch, px, n);
      return downF32(out, 1)[0];
    });
    assert.equal(new Set(runs).size, 1, `20 runs gave ${[...new Set(runs)].join(", ")}`);
    const sumSq = x.reduce((s, v) => s + v * v, 0);
    assert.ok(Math.abs(runs[0]! - sumSq) / sumSq < 1e-5);
  });
});
