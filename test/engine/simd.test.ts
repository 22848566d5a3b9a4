import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { dropoutMultiplier } from "../../src/engine/cpu/dropout.js";
import { fastExp } from "../../src/engine/cpu/fast-exp.js";
import { GEMM_KERNEL_WASM_BASE64 } from "../../src/engine/cpu/gemm-kernel-wasm.js";
import { gluBackward, gluBackwardPlain, gluForward, gluForwardPlain } from "../../src/engine/cpu/glu.js";
import { SimdScratch } from "../../src/engine/cpu/simd-exp.js";
import { assertClose, rng } from "./helpers.js";

describe("vector math of the CPU backend", () => {
  it("the vectorised exp matches Math.exp to float32 precision, tail included, and leaves the rest alone", () => {
    const s = new SimdScratch();
    const rand = rng(1);
    const n = 1003;
    const v = s.reserve(n + 2);
    const x = Array.from({ length: n + 2 }, () => rand() * 60 - 50);
    v.set(x);
    s.expSub(1, n, 2.5);
    assert.equal(v[0], Math.fround(x[0]));
    assert.equal(v[n + 1], Math.fround(x[n + 1]));
    for (let i = 1; i <= n; i++) {
      const want = Math.exp(Math.fround(Math.fround(x[i]) - 2.5));
      assert.ok(Math.abs(v[i] - want) <= 3e-7 * want, `e^${x[i] - 2.5}: ${v[i]} vs ${want}`);
    }
  });

  it("the vectorised dropout mask is exactly dropoutMultiplier's", () => {
    const s = new SimdScratch();
    const n = 4099;
    for (const p of [0.05, 0.5]) {
      const v = s.reserve(n);
      v.fill(1, 0, n);
      s.dropout(0, n, 1234, p, 17);
      let dropped = 0;
      for (let i = 0; i < n; i++) {
        assert.equal(v[i], Math.fround(dropoutMultiplier(1234, 17 + i, p)), `index ${i}, p ${p}`);
        if (v[i] === 0) dropped++;
      }
      // the rate is near p (binomial: 5 standard deviations)
      assert.ok(Math.abs(dropped / n - p) < 5 * Math.sqrt((p * (1 - p)) / n), `dropped ${dropped} of ${n} at p ${p}`);
    }
  });

  it("the plain fallback of the scratch gives the same rows as the WASM kernels", () => {
    const rand = rng(4);
    const n = 77;
    const x = Array.from({ length: 2 * n }, () => rand() * 10 - 5);
    const results = [true, false].map((useWasm) => {
      const s = new SimdScratch(useWasm);
      const v = s.reserve(2 * n);
      v.set(x);
      const max = s.max(0, n);
      s.expSub(0, n, max);
      const sum = s.sum(0, n);
      s.scale(0, n, 1 / sum);
      s.subMul(n, 0, n, 0.25);
      s.dropout(n, n, 9, 0.3, 5);
      return { max, sum, v: Array.from(v.subarray(0, 2 * n)) };
    });
    assert.equal(results[0].max, results[1].max);
    assertClose([results[0].sum], [results[1].sum], 1e-6, 0, "sum");
    assertClose(results[0].v, results[1].v, 1e-6, 1e-7, "rows");
  });

  for (const act of ["silu", "gelu_tanh"] as const) {
    it(`the vectorised ${act} gated MLP agrees with the plain one, large gates included`, () => {
      const rand = rng(act.length);
      const n = 1001;
      const gate = Float32Array.from({ length: n }, (_, i) => (i < 10 ? [-100, -60, -30, -9, 0, 9, 30, 60, 100, 1e-3][i] : rand() * 16 - 8));
      const up = Float32Array.from({ length: n }, () => rand() * 2 - 1);
      const dh = Float32Array.from({ length: n }, () => rand() * 2 - 1);
      const out = () => [new Float32Array(n), new Float32Array(n)];
      const [h1, h2] = out();
      gluForward(h1, gate, up, n, act);
      gluForwardPlain(h2, gate, up, n, act);
      assertClose(h1, Array.from(h2), 2e-6, 1e-7, `${act} h`);
      const [dg1, du1] = out();
      const [dg2, du2] = out();
      gluBackward(dg1, du1, dh, gate, up, n, act);
      gluBackwardPlain(dg2, du2, dh, gate, up, n, act);
      assertClose(dg1, Array.from(dg2), 2e-6, 1e-7, `${act} dgate`);
      assertClose(du1, Array.from(du2), 2e-6, 1e-7, `${act} dup`);
    });
  }

  it("the embedded WASM bytes are gemm-kernel.wat assembled", async () => {
    const wabt = await (await import("wabt")).default();
    const wat = readFileSync(new URL("../../src/engine/cpu/gemm-kernel.wat", import.meta.url), "utf8");
    const { buffer } = wabt.parseWat("gemm-kernel.wat", wat, { simd: true, threads: true }).toBinary({});
    assert.equal(Buffer.from(buffer).toString("base64"), GEMM_KERNEL_WASM_BASE64, "run node scripts/build-gemm-wasm.mjs");
  });

  it("fastExp is accurate to 1e-8 relative and handles the edges", () => {
    const rand = rng(2);
    for (let i = 0; i < 10000; i++) {
      const x = rand() * 1400 - 700;
      const want = Math.exp(x);
      assert.ok(Math.abs(fastExp(x) - want) <= 1e-8 * want, `x = ${x}`);
    }
    assert.equal(fastExp(-1000), 0);
    assert.equal(fastExp(1000), Number.POSITIVE_INFINITY);
    assert.ok(Number.isNaN(fastExp(Number.NaN)));
    assert.equal(fastExp(0), 1);
  });
});
