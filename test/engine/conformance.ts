// The conformance suite of the engine's backends: every layer, forward and backward, against the
// PyTorch fixtures (test/fixtures/engine/layers.json, made by scripts/fixtures/layers.py) and
// against central finite differences. test/engine/cpu.test.ts runs it on `cpu`; cuda.test.ts on
// `cuda` where a GPU is present, with bf16 tolerances.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { AttentionShape, Backend, GluActivation, LoraShape, Tensor } from "../../src/engine/backend.js";
import { assertClose, randomF32, rng } from "./helpers.js";

/** Tolerances of one backend: fixtures (|a − e| ≤ atol + rtol·|e|) and finite differences (relative error of the gradient vector). */
export interface ConformanceOptions {
  rtol: number;
  atol: number;
  fdTolerance: number;
}

export const CPU_TOLERANCES: ConformanceOptions = { rtol: 1e-4, atol: 1e-5, fdTolerance: 1e-2 };

// biome-ignore lint/suspicious/noExplicitAny: fixture JSON
type Fixture = Record<string, any>;
const FIXTURES: Record<string, Fixture> = JSON.parse(readFileSync(new URL("../fixtures/engine/layers.json", import.meta.url), "utf8"));

/**
 * Registers the suite for one backend. `factory` may throw or return null: the suite is then
 * skipped with that reason (no GPU, no library).
 */
