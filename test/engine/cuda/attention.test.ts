import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { type AttentionShape, CudaAttention, attentionPathFromEnv } from "../../../src/engine/cuda/attention.js";
import { decodeBf16, encodeBf16 } from "../../../src/engine/cuda/bf16-host.js";
import type { CudaDevice } from "../../../src/engine/cuda/device.js";
import type { DevicePtr } from "../../../src/engine/cuda/ffi.js";
import { CudaFlashAttention, flashBackwardFromEnv, flashForwardFromEnv, splitsFillingWaves } from "../../../src/engine/cuda/flash-attention.js";
import { openGpuOrSkip } from "./gpu.js";
import { relativeError } from "./reference-gemm.js";

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return decodeBf16(
    encodeBf16(
      Float32Array.from({ length: n }, () => {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        return s / 2 ** 32 - 0.5;
      }),
    ),
  );
}

/**
 * float64 causal attention with GQA and an optional window, forward and backward, on
 * token-major [B, T, heads, d] arrays: the definitions, written out.
 */
function reference(q: Float32Array, k: Float32Array, v: Float32Array, dout: Float32Array, s: AttentionShape) {
  const { batch: B, tokens: T, heads: H, kvHeads: Hkv, headDim: d, scale, window } = s;
  const g = H / Hkv;
  const qi = (b: number, t: number, h: number) => ((b * T + t) * H + h) * d;
  const ki = (b: number, t: number, h: number) => ((b * T + t) * Hkv + h) * d;
  const out = new Float64Array(q.length);
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / g);
      for (let t = 0; t < T; t++) {
        const keys: number[] = [];
        for (let u = 0; u <= t; u++) if (window === 0 || t - u < window) keys.push(u);
        const scores = keys.map((u) => {
          let dot = 0;
          for (let c = 0; c < d; c++) dot += q[qi(b, t, h) + c] * k[ki(b, u, kvh) + c];
          return dot * scale;
        });
        const max = Math.max(...scores);
        const exps = scores.map((x) => Math.exp(x - max));
        const sum = exps.reduce((a, x) => a + x, 0);
        const p = exps.map((x) => x / sum);
        // forward
        keys.forEach((u, j) => {
          for (let c = 0; c < d; c++) out[qi(b, t, h) + c] += p[j] * v[ki(b, u, kvh) + c];
        });
        // backward: dP_j = dO·V_j; dS_j = P_j (dP_j − Σ P dP); dQ += dS_j K_j·scale; dK_j += dS_j Q·scale; dV_j += P_j dO
        const dP = keys.map((u) => {
          let dot = 0;
          for (let c = 0; c < d; c++) dot += dout[qi(b, t, h) + c] * v[ki(b, u, kvh) + c];
          return dot;
        });
        const rowDot = p.reduce((a, pj, j) => a + pj * dP[j], 0);
        keys.forEach((u, j) => {
          const dS = p[j] * (dP[j] - rowDot) * scale;
          for (let c = 0; c < d; c++) {
            dq[qi(b, t, h) + c] += dS * k[ki(b, u, kvh) + c];
            dk[ki(b, u, kvh) + c] += dS * q[qi(b, t, h) + c];
            dv[ki(b, u, kvh) + c] += p[j] * dout[qi(b, t, h) + c];
          }
        });
      }
    }
  }
  return { out, dq, dk, dv };
}


interface Inputs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  dout: Float32Array;
}

/** bf16-exact random inputs of shape s; q scaled by `qScale` (a power of two) for peaked softmax rows. */
function inputsFor(s: AttentionShape, qScale = 1): Inputs {
  const nq = s.batch * s.tokens * s.heads * s.headDim;
  const nk = s.batch * s.tokens * s.kvHeads * s.headDim;
  return { q: random(nq, 1).map((x) => x * qScale), k: random(nk, 2), v: random(nk, 3), dout: random(nq, 4) };
}

