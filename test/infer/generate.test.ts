import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { createCpuBackend } from "../../src/engine/cpu/backend.js";
import { generate, generateStream } from "../../src/infer/generate.js";
import { argmax, sampleToken, seededRandom } from "../../src/infer/sampling.js";
import { Decoder } from "../../src/model/decoder.js";

const backend = createCpuBackend();
const model = Decoder.fromHfFolder(backend, join(import.meta.dirname, "../fixtures/decoder/llama"));
// One letter per id: 0 → "a", 1 → "b", …
const letters = { decode: (ids: readonly number[]) => ids.map((i) => String.fromCharCode(97 + (i % 26))).join("") };
const prompt = Int32Array.of(1, 5, 9, 2);

test("greedy generation follows the argmax of each step's logits", async () => {
  const r = await generate(model, model.createCache(64), prompt, letters, { maxTokens: 6, eosIds: [] });
  const cache = model.createCache(64);
  let logits = model.forward(prompt, cache);
  const want: number[] = [];
  for (let i = 0; i < 6; i++) {
    const id = argmax(logits);
    want.push(id);
    logits = model.forward(Int32Array.of(id), cache);
  }
  assert.deepEqual(r.tokens, want);
  assert.equal(r.text, letters.decode(want));
  assert.equal(r.finishReason, "length");
});

test("sampling with the same seed repeats; another seed differs", async () => {
  const o = { maxTokens: 12, temperature: 1.5, topP: 0.95, topK: 20, seed: 7, eosIds: [] };
  const a = await generate(model, model.createCache(64), prompt, letters, o);
  const b = await generate(model, model.createCache(64), prompt, letters, o);
  const c = await generate(model, model.createCache(64), prompt, letters, { ...o, seed: 8 });
  assert.deepEqual(a.tokens, b.tokens);
  assert.notDeepEqual(a.tokens, c.tokens);
});

test("top-k 1 sampling is greedy", () => {
  const logits = Float32Array.of(0.1, 3, -1, 2.9);
  assert.equal(sampleToken(logits, { temperature: 2, topK: 1 }, seededRandom(1)), 1);
});

test("a stop string ends generation and is not part of the text; streamed pieces add up", async () => {
  const full = await generate(model, model.createCache(64), prompt, letters, { maxTokens: 10, eosIds: [] });
  const stop = full.text.slice(3, 5);
  const pieces: string[] = [];
  const it = generateStream(model, model.createCache(64), prompt, letters, { maxTokens: 10, eosIds: [], stop: [stop] });
  let r = await it.next();
  while (r.done !== true) {
    pieces.push(r.value);
    r = await it.next();
  }
  assert.equal(r.value.finishReason, "stop");
  assert.equal(r.value.text, full.text.slice(0, full.text.indexOf(stop)));
  assert.equal(pieces.join(""), r.value.text);
});

test("an EOS id ends generation without appearing in the tokens", async () => {
  const full = await generate(model, model.createCache(64), prompt, letters, { maxTokens: 5, eosIds: [] });
  const r = await generate(model, model.createCache(64), prompt, letters, { maxTokens: 5, eosIds: [full.tokens[2] as number] });
  assert.equal(r.finishReason, "eos");
  assert.ok(!r.tokens.includes(full.tokens[2] as number));
  assert.deepEqual(r.tokens, full.tokens.slice(0, full.tokens.indexOf(full.tokens[2] as number)));
});

test("an aborted signal stops generation", async () => {
  const ac = new AbortController();
  ac.abort();
  const r = await generate(model, model.createCache(64), prompt, letters, { maxTokens: 5, signal: ac.signal });
  assert.equal(r.finishReason, "aborted");
  assert.deepEqual(r.tokens, []);
});

test("text is streamed only at whole characters", async () => {
  // Ids decode to bytes; a two-byte "é" arrives in two tokens.
  const bytes = { decode: (ids: readonly number[]) => new TextDecoder().decode(Uint8Array.from(ids.map((i) => (i % 2 === 0 ? 0xc3 : 0xa9)))) };
  const pieces: string[] = [];
  const it = generateStream(model, model.createCache(64), prompt, bytes, { maxTokens: 8, eosIds: [] });
  let r = await it.next();
  while (r.done !== true) {
    pieces.push(r.value);
    r = await it.next();
  }
  for (const p of pieces.slice(0, -1)) assert.ok(!p.endsWith("\uFFFD"), JSON.stringify(pieces));
  assert.equal(pieces.join(""), r.value.text);
});
