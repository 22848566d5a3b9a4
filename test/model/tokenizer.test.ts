import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { FileFormatError, InvalidInputError } from "../../src/errors.js";
import type { GgufValue } from "../../src/model/gguf-values.js";
import { loadTokenizerJson, tokenizerFromGguf } from "../../src/model/tokenizer.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "tokenizer");
const corpus: { name: string; text: string }[] = JSON.parse(readFileSync(join(FIXTURES, "corpus.json"), "utf8")).items;

interface ReferenceItem {
  name: string;
  ids: number[];
  idsWithSpecialTokens?: number[];
  decoded?: string;
}

const dir = mkdtempSync(join(tmpdir(), "agenttune-tokenizer-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// Small tokenizers trained on the corpus by scripts/fixtures/tokenizer.py with the `tokenizers`
// library, each with the ids that library gives; they cover the tokenizer.json components.
for (const name of ["bytelevel", "metaspace", "prepend", "split"]) {
  describe(`tokenizer.json: the synthetic "${name}" tokenizer`, () => {
    const fixture = JSON.parse(readFileSync(join(FIXTURES, `synthetic-${name}.json`), "utf8"));
    const tok = loadTokenizerJson(fixture.tokenizer);
    const items: ReferenceItem[] = fixture.items;

    test("every corpus item encodes to the reference ids, with and without special tokens", () => {
      assert.equal(items.length, corpus.length);
      for (const [i, item] of items.entries()) {
        const text = (corpus[i] as { text: string }).text;
        assert.deepEqual(tok.encode(text), item.ids, item.name);
        assert.deepEqual(tok.encode(text, { addSpecialTokens: true }), item.idsWithSpecialTokens ?? item.ids, `${item.name} with special tokens`);
      }
    });

    test("decoding the reference ids gives the reference text", () => {
      for (const [i, item] of items.entries()) assert.equal(tok.decode(item.ids), item.decoded ?? (corpus[i] as { text: string }).text, item.name);
    });
  });
}

describe("tokenizer.json loading", () => {
  const fixture = JSON.parse(readFileSync(join(FIXTURES, "synthetic-bytelevel.json"), "utf8"));

  test("a folder's tokenizer_config.json gives the special ids and the chat template", () => {
    const root = mkdtempSync(join(dir, "model-"));
    writeFileSync(join(root, "tokenizer.json"), JSON.stringify(fixture.tokenizer));
    writeFileSync(
      join(root, "tokenizer_config.json"),
      JSON.stringify({ bos_token: "<s>", eos_token: { content: "</s>", special: true }, pad_token: null, chat_template: "{{ messages[0].content }}" }),
    );
    const tok = loadTokenizerJson(root);
    assert.equal(tok.bosId, 1);
    assert.equal(tok.eosId, 2);
    assert.equal(tok.padId, undefined);
    assert.deepEqual(tok.stopIds, [2]);
    assert.equal(tok.chatTemplate, "{{ messages[0].content }}");
    assert.equal(tok.addBos, true);
    assert.equal(tok.source, join(root, "tokenizer.json"));
  });

  test("chat_template.jinja beside the file wins over tokenizer_config.json", () => {
    const root = mkdtempSync(join(dir, "model-"));
    writeFileSync(join(root, "tokenizer.json"), JSON.stringify(fixture.tokenizer));
    writeFileSync(join(root, "tokenizer_config.json"), JSON.stringify({ chat_template: [{ name: "default", template: "A" }, { name: "tool_use", template: "B" }] }));
    assert.equal(loadTokenizerJson(join(root, "tokenizer.json")).chatTemplate, "A");
    writeFileSync(join(root, "chat_template.jinja"), "C");
    assert.equal(loadTokenizerJson(join(root, "tokenizer.json")).chatTemplate, "C");
  });

  test("a tokenizer.json that is not JSON fails naming the file", () => {
    const file = join(dir, "broken.json");
    writeFileSync(file, '{"model": ');
    assert.throws(() => loadTokenizerJson(file), (e: unknown) => e instanceof FileFormatError && e.file === file && /not valid JSON/.test(e.message));
  });

  test("a tokenizer.json with an unknown model type fails with a FileFormatError", () => {
    assert.throws(
      () => loadTokenizerJson({ ...fixture.tokenizer, model: { type: "NoSuchModel" } }),
      (e: unknown) => e instanceof FileFormatError && /cannot build the tokenizer/.test(e.message),
    );
  });

  test("tokenToId / idToToken read the vocabulary and the added tokens", () => {
    const tok = loadTokenizerJson(fixture.tokenizer);
    assert.equal(tok.tokenToId("<s>"), 1);
    assert.equal(tok.idToToken(1), "<s>");
    const think = tok.tokenToId("<think>");
    assert.equal(typeof think, "number");
    assert.equal(tok.idToToken(think as number), "<think>");
    assert.equal(tok.tokenToId("no such token here"), undefined);
    assert.equal(tok.vocabSize, (think as number) + 1);
  });

  test("skipSpecialTokens leaves out special tokens but keeps plain added tokens", () => {
    const tok = loadTokenizerJson(fixture.tokenizer);
    const ids = tok.encode("hi <think> there", { addSpecialTokens: true });
    assert.equal(ids[0], 1);
    assert.equal(ids.at(-1), 2);
    assert.equal(tok.decode(ids), "<s>hi<think>there</s>"); // lstrip / rstrip took the spaces
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), "hi<think>there");
    assert.equal(tok.isSpecial(1), true);
    assert.equal(tok.isSpecial(tok.tokenToId("<think>") as number), false);
  });

  test("decoding an id outside the vocabulary throws InvalidInputError", () => {
    const tok = loadTokenizerJson(fixture.tokenizer);
    assert.throws(() => tok.decode([5, tok.vocabSize]), InvalidInputError);
    assert.throws(() => tok.decode([-1]), InvalidInputError);
    assert.equal(tok.decode([]), "");
  });
});