const label = (s: AttentionShape) => `B=${s.batch} T=${s.tokens} H=${s.heads}/${s.kvHeads} d=${s.headDim} window=${s.window}`;

test("AGENTTUNE_ATTENTION picks the path (fused when unset); any other value is an input error naming it", () => {
  assert.equal(attentionPathFromEnv({}), "fused");
  assert.equal(attentionPathFromEnv({ AGENTTUNE_ATTENTION: "gemm" }), "gemm");
  assert.equal(attentionPathFromEnv({ AGENTTUNE_ATTENTION: "fused" }), "fused");
  assert.throws(() => attentionPathFromEnv({ AGENTTUNE_ATTENTION: "flash" }), (e: Error) => e.name === "InvalidInputError" && /"flash"/.test(e.message));
});

test("AGENTTUNE_FLASH_FORWARD picks the fused forward's kernel (auto when unset); any other value is an input error naming it", () => {
  assert.equal(flashForwardFromEnv({}), "auto");
  assert.equal(flashForwardFromEnv({ AGENTTUNE_FLASH_FORWARD: "mma" }), "mma");
  assert.equal(flashForwardFromEnv({ AGENTTUNE_FLASH_FORWARD: "wgmma" }), "wgmma");
  assert.throws(() => flashForwardFromEnv({ AGENTTUNE_FLASH_FORWARD: "fa3" }), (e: Error) => e.name === "InvalidInputError" && /"fa3"/.test(e.message));
});

test("AGENTTUNE_FLASH_BACKWARD picks the dK/dV kernel (auto when unset); any other value is an input error naming it", () => {
  assert.equal(flashBackwardFromEnv({}), "auto");
  assert.equal(flashBackwardFromEnv({ AGENTTUNE_FLASH_BACKWARD: "wgmma" }), "wgmma");
  assert.equal(flashBackwardFromEnv({ AGENTTUNE_FLASH_BACKWARD: "mma" }), "mma");
  assert.throws(() => flashBackwardFromEnv({ AGENTTUNE_FLASH_BACKWARD: "fa3" }), (e: Error) => e.name === "InvalidInputError" && /"fa3"/.test(e.message));
});

test("the wgmma dK/dV kernel's splits fill whole waves of the SMs", () => {
  // 7B 4×1024 on 132 SMs: 4 block columns × 4 KV heads × batch 4 = 64 blocks a split
  assert.equal(splitsFillingWaves(64, 132), 2); // 128 blocks: 97 % of one wave
  assert.equal(splitsFillingWaves(32, 132), 4); // 1×2048: 128 blocks
  assert.equal(splitsFillingWaves(200, 132), 3); // 200 and 400 fill 76 % of their waves, 600 fills 91 % of 5
  assert.equal(splitsFillingWaves(132, 132), 1);
  assert.equal(splitsFillingWaves(1, 132), 8); // a tiny grid takes all the splits it may
});

const gpu = openGpuOrSkip();
after(() => gpu.device?.dispose());

/** Forward then backward on the device; out, dq, dk, dv read back. */
function run(device: CudaDevice, attention: CudaAttention, x: Inputs, s: AttentionShape) {
  const [nq, nk] = [x.q.length, x.k.length];
  const buffers = [nq, nk, nk, nq, nq, nq, nk, nk].map((n) => device.alloc(n * 2));
  const [pq, pk, pv, pdo, po, pdq, pdk, pdv] = buffers.map((b) => b.ptr);
  device.upload(pq, encodeBf16(x.q));
  device.upload(pk, encodeBf16(x.k));
  device.upload(pv, encodeBf16(x.v));
  device.upload(pdo, encodeBf16(x.dout));
  const saved = attention.forward(po, pq, pk, pv, s);
  attention.backward(pdq, pdk, pdv, pdo, saved, s);
  saved.free();
  const read = (ptr: DevicePtr, n: number) => {
    const bits = new Uint16Array(n);
    device.download(bits, ptr);
    return decodeBf16(bits);
  };
  const got = { out: read(po, nq), dq: read(pdq, nq), dk: read(pdk, nk), dv: read(pdv, nk) };
  for (const b of buffers) b.free();
  return got;
}

