// The LoRA training decoder against PEFT (test/fixtures/train/lora-grads/, made by
// scripts/fixtures/lora_grads.py) and against finite differences.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Backend } from "../../src/engine/backend.js";
import { createCpuBackend } from "../../src/engine/cpu/backend.js";
import { neftuneMagnitude, neftuneNoise, neftuneSeed } from "../../src/engine/neftune.js";
import { hostModelFromHfFolder } from "../../src/model/host-weights.js";
import { dequantizeNf4, quantizeNf4 } from "../../src/quant/nf4.js";
import { IGNORE_INDEX } from "../../src/train/batches.js";
import { LoraDecoder, type LoraSettings } from "../../src/train/lora-decoder.js";
import type { LoraTarget } from "../../src/train/export-peft.js";
import { readPeftFixture, relError } from "./lora-fixture.js";

const FAMILIES = ["llama", "qwen2", "qwen3", "gemma3_text"];
const ALL: LoraTarget[] = ["q", "k", "v", "o", "gate", "up", "down"];
const fixtureDir = (f: string) => new URL(`../fixtures/decoder/${f}`, import.meta.url).pathname;

const count = (targets: Int32Array) => targets.reduce((n, y) => n + (y === IGNORE_INDEX ? 0 : 1), 0);

/**
 * Twelve LoRA values' gradients against central differences (ε = 1e-2), picked by strides over
 * the parameters and their elements. Every loss runs as forward call `call`: each call draws new
 * dropout masks and NEFTune noise, and rewinding the counter repeats them.
 */
function finiteDifferences(model: LoraDecoder, fx: ReturnType<typeof readPeftFixture>, call: number, paramStride: number, elementStride: number) {
  const loss = () => {
    model.setRandomState({ calls: call });
    return model.lossAndGrad(fx.ids, fx.targets, fx.batch, fx.tokens, 0);
  };
  model.zeroGrad();
  model.setRandomState({ calls: call });
  model.lossAndGrad(fx.ids, fx.targets, fx.batch, fx.tokens, 1);
  const analytic: number[] = [];
  const numeric: number[] = [];
  const params = model.parameters();
  for (let k = 0; k < 12; k++) {
    const p = params[(k * paramStride) % params.length];
    assert.ok(p);
    const i = (k * elementStride) % p.value.length;
    const v = p.value[i] as number;
    const eps = 1e-2;
    p.value[i] = v + eps;
    const up = loss();
    p.value[i] = v - eps;
    const down = loss();
    p.value[i] = v;
    numeric.push((up - down) / (2 * eps));
    analytic.push(p.grad[i] as number);
  }
  return { err: relError(analytic, numeric), analytic, numeric };
}

describe("LoRA decoder against PEFT (float32 base)", () => {
  for (const family of FAMILIES) {
    it(`${family}: the loss and every A and B gradient match PEFT within 1e-4`, () => {
      const fx = readPeftFixture(family);
      const m = hostModelFromHfFolder(fixtureDir(family));
      const settings: LoraSettings = { rank: 4, alpha: 8, dropout: 0, targets: ALL, seed: 0 };
      const model = new LoraDecoder(createCpuBackend(), m.config, m.weights, settings, { baseFormat: "f32" });
      model.setAdapter(fx.values);
      const n = count(fx.targets);
      const sum = model.lossAndGrad(fx.ids, fx.targets, fx.batch, fx.tokens, 1 / n);
      assert.ok(Math.abs(sum / n - fx.loss) <= 1e-4 * Math.abs(fx.loss), `loss ${sum / n} vs PEFT ${fx.loss}`);
      assert.equal(model.parameters().length, fx.grads.size);
      for (const p of model.parameters()) {
        const ref = fx.grads.get(p.name);
        assert.ok(ref, `PEFT has a gradient for ${p.name}`);
        const err = relError(p.grad, ref);
        assert.ok(err <= 1e-4, `${p.name}: relative error ${err.toExponential(2)}`);
      }
    });
  }
});