/** GGUF metadata of a byte-level BPE vocabulary (as llama.cpp writes it for SmolLM2 / Qwen). */
function gpt2Metadata(pre: string): Record<string, GgufValue> {
  const tokens = ["<|endoftext|>", "<|im_end|>", "a", "b", "c", "Ġ", "ab", "abc", "Ġa", "Ġab", "1", "2", "12", "Ã", "©"];
  return {
    "general.architecture": "llama",
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.pre": pre,
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.token_type": tokens.map((_, i) => (i < 2 ? 3 : 1)),
    "tokenizer.ggml.merges": ["Ġ a", "a b", "ab c", "Ġa b", "1 2"],
    "tokenizer.ggml.bos_token_id": 0,
    "tokenizer.ggml.eos_token_id": 1,
    "tokenizer.ggml.add_bos_token": false,
    "tokenizer.chat_template": "{{ bos_token }}",
  };
}

/** GGUF metadata of a SentencePiece vocabulary as Gemma's GGUFs store it (no merges; types 6 = byte). */
function gemmaMetadata(): Record<string, GgufValue> {
  const tokens = ["<pad>", "<eos>", "<bos>", "<unk>", "▁", "a", "b", "ab", "▁ab", "<0xC3>", "<0xA9>", "  ", "<start_of_turn>"];
  const types = [3, 3, 3, 3, 1, 1, 1, 1, 1, 6, 6, 1, 3];
  return {
    "general.architecture": "gemma3",
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.scores": tokens.map(() => 0),
    "tokenizer.ggml.token_type": types,
    "tokenizer.ggml.bos_token_id": 2,
    "tokenizer.ggml.eos_token_id": 1,
    "tokenizer.ggml.eot_token_id": 12,
    "tokenizer.ggml.padding_token_id": 0,
    "tokenizer.ggml.unknown_token_id": 3,
    "tokenizer.ggml.add_bos_token": true,
  };
}