/** Each of out, dq, dk, dv within its bound of the float64 reference (or of another path's result). */
function assertClose(got: Record<string, ArrayLike<number>>, want: Record<string, ArrayLike<number>>, outBound = 1e-2, gradBound = 2e-2) {
  for (const name of ["out", "dq", "dk", "dv"]) {
    const e = relativeError(got[name], want[name]);
    assert.ok(e < (name === "out" ? outBound : gradBound), `${name}: relative error ${e}`);
  }
}

describe("attention on the GPU against a float64 reference", { skip: gpu.skip }, () => {
  const device = gpu.device as CudaDevice;
  const paths = { gemm: new CudaAttention(device, { path: "gemm" }), fused: new CudaAttention(device, { path: "fused" }) };
  const cases: AttentionShape[] = [
    { batch: 2, tokens: 37, heads: 4, kvHeads: 2, headDim: 64, scale: 1 / 8, window: 0 },
    { batch: 1, tokens: 50, heads: 3, kvHeads: 1, headDim: 32, scale: 0.2, window: 16 },
    { batch: 1, tokens: 20, heads: 2, kvHeads: 2, headDim: 256, scale: 1 / 16, window: 0 },
  ];
  for (const [name, attention] of Object.entries(paths)) {
    for (const s of cases) {
      test(`${name} path, ${label(s)}: output and gradients`, () => {
        const x = inputsFor(s);
        assertClose(run(device, attention, x, s), reference(x.q, x.k, x.v, x.dout, s));
      });
    }
  }

  test("head dims without a fused kernel (32, 256) take the GEMM path; 64 and 128 the fused one", () => {
    const s = cases[0];
    assert.deepEqual(
      [32, 64, 128, 256].map((headDim) => paths.fused.pathFor({ ...s, headDim })),
      ["gemm", "fused", "fused", "gemm"],
    );
    assert.equal(paths.gemm.pathFor(s), "gemm");
  });
});

// T not a multiple of the tiles (64 queries, 64 or 32 keys), GQA groups of 1 to 8, windows
// shorter and longer than a tile, batch > 1, and peaked rows (q × 16) for the running max.
const FUSED_CASES: { s: AttentionShape; qScale?: number; splits?: number }[] = [
  { s: { batch: 2, tokens: 77, heads: 4, kvHeads: 2, headDim: 64, scale: 1 / 8, window: 0 } },
  { s: { batch: 1, tokens: 1000, heads: 2, kvHeads: 1, headDim: 64, scale: 1 / 8, window: 0 } },
  { s: { batch: 2, tokens: 200, heads: 8, kvHeads: 1, headDim: 64, scale: 1 / 8, window: 70 }, qScale: 16 },
  { s: { batch: 1, tokens: 5, heads: 1, kvHeads: 1, headDim: 64, scale: 1 / 8, window: 2 } },
  { s: { batch: 3, tokens: 64, heads: 2, kvHeads: 2, headDim: 128, scale: 0.0884, window: 0 } },
  { s: { batch: 2, tokens: 130, heads: 6, kvHeads: 2, headDim: 128, scale: 0.0884, window: 40 }, qScale: 16 },
  { s: { batch: 1, tokens: 1000, heads: 4, kvHeads: 1, headDim: 128, scale: 0.0884, window: 200 } },
  { s: { batch: 2, tokens: 300, heads: 4, kvHeads: 2, headDim: 128, scale: 0.0884, window: 0 }, splits: 1 },
  { s: { batch: 2, tokens: 300, heads: 4, kvHeads: 2, headDim: 64, scale: 1 / 8, window: 0 }, splits: 3 },
];

