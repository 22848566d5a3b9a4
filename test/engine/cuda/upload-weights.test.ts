import assert from "node:assert/strict";
import { test } from "node:test";
import { embeddingOnHost } from "../../../src/engine/cuda/upload-weights.js";
import type { ModelConfig } from "../../../src/model/config.js";

test("the input embeddings go to page-locked host memory when the head is a table of its own, and a tied table stays on the GPU", () => {
  const config = (tieWordEmbeddings: boolean) => ({ tieWordEmbeddings }) as ModelConfig;
  assert.equal(embeddingOnHost(config(false)), true); // Qwen2.5-7B
  assert.equal(embeddingOnHost(config(true)), false); // Qwen2.5-0.5B, 3B, SmolLM2
  assert.equal(embeddingOnHost(config(false), "device"), false);
  assert.equal(embeddingOnHost(config(false), "host"), true);
  assert.throws(() => embeddingOnHost(config(true), "host"), /a tied embedding table is the output head too/);
});
