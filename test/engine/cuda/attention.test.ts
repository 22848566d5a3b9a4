import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { type AttentionShape, CudaAttention } from "../../../src/engine/cuda/attention.js";
import { decodeBf16, encodeBf16 } from "../../../src/engine/cuda/bf16-host.js";
import type { CudaDevice } from "../../../src/engine/cuda/device.js";
import { openGpuOrSkip } from "./gpu.js";

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

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return Math.sqrt(num / den);
}

const gpu = openGpuOrSkip();
after(() => gpu.device?.dispose());

describe("attention on the GPU against a float64 reference", { skip: gpu.skip }, () => {
  const device = gpu.device as CudaDevice;
  const attention = new CudaAttention(device);
  const cases: AttentionShape[] = [
    { batch: 2, tokens: 37, heads: 4, kvHeads: 2, headDim: 64, scale: 1 / 8, window: 0 },
    { batch: 1, tokens: 50, heads: 3, kvHeads: 1, headDim: 32, scale: 0.2, window: 16 },
    { batch: 1, tokens: 20, heads: 2, kvHeads: 2, headDim: 256, scale: 1 / 16, window: 0 },
  ];
  for (const s of cases) {
    test(`B=${s.batch} T=${s.tokens} H=${s.heads}/${s.kvHeads} d=${s.headDim} window=${s.window}: output and gradients`, () => {
      const nq = s.batch * s.tokens * s.heads * s.headDim;
      const nk = s.batch * s.tokens * s.kvHeads * s.headDim;
      const q = random(nq, 1);
      const k = random(nk, 2);
      const v = random(nk, 3);
      const dout = random(nq, 4);
      const want = reference(q, k, v, dout, s);
      const buffers = [nq, nk, nk, nq, nq, nq, nk, nk].map((n) => device.alloc(n * 2));
      const [pq, pk, pv, pdo, po, pdq, pdk, pdv] = buffers.map((b) => b.ptr);
      device.upload(pq, encodeBf16(q));
      device.upload(pk, encodeBf16(k));
      device.upload(pv, encodeBf16(v));
      device.upload(pdo, encodeBf16(dout));
      const saved = attention.forward(po, pq, pk, pv, s);
      attention.backward(pdq, pdk, pdv, pdo, saved, s);
      saved.free();
      const read = (ptr: unknown, n: number) => {
        const bits = new Uint16Array(n);
        device.download(bits, ptr as never);
        return decodeBf16(bits);
      };
      assert.ok(relErr(read(po, nq), want.out) < 1e-2, `out ${relErr(read(po, nq), want.out)}`);
      assert.ok(relErr(read(pdq, nq), want.dq) < 2e-2, `dq ${relErr(read(pdq, nq), want.dq)}`);
      assert.ok(relErr(read(pdk, nk), want.dk) < 2e-2, `dk ${relErr(read(pdk, nk), want.dk)}`);
      assert.ok(relErr(read(pdv, nk), want.dv) < 2e-2, `dv ${relErr(read(pdv, nk), want.dv)}`);
      for (const b of buffers) b.free();
    });
  }
});