describe("LoRA decoder", () => {
  it("gradients with dropout match central finite differences (qwen3: qk-norm; gemma3: sandwich norms, sliding window)", () => {
    for (const family of ["qwen3", "gemma3_text"]) {
      const fx = readPeftFixture(family);
      const m = hostModelFromHfFolder(fixtureDir(family));
      const model = new LoraDecoder(createCpuBackend(), m.config, m.weights, { rank: 4, alpha: 8, dropout: 0.3, targets: ALL, seed: 5 }, { baseFormat: "f32" });
      model.setAdapter(fx.values);
      const { err, analytic, numeric } = finiteDifferences(model, fx, 7, 7, 131);
      assert.ok(err < 1e-2, `${family}: finite-difference relative error ${err.toExponential(2)} (analytic ${analytic.slice(0, 4)}, numeric ${numeric.slice(0, 4)})`);
    }
  });

  it("NEFTune adds neftuneNoise to the embeddings the first layer reads, and alpha 0 changes nothing", () => {
    const fx = readPeftFixture("qwen2");
    const m = hostModelFromHfFolder(fixtureDir("qwen2"));
    const d = m.config.hiddenSize;
    const N = fx.batch * fx.tokens;
    // the first rmsnormForward of a step reads the embeddings (plus the noise): capture that input
    const firstInputs = (settings: LoraSettings) => {
      const cpu = createCpuBackend();
      const seen: Float32Array[] = [];
      const spy: Backend = new Proxy(cpu, {
        get(target, key, receiver) {
          if (key !== "rmsnormForward") return Reflect.get(target, key, receiver);
          return (...args: Parameters<Backend["rmsnormForward"]>) => {
            seen.push(Float32Array.from(cpu.download(args[2]) as Float32Array));
            return cpu.rmsnormForward(...args);
          };
        },
      });
      const model = new LoraDecoder(spy, m.config, m.weights, settings, { baseFormat: "f32" });
      model.setAdapter(fx.values);
      const losses = [0, 1].map(() => model.lossAndGrad(fx.ids, fx.targets, fx.batch, fx.tokens, 1));
      return { x: seen[0] as Float32Array, losses, perStep: seen.length / 2 };
    };
    const plain: LoraSettings = { rank: 4, alpha: 8, dropout: 0, targets: ALL, seed: 11 };
    const off = firstInputs(plain);
    const zero = firstInputs({ ...plain, neftuneAlpha: 0 });
    assert.deepEqual(zero.losses, off.losses);
    const on = firstInputs({ ...plain, neftuneAlpha: 5 });
    const noise = neftuneNoise(neftuneSeed(11, 0), N * d, neftuneMagnitude(5, fx.tokens, d));
    assert.equal(on.x.length, N * d);
    for (let i = 0; i < N * d; i++) assert.equal(on.x[i], Math.fround((off.x[i] as number) + (noise[i] as number)), `element ${i}`);
    // the second call draws other noise, so its loss moves by another amount
    assert.notEqual(on.losses[0], off.losses[0]);
    assert.notEqual(on.losses[1] - off.losses[1], on.losses[0] - off.losses[0]);
  });

  it("gradients with NEFTune match central finite differences (the noise of a call is fixed by the call counter)", () => {
    const fx = readPeftFixture("llama");
    const m = hostModelFromHfFolder(fixtureDir("llama"));
    const model = new LoraDecoder(createCpuBackend(), m.config, m.weights, { rank: 4, alpha: 8, dropout: 0, targets: ALL, seed: 2, neftuneAlpha: 15 }, { baseFormat: "f32" });
    model.setAdapter(fx.values);
    const { err } = finiteDifferences(model, fx, 3, 5, 97);
    assert.ok(err < 1e-2, `finite-difference relative error ${err.toExponential(2)}`);
  });

  it("refuses a negative NEFTune alpha, naming the flag", () => {
    const m = hostModelFromHfFolder(fixtureDir("llama"));
    assert.throws(() => new LoraDecoder(createCpuBackend(), m.config, m.weights, { rank: 2, alpha: 4, dropout: 0, targets: ["q"], seed: 0, neftuneAlpha: -1 }), /NEFTune noise alpha must be a number ≥ 0, got -1/);
  });

  it("an NF4 base computes exactly what an f32 base of the dequantised weights computes", () => {
    const fx = readPeftFixture("qwen2");
    const m = hostModelFromHfFolder(fixtureDir("qwen2"));
    const dequantised = new Map(m.weights);
    for (const [name, w] of m.weights) {
      if (!/_proj\.weight$/.test(name)) continue;
      const [rows, cols] = w.shape as [number, number];
      dequantised.set(name, { shape: w.shape, data: dequantizeNf4(quantizeNf4(w.data, rows, cols)) });
    }
    const settings: LoraSettings = { rank: 4, alpha: 8, dropout: 0, targets: ALL, seed: 0 };
    const nf4 = new LoraDecoder(createCpuBackend(), m.config, m.weights, settings, { baseFormat: "nf4" });
    const f32 = new LoraDecoder(createCpuBackend(), m.config, dequantised, settings, { baseFormat: "f32" });
    nf4.setAdapter(fx.values);
    f32.setAdapter(fx.values);
    const a = nf4.lossAndGrad(fx.ids, fx.targets, fx.batch, fx.tokens, 1);
    const b = f32.lossAndGrad(fx.ids, fx.targets, fx.batch, fx.tokens, 1);
    assert.equal(a, b);
    const pa = nf4.parameters();
    const pb = f32.parameters();
    for (let i = 0; i < pa.length; i++) assert.deepEqual(pa[i]?.grad, pb[i]?.grad, pa[i]?.name);
  });

  it("an NF4 base kept expanded between uses gives the bits of one expanded at every use, step after step", () => {
    const fx = readPeftFixture("llama");
    const m = hostModelFromHfFolder(fixtureDir("llama"));
    const settings: LoraSettings = { rank: 4, alpha: 8, dropout: 0.2, targets: ALL, seed: 1 };
    const uploads = { kept: 0, each: 0 };
    const counting = (key: keyof typeof uploads): Backend => {
      const be = createCpuBackend();
      return new Proxy(be, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver);
          if (prop !== "upload" || typeof v !== "function") return v;
          return (t: Parameters<Backend["upload"]>[0], data: Parameters<Backend["upload"]>[1]) => {
            if (t.shape.length === 2 && data.length >= 64 && data.length === (t.shape[0] as number) * (t.shape[1] as number)) uploads[key]++;
            return v.call(target, t, data);
          };
        },
      });
    };
    const kept = new LoraDecoder(counting("kept"), m.config, m.weights, settings, { baseFormat: "nf4", keepExpanded: true });
    const each = new LoraDecoder(counting("each"), m.config, m.weights, settings, { baseFormat: "nf4" });
    kept.setAdapter(fx.values);
    each.setAdapter(fx.values);
    for (let step = 0; step < 2; step++) {
      kept.zeroGrad();
      each.zeroGrad();
      assert.equal(kept.lossAndGrad(fx.ids, fx.targets, fx.batch, fx.tokens, 1), each.lossAndGrad(fx.ids, fx.targets, fx.batch, fx.tokens, 1), `step ${step}`);
      const pa = kept.parameters();
      const pb = each.parameters();
      for (let i = 0; i < pa.length; i++) assert.deepEqual(pa[i]?.grad, pb[i]?.grad, `step ${step}: ${pa[i]?.name}`);
    }
    // the kept decoder uploaded fewer matrices: its projections once, not at every use
    assert.ok(uploads.kept < uploads.each, `${uploads.kept} uploads kept against ${uploads.each} expanded each use`);
    kept.dispose();
    each.dispose();
  });

  it("starts as the base model (B = 0), with A Kaiming-uniform within ±1/√in, and names its tensors as PEFT does", () => {
    const m = hostModelFromHfFolder(fixtureDir("llama"));
    const model = new LoraDecoder(createCpuBackend(), m.config, m.weights, { rank: 4, alpha: 8, dropout: 0, targets: ["q", "v"], seed: 3 }, { baseModel: "tiny-llama" });
    const names = model.parameters().map((p) => p.name);
    assert.deepEqual(names.slice(0, 4), [
      "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
      "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
      "base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight",
      "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight",
    ]);
    for (const p of model.parameters()) {
      const bound = 1 / Math.sqrt(p.shape[1] as number);
      if (p.name.includes("lora_B")) assert.ok(p.value.every((x) => x === 0));
      else {
        assert.ok(p.value.every((x) => Math.abs(x) <= bound));
        assert.ok(p.value.some((x) => x !== 0));
      }
    }
    const adapter = model.adapter();
    assert.equal(adapter.baseModel, "tiny-llama");
    assert.deepEqual(adapter.targets, ["q_proj", "v_proj"]);
    assert.equal(adapter.tensors.size, 2 * 2 * m.config.numLayers);
  });

  it("refuses a batch whose ids fall outside the vocabulary, naming the id", () => {
    const m = hostModelFromHfFolder(fixtureDir("llama"));
    const model = new LoraDecoder(createCpuBackend(), m.config, m.weights, { rank: 2, alpha: 4, dropout: 0, targets: ["q"], seed: 0 });
    assert.throws(() => model.lossAndGrad(Int32Array.of(1, 99999), Int32Array.of(2, -100), 1, 2, 1), /token id 99999 is outside the vocabulary/);
  });
});