describe("fused attention against the float64 reference", { skip: gpu.skip }, () => {
  const device = gpu.device as CudaDevice;
  const fused = new CudaAttention(device, { path: "fused" });
  for (const { s, qScale = 1, splits } of FUSED_CASES) {
    const extra = `${qScale === 1 ? "" : `, q × ${qScale}`}${splits === undefined ? "" : `, dK/dV in ${splits} split(s)`}`;
    test(`${label(s)}${extra}: output and gradients`, () => {
      const attention = splits === undefined ? fused : new CudaAttention(device, { path: "fused", dkdvSplits: splits });
      assert.equal(attention.pathFor(s), "fused");
      const x = inputsFor(s, qScale);
      assertClose(run(device, attention, x, s), reference(x.q, x.k, x.v, x.dout, s));
    });
  }

  // (with window 1 the reference's dq and dk are exactly zero, so a relative error means nothing there)
  test("a query that sees only itself (window 1) gets its own value row back", () => {
    const s: AttentionShape = { batch: 1, tokens: 70, heads: 2, kvHeads: 1, headDim: 64, scale: 1 / 8, window: 1 };
    const x = inputsFor(s);
    const { out } = run(device, fused, x, s);
    const d = s.headDim;
    for (let t = 0; t < s.tokens; t++) {
      for (let h = 0; h < s.heads; h++) {
        for (let c = 0; c < d; c++) assert.equal(out[(t * s.heads + h) * d + c], x.v[t * d + c]);
      }
    }
  });

  test("the fused backward is deterministic: two runs give the same bits", () => {
    const s: AttentionShape = { batch: 1, tokens: 257, heads: 4, kvHeads: 1, headDim: 128, scale: 0.0884, window: 0 };
    const x = inputsFor(s);
    const [a, b] = [run(device, fused, x, s), run(device, fused, x, s)];
    for (const name of ["out", "dq", "dk", "dv"] as const) assert.deepEqual(a[name], b[name], name);
  });
});

describe("fused attention against the GEMM path", { skip: gpu.skip }, () => {
  const device = gpu.device as CudaDevice;
  const fused = new CudaAttention(device, { path: "fused" });
  const gemm = new CudaAttention(device, { path: "gemm" });
  for (const s of [
    { batch: 2, tokens: 512, heads: 8, kvHeads: 2, headDim: 128, scale: 0.0884, window: 0 },
    { batch: 1, tokens: 513, heads: 4, kvHeads: 4, headDim: 64, scale: 1 / 8, window: 100 },
    { batch: 4, tokens: 256, heads: 14, kvHeads: 2, headDim: 64, scale: 1 / 8, window: 0 },
  ] as AttentionShape[]) {
    test(`${label(s)}: the same output and gradients`, () => {
      const x = inputsFor(s);
      assertClose(run(device, fused, x, s), run(device, gemm, x, s));
    });
  }
});

const hopper = gpu.device !== undefined && gpu.device.info.computeCapability.join(".") === "9.0";
describe("the wgmma forward (sm_90) against the float64 reference and the mma.sync forward", { skip: gpu.skip || (!hopper && "the wgmma forward needs an sm_90 GPU") }, () => {
  const device = gpu.device as CudaDevice;
  const wgmma = new CudaAttention(device, { path: "fused", flashForward: "wgmma" });
  const mma = new CudaAttention(device, { path: "fused", flashForward: "mma" });
  // the backward runs on the wgmma forward's o and lse, so wrong logsumexps show in every gradient
  for (const { s, qScale = 1 } of FUSED_CASES) {
    test(`${label(s)}${qScale === 1 ? "" : `, q × ${qScale}`}: output and gradients`, () => {
      const x = inputsFor(s, qScale);
      assertClose(run(device, wgmma, x, s), reference(x.q, x.k, x.v, x.dout, s));
    });
  }

  test("the same output and logsumexps as the mma.sync forward, at a training shape", () => {
    const s: AttentionShape = { batch: 2, tokens: 1024, heads: 8, kvHeads: 2, headDim: 128, scale: 0.0884, window: 0 };
    const x = inputsFor(s);
    const nq = x.q.length;
    const inputs = [x.q, x.k, x.v].map((values) => {
      const buffer = device.alloc(values.length * 2);
      device.upload(buffer.ptr, encodeBf16(values));
      return buffer;
    });
    const [q, k, v] = inputs.map((b) => b.ptr);
    const forward = (attention: CudaAttention) => {
      const o = device.alloc(nq * 2);
      const saved = attention.forward(o.ptr, q, k, v, s);
      const out = new Uint16Array(nq);
      device.download(out, o.ptr);
      const lse = new Float32Array(s.batch * s.heads * s.tokens);
      device.download(lse, saved.lse);
      saved.free();
      o.free();
      return { out: decodeBf16(out), lse };
    };
    const [got, want] = [forward(wgmma), forward(mma)];
    for (const b of inputs) b.free();
    assert.ok(relativeError(got.out, want.out) < 5e-3, `out: relative error ${relativeError(got.out, want.out)}`);
    assert.ok(relativeError(got.lse, want.lse) < 1e-5, `lse: relative error ${relativeError(got.lse, want.lse)}`);
  });
});

