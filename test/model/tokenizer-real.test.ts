import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { openGguf } from "../../src/model/gguf.js";
import { type Tokenizer, loadTokenizerJson, tokenizerFromGguf } from "../../src/model/tokenizer.js";
import { ggufTokenizerInfo } from "../../src/model/tokenizer-gguf.js";
import { GEMMA3_GGUF, SKIP_NO_GEMMA3, SKIP_NO_SMOLLM2, SMOLLM2_GGUF } from "../helpers/real-models.js";

// Token ids of the reference tokeniser (transformers loading the same GGUF) for the corpus,
// made by scripts/fixtures/tokenizer.py. Needs the real GGUFs (SPECS §8); skips without them.

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "tokenizer");
const corpus: { name: string; text: string }[] = JSON.parse(readFileSync(join(FIXTURES, "corpus.json"), "utf8")).items;

interface Reference {
  vocabSize: number;
  bosId: number | null;
  eosId: number | null;
  padId: number | null;
  items: { name: string; ids: number[]; idsWithSpecialTokens?: number[]; decoded?: string }[];
  chat?: { renderings: { conversation: string; text: string; ids: number[] }[] };
}

function checkModel(label: string, path: string | undefined, skip: string | false, fixture: string): void {
  describe(label, { skip }, () => {
    const reference: Reference = JSON.parse(readFileSync(join(FIXTURES, fixture), "utf8"));
    let metadata: ReturnType<typeof openGguf>["metadata"] | undefined;
    const meta = () => {
      if (metadata === undefined) {
        const file = openGguf(path as string);
        metadata = file.metadata;
        file.close();
      }
      return metadata;
    };
    let cached: Tokenizer | undefined;
    const gguf = () => {
      cached ??= tokenizerFromGguf(meta(), path);
      return cached;
    };

    const parity = (tok: Tokenizer) => {
      for (const [i, item] of reference.items.entries()) {
        const text = (corpus[i] as { text: string }).text;
        assert.deepEqual(tok.encode(text), item.ids, item.name);
        assert.deepEqual(tok.encode(text, { addSpecialTokens: true }), item.idsWithSpecialTokens ?? item.ids, `${item.name} with special tokens`);
      }
    };

    test("the GGUF tokenizer gives the reference ids on every corpus item", () => parity(gguf()));

    test("decode(encode(text)) is the text on every corpus item", () => {
      for (const [i, item] of reference.items.entries()) {
        const text = (corpus[i] as { text: string }).text;
        assert.equal(gguf().decode(gguf().encode(text)), item.decoded ?? text, item.name);
      }
    });

    test("special ids and vocabulary size match the reference", () => {
      const tok = gguf();
      assert.equal(tok.vocabSize, reference.vocabSize);
      assert.equal(tok.bosId, reference.bosId ?? undefined);
      assert.equal(tok.eosId, reference.eosId ?? undefined);
      assert.equal(tok.padId, reference.padId ?? undefined);
    });

    test("rendered chats tokenize to the reference ids", { skip: reference.chat === undefined ? "the GGUF has no chat template" : false }, () => {
      for (const r of reference.chat?.renderings ?? []) assert.deepEqual(gguf().encode(r.text), r.ids, r.conversation);
    });

    test("the same tokenizer through a tokenizer.json object (JSON round trip) gives the reference ids", () => {
      const info = ggufTokenizerInfo(meta(), path);
      parity(loadTokenizerJson(JSON.parse(JSON.stringify(info.json))));
    });

    test("streaming decode of every corpus item adds up to its decode with no split character", () => {
      const tok = gguf();
      for (const item of corpus) {
        const ids = tok.encode(item.text);
        const stream = tok.streamDecoder();
        let text = "";
        for (const id of ids) {
          const piece = stream.push(id);
          assert.ok(!piece.includes("\uFFFD"), `${item.name}: ${JSON.stringify(piece)}`);
          text += piece;
        }
        assert.equal(text + stream.flush(), tok.decode(ids), item.name);
      }
    });
  });
}

checkModel("SmolLM2-135M-Instruct tokenizer (GGUF)", SMOLLM2_GGUF, SKIP_NO_SMOLLM2, "smollm2.json");
checkModel("Gemma-3-270M tokenizer (GGUF)", GEMMA3_GGUF, SKIP_NO_GEMMA3, "gemma3.json");
