import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { createCpuBackend } from "../../src/engine/cpu/backend.js";
import { Decoder, type HostWeight } from "../../src/model/decoder.js";
import { loadHfFolder } from "../../src/model/hf-folder.js";
import { openSafetensors } from "../../src/model/safetensors.js";
import { dequantizeNf4, quantizeNf4 } from "../../src/quant/nf4.js";
import { SKIP_NO_SMOLLM2, SMOLLM2_GGUF } from "../helpers/real-models.js";

const FIX = join(import.meta.dirname, "../fixtures/decoder");

function maxRelErr(got: Float32Array, want: number[]): number {
  let scale = 0;
  for (const w of want) scale = Math.max(scale, Math.abs(w));
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs((got[i] as number) - (want[i] as number)));
  return err / scale;
}

/** A family's tiny fixture: its decoder on a fresh CPU backend, the prompt, transformers' logits. */
function withFixture(family: string, body: (model: Decoder, ids: Int32Array, logits: number[][]) => void): void {
  const dir = join(FIX, family);
  const fx = JSON.parse(readFileSync(join(dir, "logits.json"), "utf8")) as { prompt: number[]; logits: number[][] };
  const backend = createCpuBackend();
  try {
    body(Decoder.fromHfFolder(backend, dir), Int32Array.from(fx.prompt), fx.logits);
  } finally {
    backend.dispose();
  }
}

for (const family of ["llama", "qwen2", "qwen3", "gemma3_text"]) {
  test(`${family}: logits of a prefill and of token-by-token decoding match transformers`, () => {
    withFixture(family, (model, ids, logits) => {
      // Whole prompt at once: the last position.
      const cache = model.createCache(32);
      const last = model.forward(ids, cache);
      const e0 = maxRelErr(last, logits.at(-1) as number[]);
      assert.ok(e0 < 1e-4, `last position: relative error ${e0}`);
      // Prefill 5, then one token at a time: every position.
      const c2 = model.createCache(32);
      let out = model.forward(ids.subarray(0, 5), c2);
      const e4 = maxRelErr(out, logits[4] as number[]);
      assert.ok(e4 < 1e-4, `position 4: relative error ${e4}`);
      for (let t = 5; t < ids.length; t++) {
        out = model.forward(ids.subarray(t, t + 1), c2);
        const e = maxRelErr(out, logits[t] as number[]);
        assert.ok(e < 1e-4, `position ${t}: relative error ${e}`);
      }
      assert.equal(c2.length, ids.length);
      assert.throws(() => model.forward(new Int32Array(30), c2), /KV cache/);
    });
  });
}

test("SmolLM2-135M GGUF: top-10 logits of the last three positions match transformers within 1e-3 relative", { skip: SKIP_NO_SMOLLM2 }, () => {
  const fx = JSON.parse(readFileSync(join(FIX, "smollm2-logits.json"), "utf8")) as { ids: number[]; top: { position: number; ids: number[]; values: number[] }[] };
  const backend = createCpuBackend();
  try {
    const model = Decoder.fromGguf(backend, SMOLLM2_GGUF as string);
    const cache = model.createCache(64);
    const first = (fx.top[0] as { position: number }).position;
    let logits = model.forward(Int32Array.from(fx.ids.slice(0, first + 1)), cache);
    for (const [k, top] of fx.top.entries()) {
      if (k > 0) logits = model.forward(Int32Array.of(fx.ids[top.position] as number), cache);
      const scale = Math.abs(top.values[0] as number);
      for (const [j, id] of top.ids.entries()) {
        const err = Math.abs((logits[id] as number) - (top.values[j] as number)) / scale;
        assert.ok(err < 1e-3, `position ${top.position}, id ${id}: relative error ${err}`);
      }
    }
  } finally {
    backend.dispose();
  }
});

test("an NF4 base gives the logits of the f32 base with NF4-rounded projections, and stays near the f32 logits", () => {
  const dir = join(FIX, "qwen2");
  const backend = createCpuBackend();
  try {
    const src = openSafetensors(join(dir, "model.safetensors"));
    const weights = new Map<string, HostWeight>();
    const rounded = new Map<string, HostWeight>();
    for (const t of src.tensors) {
      const data = src.readTensor(t.name);
      weights.set(t.name, { shape: t.shape, data });
      const isProj = /_proj\.weight$/.test(t.name);
      rounded.set(t.name, { shape: t.shape, data: isProj ? dequantizeNf4(quantizeNf4(data, t.shape[0] as number, t.shape[1] as number)) : data });
    }
    src.close();
    const config = loadHfFolder(dir).config;
    const ids = Int32Array.of(1, 5, 9, 2, 7, 7, 3, 11);
    const run = (w: Map<string, HostWeight>, baseFormat: "f32" | "nf4") => {
      const m = Decoder.fromWeights(backend, config, w, { baseFormat });
      return m.forward(ids, m.createCache(16));
    };
    const nf4 = run(weights, "nf4");
    const want = run(rounded, "f32");
    const exact = run(weights, "f32");
    assert.ok(maxRelErr(nf4, Array.from(want)) < 1e-5);
    // Measured 0.08–0.23 on the tiny random models: NF4 keeps ~9% RMS error per weight.
    const drift = maxRelErr(nf4, Array.from(exact));
    assert.ok(drift > 0 && drift < 0.3, `NF4 vs f32: relative error ${drift}`);
  } finally {
    backend.dispose();
  }
});

for (const family of ["llama", "gemma3_text"]) {
  test(`${family}: segments of several sequences in one pass give each sequence's own logits`, () => {
    withFixture(family, (model, ids, logits) => {
      // three sequences at different points: a fresh prompt, a decode step after a prefix, a chunk after a prefix
      const [a, b, c] = [model.createCache(32), model.createCache(32), model.createCache(32)];
      model.forward(ids.subarray(0, 6), b);
      model.forward(ids.subarray(0, 3), c);
      const [la, lb, lc] = model.forwardSegments([
        { ids: ids.subarray(0, 4), cache: a },
        { ids: ids.subarray(6, 7), cache: b },
        { ids: ids.subarray(3, 8), cache: c },
      ]);
      assert.ok(maxRelErr(la as Float32Array, logits[3] as number[]) < 1e-4, "segment 1: position 3");
      assert.ok(maxRelErr(lb as Float32Array, logits[6] as number[]) < 1e-4, "segment 2: position 6");
      assert.ok(maxRelErr(lc as Float32Array, logits[7] as number[]) < 1e-4, "segment 3: position 7");
      assert.deepEqual([a.length, b.length, c.length], [4, 7, 8]);
      assert.deepEqual(c.ids, [...ids.subarray(0, 8)]);
      // each cache now continues on its own, as if it had run alone
      const next = model.forward(ids.subarray(4, 5), a);
      assert.ok(maxRelErr(next, logits[4] as number[]) < 1e-4, "segment 1 continues");
      assert.throws(() => model.forwardSegments([{ ids: ids.subarray(0, 1), cache: a }, { ids: ids.subarray(1, 2), cache: a }]), /share a KV cache/);
      assert.throws(() => model.forwardSegments([]), /at least one segment/);
      assert.throws(() => model.forwardSegments([{ ids: new Int32Array(30), cache: b }]), /KV cache/);
      assert.equal(b.length, 7, "a refused pass leaves the caches as they were");
    });
  });
}