// Each backward's kernels by name ("auto", the default the other suites run, mixes them on sm_90).
for (const backward of ["mma", "wgmma"] as const) {
  const skip = gpu.skip || (backward === "wgmma" && !hopper && "the wgmma backward needs an sm_90 GPU");
  describe(`the ${backward} backward kernels against the float64 reference`, { skip }, () => {
    const device = gpu.device as CudaDevice;
    const attention = (dkdvSplits?: number) => new CudaAttention(device, { path: "fused", flashForward: "mma", flashBackward: backward, dkdvSplits });
    const unsplit = attention();
    for (const { s, qScale = 1, splits } of FUSED_CASES) {
      const extra = `${qScale === 1 ? "" : `, q × ${qScale}`}${splits === undefined ? "" : `, in ${splits} split(s)`}`;
      test(`${label(s)}${extra}: output and gradients`, () => {
        const x = inputsFor(s, qScale);
        assertClose(run(device, splits === undefined ? unsplit : attention(splits), x, s), reference(x.q, x.k, x.v, x.dout, s));
      });
    }
  });
}

describe("the wgmma backward kernels against the mma.sync ones", { skip: gpu.skip || (!hopper && "the wgmma backward needs an sm_90 GPU") }, () => {
  const device = gpu.device as CudaDevice;
  test("deterministic, and the same dq, dk and dv as the mma.sync kernels at a training shape", () => {
    const s: AttentionShape = { batch: 2, tokens: 1024, heads: 8, kvHeads: 2, headDim: 128, scale: 0.0884, window: 0 };
    const x = inputsFor(s);
    const wgmma = new CudaAttention(device, { path: "fused", flashForward: "mma", flashBackward: "wgmma" });
    const mma = new CudaAttention(device, { path: "fused", flashForward: "mma", flashBackward: "mma" });
    const [a, b, want] = [run(device, wgmma, x, s), run(device, wgmma, x, s), run(device, mma, x, s)];
    for (const name of ["out", "dq", "dk", "dv"] as const) assert.deepEqual(a[name], b[name], name);
    assert.deepEqual(a.out, want.out); // the same forward
    for (const name of ["dq", "dk", "dv"] as const) assert.ok(relativeError(a[name], want[name]) < 5e-3, `${name}: relative error ${relativeError(a[name], want[name])}`);
  });

  test("auto takes wgmma for dQ, for dK/dV at head dim 128 and for the forward at 128; mma for dK/dV and the forward at 64", () => {
    const flash = new CudaFlashAttention(device, { forward: "auto", backward: "auto" });
    assert.deepEqual([flash.dkdvKernel(64), flash.dkdvKernel(128), flash.dqKernel(64), flash.dqKernel(128)], ["mma", "wgmma", "wgmma", "wgmma"]);
    assert.deepEqual([flash.forwardKernelFor(64), flash.forwardKernelFor(128)], ["mma", "wgmma"]);
  });
});