describe("GGUF metadata", () => {
  test("a byte-level vocabulary merges by rank and splits special tokens out of the text", () => {
    const tok = tokenizerFromGguf(gpt2Metadata("smollm"));
    assert.deepEqual(tok.encode("abc ab"), [7, 9]);
    assert.deepEqual(tok.encode("a<|im_end|>b"), [2, 1, 3]);
    assert.deepEqual(tok.encode("é"), [13, 14]);
    assert.equal(tok.decode([7, 9, 1]), "abc ab<|im_end|>");
    assert.equal(tok.decode([7, 9, 1], { skipSpecialTokens: true }), "abc ab");
    assert.deepEqual([tok.bosId, tok.eosId, tok.padId, tok.vocabSize, tok.chatTemplate], [0, 1, undefined, 15, "{{ bos_token }}"]);
  });

  test('the "smollm" pre-tokenizer keeps digits apart; the GPT-2 default does not', () => {
    assert.deepEqual(tokenizerFromGguf(gpt2Metadata("smollm")).encode("12"), [10, 11]);
    assert.deepEqual(tokenizerFromGguf(gpt2Metadata("gpt2")).encode("12"), [12]);
  });

  test("a Gemma SentencePiece vocabulary: spaces as ▁, merges in vocabulary order, byte fallback, BOS", () => {
    const tok = tokenizerFromGguf(gemmaMetadata());
    assert.deepEqual(tok.encode("ab ab"), [7, 8]);
    assert.deepEqual(tok.encode("ab ab", { addSpecialTokens: true }), [2, 7, 8]);
    assert.deepEqual(tok.encode("a  b"), [5, 11, 6]); // "  " is stored with spaces, matched as "▁▁"
    assert.deepEqual(tok.encode("é"), [9, 10]);
    assert.deepEqual(tok.encode("<start_of_turn>ab"), [12, 7]);
    assert.equal(tok.decode([2, 7, 8, 9, 10]), "<bos>ab abé");
    assert.equal(tok.decode([5, 11, 6]), "a  b");
    assert.deepEqual(tok.stopIds, [1, 12]);
    assert.equal(tok.addBos, true);
  });

  test("an unknown tokenizer.ggml.model is refused by name", () => {
    assert.throws(
      () => tokenizerFromGguf({ ...gpt2Metadata("gpt2"), "tokenizer.ggml.model": "bert" }, "x.gguf"),
      (e: unknown) => e instanceof FileFormatError && e.file === "x.gguf" && e.location === "tokenizer.ggml.model" && /"bert"/.test(e.message),
    );
  });

  test("malformed tokenizer metadata fails naming the key", () => {
    const bad = (patch: Record<string, GgufValue>, key: string) =>
      assert.throws(
        () => tokenizerFromGguf({ ...gpt2Metadata("gpt2"), ...patch }),
        (e: unknown) => e instanceof FileFormatError && e.location === key,
      );
    bad({ "tokenizer.ggml.tokens": [1, 2] }, "tokenizer.ggml.tokens");
    bad({ "tokenizer.ggml.token_type": [1] }, "tokenizer.ggml.token_type");
    bad({ "tokenizer.ggml.eos_token_id": 99 }, "tokenizer.ggml.eos_token_id");
    bad({ "tokenizer.ggml.merges": ["a b c"] }, "tokenizer.ggml.merges[0]");
  });
});

describe("streaming decode", () => {
  test("a character split over byte tokens comes out only when complete", () => {
    const tok = tokenizerFromGguf(gemmaMetadata());
    const stream = tok.streamDecoder();
    assert.equal(stream.push(7), "ab");
    assert.equal(stream.push(9), "");
    assert.equal(stream.push(10), "é");
    assert.equal(stream.push(8), " ab");
    assert.equal(stream.flush(), "");
  });

  test("an incomplete character at the end comes out at flush as U+FFFD, as decode gives it", () => {
    const tok = tokenizerFromGguf(gemmaMetadata());
    const stream = tok.streamDecoder();
    assert.equal(stream.push(5), "a");
    assert.equal(stream.push(9), "");
    assert.equal(stream.flush(), "\uFFFD");
    assert.equal(tok.decode([5, 9]), "a\uFFFD");
  });

  test("the pieces of every corpus item add up to its decode, never splitting a character", () => {
    const fixture = JSON.parse(readFileSync(join(FIXTURES, "synthetic-metaspace.json"), "utf8"));
    const tok = loadTokenizerJson(fixture.tokenizer);
    for (const item of corpus) {
      const ids = tok.encode(item.text, { addSpecialTokens: true });
      const stream = tok.streamDecoder({ skipSpecialTokens: true });
      let text = "";
      for (const id of ids) {
        const piece = stream.push(id);
        assert.ok(!piece.includes("\uFFFD"), `${item.name}: ${JSON.stringify(piece)}`);
        text += piece;
      }
      text += stream.flush();
      assert.equal(text, tok.decode(ids, { skipSpecialTokens: true }), item.name);
    }
  });
});
