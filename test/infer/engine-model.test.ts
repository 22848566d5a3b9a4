import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { ChatMessage } from "../../src/agent/chat-model.js";
import { createCpuBackend } from "../../src/engine/cpu/backend.js";
import { CHATML_TEMPLATE, ContextLengthError, EngineChatModel } from "../../src/infer/engine-model.js";
import { generate } from "../../src/infer/generate.js";
import { AdapterMismatchError } from "../../src/infer/merge-lora.js";
import { Decoder, type HostWeight } from "../../src/model/decoder.js";
import { loadHfFolder } from "../../src/model/hf-folder.js";
import { exportGgufLora } from "../../src/train/export-gguf-lora.js";
import { exportPeftAdapter, readPeftAdapter } from "../../src/train/export-peft.js";
import { SKIP_NO_SMOLLM2, SMOLLM2_GGUF } from "../helpers/real-models.js";

const FIXTURES = join(import.meta.dirname, "../fixtures");
const dir = mkdtempSync(join(tmpdir(), "agenttune-engine-model-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// A character-level tokenizer that fits the tiny fixtures' 32-id vocabulary: the ChatML markers,
// space, newline, a–z and ":" (text is lower-cased; anything else is <unk>).
const VOCAB: Record<string, number> = { "<unk>": 0, "<|im_start|>": 1, "<|im_end|>": 2, " ": 3, "\n": 4, ":": 31 };
for (let i = 0; i < 26; i++) VOCAB[String.fromCharCode(97 + i)] = 5 + i;
const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
const TINY_TOKENIZER = {
  version: "1.0",
  truncation: null,
  padding: null,
  added_tokens: [special(0, "<unk>"), special(1, "<|im_start|>"), special(2, "<|im_end|>")],
  normalizer: { type: "Lowercase" },
  pre_tokenizer: null,
  post_processor: null,
  decoder: { type: "Fuse" },
  model: { type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: false, ignore_merges: false, vocab: VOCAB, merges: [] },
};

/** A copy of test/fixtures/decoder/<family> with the tiny tokenizer (and files of `extra`) beside it. */
function tinyFolder(family: string, extra: Record<string, unknown> = {}): string {
  const folder = mkdtempSync(join(dir, `${family}-`));
  cpSync(join(FIXTURES, "decoder", family), folder, { recursive: true });
  writeFileSync(join(folder, "tokenizer.json"), JSON.stringify(TINY_TOKENIZER));
  for (const [name, value] of Object.entries(extra)) writeFileSync(join(folder, name), JSON.stringify(value));
  return folder;
}

const user = (content: string): ChatMessage => ({ role: "user", content });
const LLAMA = tinyFolder("llama");
// contextSize above the fixture's 64 positions lets prompts span several 64-token prefill chunks.
const tiny = EngineChatModel.load({ model: LLAMA, contextSize: 256 });
/** Another model on the same decoder, with its own (empty) cache. */
const fresh = () => new EngineChatModel({ decoder: tiny.decoder, tokenizer: tiny.tokenizer, id: "fresh", contextSize: 256 });

describe("EngineChatModel on a tiny random llama", () => {
  test("with no chat template the prompt is ChatML, tool messages going as user messages", () => {
    assert.equal(tiny.chatTemplate, CHATML_TEMPLATE);
    assert.equal(tiny.chatmlFallback, true);
    assert.equal(new EngineChatModel({ decoder: tiny.decoder, tokenizer: tiny.tokenizer, chatTemplate: "{{ messages[0].content }}" }).chatmlFallback, false);
    const prompt = tiny.renderPrompt([
      { role: "system", content: "be brief" },
      user("hi"),
      { role: "assistant", content: "Action: x" },
      { role: "tool", content: "Observation: {}" },
    ]);
    assert.equal(
      prompt,
      "<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nAction: x<|im_end|>\n<|im_start|>user\nObservation: {}<|im_end|>\n<|im_start|>assistant\n",
    );
    // <|im_start|> u s e r \n h i <|im_end|> \n <|im_start|> a s s i s t a n t \n
    assert.deepEqual([...tiny.encodePrompt([user("hi")])], [1, 25, 23, 9, 22, 4, 12, 13, 2, 4, 1, 5, 23, 23, 13, 23, 24, 5, 18, 24, 4]);
  });

  test("greedy text is deterministic and is what generate() gives on the prompt's ids", async () => {
    const messages = [user("what is the weather in tokyo")];
    const a = await tiny.generate(messages, { maxTokens: 10 });
    const b = await tiny.generate(messages, { maxTokens: 10 });
    assert.equal(a.text, b.text);
    assert.equal(a.text.length, 10);
    const ids = tiny.encodePrompt(messages);
    const direct = await generate(tiny.decoder, tiny.decoder.createCache(256), ids, tiny.tokenizer, { maxTokens: 10, eosIds: tiny.eosIds });
    assert.equal(a.text, direct.text);
    assert.deepEqual(a.usage, { promptTokens: ids.length, completionTokens: 10 });
    assert.equal(a.finishReason, "length");
  });

  test("a growing conversation reuses the cached prefix and gives the text of a fresh cache", async () => {
    const m = fresh();
    const first = [user("is it cold in tokyo")];
    const r1 = await m.generate(first, { maxTokens: 6 });
    assert.equal(m.lastCacheStats.reusedTokens, 0);
    const second = [...first, { role: "assistant" as const, content: r1.text }, user("observation: cold")];
    const r2 = await m.generate(second, { maxTokens: 6 });
    // The cache holds the first prompt and every reply token but the last (sampled, never run).
    assert.equal(m.lastCacheStats.reusedTokens, tiny.encodePrompt(first).length + (r1.usage?.completionTokens as number) - 1);
    const other = fresh();
    const r2Fresh = await other.generate(second, { maxTokens: 6 });
    assert.equal(other.lastCacheStats.reusedTokens, 0);
    assert.equal(r2.text, r2Fresh.text);
    // The same prompt again: everything but its last token is reused.
    await m.generate(second, { maxTokens: 6 });
    assert.deepEqual(m.lastCacheStats, { reusedTokens: tiny.encodePrompt(second).length - 1, prefilledTokens: 1 });
  });

  test("a conversation that diverges keeps only the shared prefix", async () => {
    const m = fresh();
    await m.generate([user("tokyo ramen")], { maxTokens: 4 });
    const next = [user("tokyo sushi")];
    const r = await m.generate(next, { maxTokens: 8 });
    // "<|im_start|>user\ntokyo " is shared: 1 + 4 + 1 + 6 ids.
    assert.equal(m.lastCacheStats.reusedTokens, 12);
    assert.equal(r.text, (await fresh().generate(next, { maxTokens: 8 })).text);
  });

  test("a prompt longer than one prefill chunk gives the same text as a one-pass prefill", async () => {
    const messages = [user("the quick brown fox jumps over the lazy dog ".repeat(4))];
    const ids = tiny.encodePrompt(messages);
    assert.ok(ids.length > 128, `${ids.length} ids`);
    const r = await fresh().generate(messages, { maxTokens: 8 });
    const direct = await generate(tiny.decoder, tiny.decoder.createCache(256), ids, tiny.tokenizer, { maxTokens: 8, eosIds: tiny.eosIds });
    assert.equal(r.text, direct.text);
  });

  test("a stop string cuts the text, and streamed pieces concatenate to generate's text", async () => {
    const messages = [user("tell me a story")];
    const sampled = { maxTokens: 16, temperature: 1.2, seed: 5 };
    const full = await tiny.generate(messages, sampled);
    const again = await tiny.generate(messages, sampled);
    assert.equal(full.text, again.text, "the same seed samples the same text");
    const stop = full.text.slice(4, 6);
    const cut = await tiny.generate(messages, { ...sampled, stop: [stop] });
    assert.equal(cut.text, full.text.slice(0, full.text.indexOf(stop)));
    assert.equal(cut.finishReason, "stop");
    for (const o of [sampled, { ...sampled, stop: [stop] }, { maxTokens: 12 }]) {
      const pieces: string[] = [];
      for await (const piece of tiny.stream(messages, o)) pieces.push(piece);
      assert.equal(pieces.join(""), (await tiny.generate(messages, o)).text);
      assert.ok(pieces.length > 1, "the text comes in pieces");
    }
  });

  test("calls made at once run one after another and give the texts they give alone", async () => {
    const a = [user("weather in paris")];
    const b = [user("ramen in tokyo")];
    const alone = [(await fresh().generate(a, { maxTokens: 8 })).text, (await fresh().generate(b, { maxTokens: 8 })).text];
    const m = fresh();
    const streamed = (async () => {
      let text = "";
      for await (const piece of m.stream(b, { maxTokens: 8 })) text += piece;
      return text;
    })();
    const together = await Promise.all([m.generate(a, { maxTokens: 8 }).then((r) => r.text), streamed, m.generate(a, { maxTokens: 8 }).then((r) => r.text)]);
    assert.deepEqual(together, [alone[0], alone[1], alone[0]]);
  });

  test("calls made at once are computed in shared passes, each giving its own text; maxBatch bounds them", async () => {
    const prompts = [[user("weather in paris")], [user("ramen in tokyo please")], [user("hi")], [user("book a table for two")], [user("time in oslo")]];
    const alone = await Promise.all(prompts.map(async (p) => (await fresh().generate(p, { maxTokens: 10 })).text));
    for (const maxBatch of [1, 3]) {
      const m = new EngineChatModel({ decoder: tiny.decoder, tokenizer: tiny.tokenizer, contextSize: 256, maxBatch });
      const widths: number[] = [];
      const decoder = m.decoder;
      const original = decoder.forwardSegments.bind(decoder);
      decoder.forwardSegments = (segments) => {
        widths.push(segments.length);
        return original(segments);
      };
      try {
        const texts = await Promise.all(prompts.map(async (p) => (await m.generate(p, { maxTokens: 10 })).text));
        assert.deepEqual(texts, alone, `maxBatch ${maxBatch}: the texts of each call alone`);
        assert.equal(Math.max(...widths), maxBatch, `maxBatch ${maxBatch}: at most that many replies a pass, and that many at the busiest`);
      } finally {
        decoder.forwardSegments = original;
      }
    }
    assert.throws(() => new EngineChatModel({ decoder: tiny.decoder, tokenizer: tiny.tokenizer, maxBatch: 0 }), /maxBatch must be an integer of at least 1/);
  });

  test("a stream stopped early ends its reply without disturbing the calls beside it", async () => {
    const m = fresh();
    const a = [user("weather in paris")];
    const alone = (await fresh().generate(a, { maxTokens: 12 })).text;
    const beside = m.generate(a, { maxTokens: 12 });
    for await (const _ of m.stream([user("tell me a story")], { maxTokens: 40 })) break;
    assert.equal((await beside).text, alone);
    // the stopped reply's cache is free again: a fourth and fifth call still run
    const more = await Promise.all([m.generate(a, { maxTokens: 4 }), m.generate([user("hi")], { maxTokens: 4 })]);
    assert.equal(more.length, 2);
  });

  test("an aborted signal ends the call with finish reason abort and frees the model", async () => {
    const m = fresh();
    const before = new AbortController();
    before.abort();
    assert.deepEqual(await m.generate([user("hi")], { maxTokens: 8, signal: before.signal }), { text: "", finishReason: "abort", usage: { promptTokens: 21, completionTokens: 0 } });
    const during = new AbortController();
    let pieces = 0;
    for await (const _ of m.stream([user("hi")], { maxTokens: 30, signal: during.signal })) {
      pieces++;
      during.abort();
    }
    assert.equal(pieces, 1);
    const after = await m.generate([user("hi")], { maxTokens: 4 });
    assert.equal(after.text, (await fresh().generate([user("hi")], { maxTokens: 4 })).text);
  });

  test("a prompt that does not fit the context is refused before any work", async () => {
    const small = new EngineChatModel({ decoder: tiny.decoder, tokenizer: tiny.tokenizer, contextSize: 16 });
    await assert.rejects(small.generate([user("hi")]), (e: unknown) => e instanceof ContextLengthError && /21 tokens; the context holds 16/.test(e.message));
  });

  test("the folder's chat template (tokenizer_config.json) is used when there is one", () => {
    const template = "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}";
    const m = EngineChatModel.load({ model: tinyFolder("qwen3", { "tokenizer_config.json": { chat_template: template } }) });
    assert.equal(m.renderPrompt([user("hi"), { role: "tool", content: "Observation: 1" }]), "[user] hi\n[user] Observation: 1\n[assistant] ");
  });
});

describe("EngineChatModel with a PEFT adapter", () => {
  // Llama fixture: hidden 32, 4 heads × 8, 2 KV heads, intermediate 48, 2 layers.
  const shapes: Record<string, [string, number, number]> = { q: ["self_attn", 32, 32], v: ["self_attn", 16, 32], down: ["mlp", 32, 48] };
  const rank = 2;
  const alpha = 6;
  function writeAdapter(name: string, bValue: (i: number) => number): string {
    const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    let seed = 1;
    for (let layer = 0; layer < 2; layer++) {
      for (const [t, [block, out, inF]] of Object.entries(shapes)) {
        const p = `base_model.model.model.layers.${layer}.${block}.${t}_proj`;
        tensors.set(`${p}.lora_A.weight`, { shape: [rank, inF], data: Float32Array.from({ length: rank * inF }, (_, i) => Math.sin(seed * 3.1 + i * 0.7) * 0.3) });
        seed++;
        tensors.set(`${p}.lora_B.weight`, { shape: [out, rank], data: Float32Array.from({ length: out * rank }, (_, i) => bValue(seed * 100 + i)) });
        seed++;
      }
    }
    const folder = join(dir, name);
    exportPeftAdapter(folder, { baseModel: "tiny-llama", rank, alpha, dropout: 0, targets: Object.keys(shapes), tensors });
    return folder;
  }
  const ids = tiny.encodePrompt([user("what is the weather")]);
  const logitsOf = (decoder: Decoder) => decoder.forward(ids, decoder.createCache(64));

  test("an adapter whose B is zero changes nothing", async () => {
    const m = EngineChatModel.load({ model: LLAMA, adapter: writeAdapter("zero-b", () => 0), contextSize: 256 });
    assert.deepEqual(logitsOf(m.decoder), logitsOf(tiny.decoder));
    const messages = [user("what is the weather")];
    assert.equal((await m.generate(messages, { maxTokens: 8 })).text, (await fresh().generate(messages, { maxTokens: 8 })).text);
  });

  test("a non-zero adapter gives the logits of the base with W + (alpha/r)·B·A merged by hand", () => {
    const folder = writeAdapter("nonzero", (i) => Math.cos(i * 0.37) * 0.4);
    const m = EngineChatModel.load({ model: LLAMA, adapter: folder });
    // The expected model: the base weights with every pair merged by the naive triple loop.
    const base = loadHfFolder(LLAMA);
    const src = base.openWeights();
    const weights = new Map<string, HostWeight>(src.tensors.map((t) => [t.name, { shape: t.shape, data: src.readTensor(t.name) }]));
    src.close();
    const adapter = readPeftAdapter(folder).tensors;
    for (let layer = 0; layer < 2; layer++) {
      for (const [t, [block, out, inF]] of Object.entries(shapes)) {
        const w = weights.get(`model.layers.${layer}.${block}.${t}_proj.weight`) as HostWeight;
        const a = adapter.get(`base_model.model.model.layers.${layer}.${block}.${t}_proj.lora_A.weight`)?.data as Float32Array;
        const b = adapter.get(`base_model.model.model.layers.${layer}.${block}.${t}_proj.lora_B.weight`)?.data as Float32Array;
        for (let o = 0; o < out; o++)
          for (let i = 0; i < inF; i++) {
            let s = 0;
            for (let k = 0; k < rank; k++) s += (b[o * rank + k] as number) * (a[k * inF + i] as number);
            w.data[o * inF + i] = (w.data[o * inF + i] as number) + (alpha / rank) * s;
          }
      }
    }
    const expected = logitsOf(Decoder.fromWeights(createCpuBackend(), base.config, weights));
    const got = logitsOf(m.decoder);
    const baseLogits = logitsOf(tiny.decoder);
    let change = 0;
    for (let i = 0; i < got.length; i++) {
      assert.ok(Math.abs((got[i] as number) - (expected[i] as number)) < 1e-4, `logit ${i}: ${got[i]} vs ${expected[i]}`);
      change = Math.max(change, Math.abs((got[i] as number) - (baseLogits[i] as number)));
    }
    assert.ok(change > 1e-2, `the adapter moves the logits (max change ${change})`);
  });

  test("the same adapter as a GGUF LoRA file gives the same logits as the PEFT folder (llama's Q/K rows permuted and back)", () => {
    const folder = writeAdapter("as-gguf", (i) => Math.cos(i * 0.37) * 0.4);
    const file = join(dir, "as-gguf.gguf");
    exportGgufLora(file, readPeftAdapter(folder), { architecture: "llama", heads: 4, kvHeads: 2 });
    const fromFolder = logitsOf(EngineChatModel.load({ model: LLAMA, adapter: folder }).decoder);
    const fromFile = logitsOf(EngineChatModel.load({ model: LLAMA, adapter: file }).decoder);
    assert.deepEqual(fromFile, fromFolder);
  });

  test("an adapter trained on another shape is refused, naming the key", () => {
    // peft-tiny-qwen2 was made for intermediate 64; the qwen2 decoder fixture has 48.
    assert.throws(
      () => EngineChatModel.load({ model: tinyFolder("qwen2"), adapter: join(FIXTURES, "train", "peft-tiny-qwen2") }),
      (e: unknown) => e instanceof AdapterMismatchError && /^base_model\.model\.model\.layers\.0\.mlp\.(down|gate|up)_proj\.lora_[AB]\.weight$/.test(e.key) && /has shape \[/.test(e.message),
    );
  });
});

describe("EngineChatModel on SmolLM2-135M-Instruct (GGUF Q4_1)", () => {
  let model: EngineChatModel | undefined;
  const smol = () => {
    model ??= EngineChatModel.load({ model: SMOLLM2_GGUF as string, contextSize: 512 });
    return model;
  };
  const q = [user("Count from 1 to 20, separated by commas.")];

  test("the prompt is SmolLM2's own template, observations as user messages", { skip: SKIP_NO_SMOLLM2 }, () => {
    const m = smol();
    assert.equal(
      m.renderPrompt([{ role: "system", content: "S" }, user("Q"), { role: "assistant", content: "A" }, { role: "tool", content: 'Observation: {"t": 8}' }]),
      '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n<|im_start|>user\nObservation: {"t": 8}<|im_end|>\n<|im_start|>assistant\n',
    );
    assert.ok(m.eosIds.includes(m.tokenizer.tokenToId("<|im_end|>") as number));
  });

  test("greedy text is the same twice (the second from the cache) and streams in pieces that add up", { skip: SKIP_NO_SMOLLM2 }, async () => {
    const m = smol();
    const a = await m.generate(q, { maxTokens: 6 });
    const b = await m.generate(q, { maxTokens: 6 });
    assert.match(a.text, /1/);
    assert.equal(a.text, b.text);
    assert.equal(m.lastCacheStats.prefilledTokens, 1);
    let streamed = "";
    for await (const piece of m.stream(q, { maxTokens: 6 })) streamed += piece;
    assert.equal(streamed, a.text);
  });

  test("a stop string cuts the SmolLM2 text", { skip: SKIP_NO_SMOLLM2 }, async () => {
    const m = smol();
    const full = await m.generate(q, { maxTokens: 6 });
    const stop = full.text.includes("2") ? "2" : full.text.slice(2, 4);
    const cut = await m.generate(q, { maxTokens: 6, stop: [stop] });
    assert.ok(full.text.indexOf(stop) > 0);
    assert.equal(cut.text, full.text.slice(0, full.text.indexOf(stop)));
    assert.equal(cut.finishReason, "stop");
  });

  test("the next turn reuses the cache and gives the text of a fresh cache", { skip: SKIP_NO_SMOLLM2 }, async () => {
    const m = smol();
    const first = await m.generate(q, { maxTokens: 8 });
    const next = [...q, { role: "assistant" as const, content: first.text }, user("Now count backwards from 5.")];
    const reused = await m.generate(next, { maxTokens: 8 });
    assert.ok(m.lastCacheStats.reusedTokens > m.encodePrompt(q).length - 1, `reused ${m.lastCacheStats.reusedTokens}`);
    const other = new EngineChatModel({ decoder: m.decoder, tokenizer: m.tokenizer, chatTemplate: m.chatTemplate, eosIds: m.eosIds, contextSize: 512 });
    assert.equal(reused.text, (await other.generate(next, { maxTokens: 8 })).text);
  });
});