export function runConformance(name: string, factory: () => Backend | Promise<Backend>, opts: ConformanceOptions = CPU_TOLERANCES): void {
  describe(`${name} backend conformance`, () => {
    let be: Backend;
    before(async () => {
      be = await factory();
    });
    after(() => be?.dispose());

    const { rtol, atol } = opts;
    const f32 = (data: ArrayLike<number>, shape: number[] = [data.length]): Tensor => {
      const t = be.alloc(shape, "f32");
      be.upload(t, Float32Array.from(data));
      return t;
    };
    const i32 = (data: ArrayLike<number>): Tensor => {
      const t = be.alloc([data.length], "i32");
      be.upload(t, Int32Array.from(data));
      return t;
    };
    const zeros = (n: number): Tensor => be.alloc([n], "f32");
    const get = (t: Tensor) => be.download(t) as Float32Array;
    const close = (t: Tensor, expected: number[], label: string) => assertClose(get(t), expected, rtol, atol, label);

    /**
     * Central differences of L = Σ run(inputs) · dout at a few coordinates of each input,
     * compared with the analytic gradients as vectors.
     */
    const gradCheck = (label: string, inputs: Record<string, Float32Array>, run: (x: Record<string, Float32Array>) => Float32Array, analytic: Record<string, Float32Array>, dout: Float32Array, eps = 1e-2) => {
      const rand = rng(99);
      const loss = () => {
        const out = run(inputs);
        let s = 0;
        for (let i = 0; i < out.length; i++) s += out[i] * dout[i];
        return s;
      };
      for (const [key, g] of Object.entries(analytic)) {
        const x = inputs[key];
        const picks = new Set<number>();
        while (picks.size < Math.min(12, x.length)) picks.add(Math.floor(rand() * x.length));
        let num = 0;
        let den = 0;
        for (const i of picks) {
          const old = x[i];
          x[i] = old + eps;
          const lp = loss();
          x[i] = old - eps;
          const lm = loss();
          x[i] = old;
          const fd = (lp - lm) / (2 * eps);
          num += (fd - g[i]) ** 2;
          den += fd ** 2;
        }
        const rel = Math.sqrt(num) / (Math.sqrt(den) + 1e-3);
        assert.ok(rel <= opts.fdTolerance, `${label}: d/d${key} differs from finite differences by ${rel.toExponential(2)} (relative)`);
      }
    };

    it("matmul with transposes, alpha and beta matches a float64 product", () => {
      const rand = rng(7);
      for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
        const m = 13;
        const n = 11;
        const k = 17;
        const a = randomF32(rand, m * k);
        const b = randomF32(rand, k * n);
        const c0 = randomF32(rand, m * n);
        const c = f32(c0);
        be.matmul(c, f32(a), f32(b), m, n, k, { transA: tA, transB: tB, alpha: 0.5, beta: -2 });
        const want = new Float64Array(m * n);
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let p = 0; p < k; p++) s += (tA ? a[p * m + i] : a[i * k + p]) * (tB ? b[j * k + p] : b[p * n + j]);
            want[i * n + j] = 0.5 * s - 2 * c0[i * n + j];
          }
        assertClose(get(c), Array.from(want), rtol, atol * 10, `matmul transA=${tA} transB=${tB}`);
      }
    });

    it("embedding gathers scaled rows and scatter-adds its gradient like PyTorch and finite differences", () => {
      const f = FIXTURES.embedding;
      const out = zeros(f.T * f.D);
      be.embeddingForward(out, f32(f.table), i32(f.ids), f.T, f.D, f.scale);
      close(out, f.out, "embedding out");
      const dtable = zeros(f.V * f.D);
      be.embeddingBackward(dtable, f32(f.dout), i32(f.ids), f.T, f.D, f.scale);
      close(dtable, f.dtable, "embedding dtable");
      gradCheck(
        "embedding",
        { table: Float32Array.from(f.table) },
        (v) => {
          const o = zeros(f.T * f.D);
          be.embeddingForward(o, f32(v.table), i32(f.ids), f.T, f.D, f.scale);
          return get(o);
        },
        { table: get(dtable) },
        Float32Array.from(f.dout),
      );
    });

    for (const key of ["rmsnorm", "rmsnorm_gemma"]) {
      it(`${key === "rmsnorm" ? "RMSNorm" : "Gemma's (1+w) RMSNorm"} forward and backward match PyTorch and finite differences`, () => {
        const f = FIXTURES[key];
        const n = f.rows * f.dim;
        const out = zeros(n);
        const rstd = zeros(f.rows);
        const x = f32(f.x);
        const w = f32(f.weight);
        be.rmsnormForward(out, rstd, x, w, f.rows, f.dim, f.eps, f.unitOffset);
        close(out, f.out, `${key} out`);
        close(rstd, f.rstd, `${key} rstd`);
        const dx = zeros(n);
        const dw = zeros(f.dim);
        be.rmsnormBackward(dx, dw, f32(f.dout), x, w, rstd, f.rows, f.dim, f.unitOffset);
        close(dx, f.dx, `${key} dx`);
        close(dw, f.dweight, `${key} dweight`);
        gradCheck(
          key,
          { x: Float32Array.from(f.x), weight: Float32Array.from(f.weight) },
          (v) => {
            const o = zeros(n);
            be.rmsnormForward(o, zeros(f.rows), f32(v.x), f32(v.weight), f.rows, f.dim, f.eps, f.unitOffset);
            return get(o);
          },
          { x: get(dx), weight: get(dw) },
          Float32Array.from(f.dout),
        );
      });
    }

    it("RoPE matches transformers' apply_rotary_pos_emb and its backward is the inverse rotation", () => {
      const f = FIXTURES.rope;
      const x = f32(f.x);
      const pos = i32(f.positions);
      be.ropeForward(x, pos, f.tokens, f.heads, f.headDim, f.theta);
      close(x, f.out, "rope out");
      const dx = f32(f.dout);
      be.ropeBackward(dx, pos, f.tokens, f.heads, f.headDim, f.theta);
      close(dx, f.dx, "rope dx");
      gradCheck(
        "rope",
        { x: Float32Array.from(f.x) },
        (v) => {
          const t = f32(v.x);
          be.ropeForward(t, pos, f.tokens, f.heads, f.headDim, f.theta);
          return get(t);
        },
        { x: get(dx) },
        Float32Array.from(f.dout),
      );
    });

    for (const key of ["attention", "attention_window"]) {
      it(`causal GQA attention${key === "attention" ? "" : " with a sliding window"} matches PyTorch and finite differences`, () => {
        const f = FIXTURES[key];
        const s: AttentionShape = { batch: f.batch, tokens: f.tokens, heads: f.heads, kvHeads: f.kvHeads, headDim: f.headDim, scale: f.scale, window: f.window };
        const nq = f.batch * f.tokens * f.heads * f.headDim;
        const nk = f.batch * f.tokens * f.kvHeads * f.headDim;
        const [q, k, v] = [f32(f.q), f32(f.k), f32(f.v)];
        const out = zeros(nq);
        const lse = zeros(f.batch * f.heads * f.tokens);
        be.attentionForward(out, lse, q, k, v, s);
        close(out, f.out, `${key} out`);
        close(lse, f.lse, `${key} lse`);
        const [dq, dk, dv] = [zeros(nq), zeros(nk), zeros(nk)];
        be.attentionBackward(dq, dk, dv, f32(f.dout), q, k, v, out, lse, s);
        close(dq, f.dq, `${key} dq`);
        close(dk, f.dk, `${key} dk`);
        close(dv, f.dv, `${key} dv`);
        gradCheck(
          key,
          { q: Float32Array.from(f.q), k: Float32Array.from(f.k), v: Float32Array.from(f.v) },
          (x) => {
            const o = zeros(nq);
            be.attentionForward(o, zeros(f.batch * f.heads * f.tokens), f32(x.q), f32(x.k), f32(x.v), s);
            return get(o);
          },
          { q: get(dq), k: get(dk), v: get(dv) },
          Float32Array.from(f.dout),
        );
      });
    }

    it("attention over longer sequences than one query block matches a direct computation", () => {
      // 300 tokens: three query blocks, window 70 crossing block edges
      const rand = rng(5);
      const s: AttentionShape = { batch: 1, tokens: 300, heads: 2, kvHeads: 1, headDim: 4, scale: 0.5, window: 70 };
      const q = randomF32(rand, 300 * 2 * 4);
      const k = randomF32(rand, 300 * 4);
      const v = randomF32(rand, 300 * 4);
      const out = zeros(q.length);
      be.attentionForward(out, zeros(600), f32(q), f32(k), f32(v), s);
      const want = new Float64Array(q.length);
      for (let h = 0; h < 2; h++)
        for (let i = 0; i < 300; i++) {
          const w: number[] = [];
          for (let j = Math.max(0, i - 69); j <= i; j++) {
            let d = 0;
            for (let c = 0; c < 4; c++) d += q[(i * 2 + h) * 4 + c] * k[j * 4 + c];
            w.push(d * 0.5);
          }
          const m = Math.max(...w);
          const e = w.map((x) => Math.exp(x - m));
          const z = e.reduce((a, b) => a + b, 0);
          for (let c = 0; c < 4; c++) {
            let acc = 0;
            e.forEach((p, t) => {
              acc += (p / z) * v[(Math.max(0, i - 69) + t) * 4 + c];
            });
            want[(i * 2 + h) * 4 + c] = acc;
          }
        }
      assertClose(get(out), Array.from(want), rtol, atol * 10, "long attention out");
    });

    it("attention over a KV cache, in one call or in chunks, equals causal attention (GQA, window, d 80; 150 keys, more than a block's warps take in one round)", () => {
      // the reference is attentionForward of this same backend, checked above against PyTorch
      const rand = rng(6);
      for (const [T, d, chunks, window] of [
        [37, 80, [1, 12, 1, 1, 22], 0],
        [37, 80, [1, 12, 1, 1, 22], 9],
        [150, 64, [1, 60, 1, 1, 87], 0],
        [150, 64, [1, 60, 1, 1, 87], 70],
      ] as const) {
        const [H, Hkv] = [4, 2];
        const s: AttentionShape = { batch: 1, tokens: T, heads: H, kvHeads: Hkv, headDim: d, scale: 0.3, window };
        const q = randomF32(rand, T * H * d);
        const k = randomF32(rand, T * Hkv * d);
        const v = randomF32(rand, T * Hkv * d);
        const want = zeros(q.length);
        be.attentionForward(want, zeros(T * H), f32(q), f32(k), f32(v), s);
        // the cache is larger than needed; the query rows sit at an offset in their tensor
        const [kc, vc] = [zeros((T + 13) * Hkv * d), zeros((T + 13) * Hkv * d)];
        const [qt, kt, vt] = [f32([...new Float32Array(3 * H * d), ...q]), f32(k), f32(v)];
        const out = zeros(q.length + 3 * H * d);
        let start = 0;
        for (const rows of chunks) {
          be.copyRows(kc, start, kt, start, rows, Hkv * d);
          be.copyRows(vc, start, vt, start, rows, Hkv * d);
          be.cachedAttention(out, qt, 3 + start, kc, vc, { rows, start, heads: H, kvHeads: Hkv, headDim: d, scale: 0.3, window });
          start += rows;
        }
        assert.equal(start, T);
        assertClose(get(out).subarray(3 * H * d), Array.from(get(want)), rtol, atol * 10, `cached attention, ${T} keys, window ${window}`);
      }
    });

    it("copyRows moves whole rows between tensors and refuses rows outside them", () => {
      const src = f32([1, 2, 3, 4, 5, 6], [3, 2]);
      const dst = zeros(8);
      be.copyRows(dst, 2, src, 1, 2, 2);
      assert.deepEqual(Array.from(get(dst)), [0, 0, 0, 0, 3, 4, 5, 6]);
      assert.throws(() => be.copyRows(dst, 3, src, 1, 2, 2), /outside the tensors/);
      assert.throws(() => be.cachedAttention(zeros(8), zeros(8), 0, zeros(4), zeros(4), { rows: 2, start: 0, heads: 1, kvHeads: 1, headDim: 4, scale: 1, window: 0 }), /kCache holds 4 elements, the op needs 8/);
    });

    for (const [key, act] of [
      ["glu_silu", "silu"],
      ["glu_gelu_tanh", "gelu_tanh"],
    ] as [string, GluActivation][]) {
      it(`${act === "silu" ? "SwiGLU" : "GeGLU with tanh GELU"} forward and backward match PyTorch and finite differences`, () => {
        const f = FIXTURES[key];
        const h = zeros(f.n);
        be.gluForward(h, f32(f.gate), f32(f.up), f.n, act);
        close(h, f.h, `${key} h`);
        const [dg, du] = [zeros(f.n), zeros(f.n)];
        be.gluBackward(dg, du, f32(f.dh), f32(f.gate), f32(f.up), f.n, act);
        close(dg, f.dgate, `${key} dgate`);
        close(du, f.dup, `${key} dup`);
        gradCheck(
          key,
          { gate: Float32Array.from(f.gate), up: Float32Array.from(f.up) },
          (x) => {
            const o = zeros(f.n);
            be.gluForward(o, f32(x.gate), f32(x.up), f.n, act);
            return get(o);
          },
          { gate: get(dg), up: get(du) },
          Float32Array.from(f.dh),
        );
      });
    }

    it("linear with bias matches PyTorch and finite differences for dx, dW and db", () => {
      const f = FIXTURES.linear;
      const y = zeros(f.rows * f.outF);
      be.linearForward(y, f32(f.x), f32(f.w), f32(f.b), f.rows, f.inF, f.outF);
      close(y, f.y, "linear y");
      const [dx, dw, db] = [zeros(f.rows * f.inF), zeros(f.outF * f.inF), zeros(f.outF)];
      be.linearBackward(dx, dw, db, f32(f.dy), f32(f.x), f32(f.w), f.rows, f.inF, f.outF);
      close(dx, f.dx, "linear dx");
      close(dw, f.dw, "linear dw");
      close(db, f.db, "linear db");
      gradCheck(
        "linear",
        { x: Float32Array.from(f.x), w: Float32Array.from(f.w), b: Float32Array.from(f.b) },
        (v) => {
          const o = zeros(f.rows * f.outF);
          be.linearForward(o, f32(v.x), f32(v.w), f32(v.b), f.rows, f.inF, f.outF);
          return get(o);
        },
        { x: get(dx), w: get(dw), b: get(db) },
        Float32Array.from(f.dy),
      );
    });

    it("parameter gradients accumulate across calls while dx is overwritten", () => {
      const f = FIXTURES.linear;
      const [dx, dw, db] = [zeros(f.rows * f.inF), zeros(f.outF * f.inF), zeros(f.outF)];
      for (let i = 0; i < 2; i++) be.linearBackward(dx, dw, db, f32(f.dy), f32(f.x), f32(f.w), f.rows, f.inF, f.outF);
      close(dx, f.dx, "dx after two calls");
      close(dw, f.dw.map((x: number) => 2 * x), "dw after two calls");
      close(db, f.db.map((x: number) => 2 * x), "db after two calls");
    });

    it("residual add and accumulate add elementwise", () => {
      const out = zeros(3);
      be.residualForward(out, f32([1, 2, 3]), f32([0.5, -2, 4]), 3);
      assert.deepEqual(Array.from(get(out)), [1.5, 0, 7]);
      be.accumulate(out, f32([1, 1, 1]), 3);
      assert.deepEqual(Array.from(get(out)), [2.5, 1, 8]);
    });

    it("cross-entropy with ignore index -100 matches PyTorch's mean loss and gradient", () => {
      const f = FIXTURES.cross_entropy;
      const losses = zeros(f.rows);
      const dl = zeros(f.rows * f.vocab);
      const loss = be.crossEntropy(losses, dl, f32(f.logits), i32(f.targets), f.rows, f.vocab);
      assertClose([loss], [f.loss], rtol, atol, "cross-entropy loss");
      close(losses, f.losses, "cross-entropy losses");
      close(dl, f.dlogits, "cross-entropy dlogits");
      // in place: dlogits aliasing the logits
      const logits = f32(f.logits);
      be.crossEntropy(zeros(f.rows), logits, logits, i32(f.targets), f.rows, f.vocab);
      close(logits, f.dlogits, "cross-entropy dlogits in place");
      gradCheck(
        "cross-entropy",
        { logits: Float32Array.from(f.logits) },
        (v) => Float32Array.of(be.crossEntropy(zeros(f.rows), null, f32(v.logits), i32(f.targets), f.rows, f.vocab)),
        { logits: get(dl) },
        Float32Array.of(1),
      );
    });

    it("LoRA linear matches PEFT's forward and its x, A and B gradients", () => {
      const f = FIXTURES.lora;
      const s: LoraShape = { rows: f.rows, inF: f.inF, outF: f.outF, rank: f.rank, scaling: f.scaling, dropout: 0, seed: 0 };
      const y = zeros(f.rows * f.outF);
      const h = zeros(f.rows * f.rank);
      const [x, w, b, a, bl] = [f32(f.x), f32(f.w), f32(f.b), f32(f.a), f32(f.bLora)];
      be.loraForward(y, h, x, w, b, a, bl, s);
      close(y, f.y, "lora y");
      const [dx, dA, dB] = [zeros(f.rows * f.inF), zeros(f.rank * f.inF), zeros(f.outF * f.rank)];
      be.loraBackward(dx, dA, dB, f32(f.dy), x, w, a, bl, h, s);
      close(dx, f.dx, "lora dx");
      close(dA, f.dA, "lora dA");
      close(dB, f.dB, "lora dB");
    });

    it("LoRA linear with seeded dropout passes finite differences for x, A and B", () => {
      const rand = rng(11);
      const s: LoraShape = { rows: 5, inF: 7, outF: 6, rank: 3, scaling: 2, dropout: 0.3, seed: 42 };
      const v = {
        x: randomF32(rand, s.rows * s.inF),
        w: randomF32(rand, s.outF * s.inF),
        a: randomF32(rand, s.rank * s.inF),
        b: randomF32(rand, s.outF * s.rank),
      };
      const dy = randomF32(rand, s.rows * s.outF);
      const run = (x: Record<string, Float32Array>) => {
        const o = zeros(s.rows * s.outF);
        be.loraForward(o, zeros(s.rows * s.rank), f32(x.x), f32(x.w), null, f32(x.a), f32(x.b), s);
        return get(o);
      };
      const h = zeros(s.rows * s.rank);
      be.loraForward(zeros(s.rows * s.outF), h, f32(v.x), f32(v.w), null, f32(v.a), f32(v.b), s);
      const [dx, dA, dB] = [zeros(s.rows * s.inF), zeros(s.rank * s.inF), zeros(s.outF * s.rank)];
      be.loraBackward(dx, dA, dB, f32(dy), f32(v.x), f32(v.w), f32(v.a), f32(v.b), h, s);
      gradCheck("lora dropout", v, run, { x: get(dx), a: get(dA), b: get(dB) }, dy);
      // the mask is the same on every call and really drops some inputs
      assert.deepEqual(Array.from(run(v)), Array.from(run(v)));
      const noDrop = { ...s, dropout: 0 };
      const o2 = zeros(s.rows * s.outF);
      be.loraForward(o2, zeros(s.rows * s.rank), f32(v.x), f32(v.w), null, f32(v.a), f32(v.b), noDrop);
      assert.notDeepEqual(Array.from(get(o2)), Array.from(run(v)));
    });
  });
}
