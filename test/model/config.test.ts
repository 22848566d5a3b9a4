import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { configFromGguf, configFromHf, UnsupportedModelError } from "../../src/model/config.js";
import { openGguf } from "../../src/model/gguf.js";
import { GEMMA3_GGUF, SKIP_NO_GEMMA3, SKIP_NO_SMOLLM2, SMOLLM2_GGUF } from "../helpers/real-models.js";

const load = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/model/configs/${name}.json`, import.meta.url), "utf8"));

function refusedNaming(fn: () => unknown, what: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof UnsupportedModelError && what.test(e.message));
}

describe("configs from Hugging Face config.json", () => {
  test("Qwen2.5-0.5B-Instruct: GQA 14/2, bias on q/k/v only, θ 1e6, tied", () => {
    const c = configFromHf(load("qwen2.5-0.5b-instruct"));
    assert.deepEqual(
      [c.family, c.hiddenSize, c.numLayers, c.numHeads, c.numKvHeads, c.headDim, c.intermediateSize, c.vocabSize],
      ["qwen2", 896, 24, 14, 2, 64, 4864, 151936],
    );
    assert.deepEqual([c.ropeTheta, c.rmsNormEps, c.tieWordEmbeddings, c.qkvBias, c.attnOutBias, c.qkNorm], [1e6, 1e-6, true, true, false, false]);
    assert.equal(c.activation, "silu");
    assert.equal(c.slidingWindow, null);
    assert.ok(c.layerTypes.every((t) => t === "full"));
    assert.deepEqual([c.bosTokenId, c.eosTokenIds, c.queryPreAttnScalar], [151643, [151645], 64]);
  });
  test("Qwen3-0.6B: q/k norm, no bias, head_dim 128 (not hidden/heads)", () => {
    const c = configFromHf(load("qwen3-0.6b"));
    assert.deepEqual([c.family, c.hiddenSize, c.numHeads, c.numKvHeads, c.headDim, c.numLayers], ["qwen3", 1024, 16, 8, 128, 28]);
    assert.deepEqual([c.qkNorm, c.qkvBias, c.attnOutBias, c.tieWordEmbeddings, c.queryPreAttnScalar], [true, false, false, true, 128]);
  });
  test("SmolLM2-135M-Instruct matches SPECS §7", () => {
    const c = configFromHf(load("smollm2-135m-instruct"));
    assert.deepEqual(
      [c.family, c.hiddenSize, c.numLayers, c.numHeads, c.numKvHeads, c.intermediateSize, c.vocabSize, c.ropeTheta, c.tieWordEmbeddings],
      ["llama", 576, 30, 9, 3, 1536, 49152, 1e5, true],
    );
    assert.deepEqual([c.rmsNormEps, c.qkvBias, c.qkNorm, c.normUnitOffset, c.embeddingScale, c.maxPositions], [1e-5, false, false, false, 1, 8192]);
  });
  test("gemma-3-270m: GeGLU, (1+w) sandwich norms, √hidden embeddings, 5 sliding layers then 1 global", () => {
    const c = configFromHf(load("gemma-3-270m"));
    assert.deepEqual([c.family, c.hiddenSize, c.numLayers, c.numHeads, c.numKvHeads, c.headDim, c.intermediateSize, c.vocabSize], ["gemma3", 640, 18, 4, 1, 256, 2048, 262144]);
    assert.deepEqual([c.activation, c.normUnitOffset, c.sandwichNorm, c.qkNorm, c.tieWordEmbeddings], ["gelu_tanh", true, true, true, true]);
    assert.equal(c.embeddingScale, Math.sqrt(640));
    assert.deepEqual([c.slidingWindow, c.ropeTheta, c.ropeLocalTheta, c.queryPreAttnScalar], [512, 1e6, 1e4, 256]);
    assert.deepEqual(
      c.layerTypes.map((t, i) => (t === "full" ? i : -1)).filter((i) => i >= 0),
      [5, 11, 17],
    );
    assert.deepEqual([c.bosTokenId, c.eosTokenIds], [2, [1]]);
  });
  test("Gemma 3 without layer_types uses the sliding-window pattern", () => {
    const cfg = load("gemma-3-270m");
    delete cfg.layer_types;
    assert.deepEqual(configFromHf(cfg).layerTypes, configFromHf(load("gemma-3-270m")).layerTypes);
  });
  test("a multimodal gemma3 config uses its text_config", () => {
    const text = load("gemma-3-270m");
    const c = configFromHf({ model_type: "gemma3", text_config: text, eos_token_id: [1, 106] });
    assert.equal(c.hiddenSize, 640);
    assert.deepEqual(c.eosTokenIds, [1]);
  });
  test("linear RoPE scaling is kept; other schemes are refused by name", () => {
    const cfg = load("smollm2-135m-instruct");
    assert.deepEqual(configFromHf({ ...cfg, rope_scaling: { rope_type: "linear", factor: 4 } }).ropeScaling, { type: "linear", factor: 4 });
    assert.equal(configFromHf({ ...cfg, rope_scaling: { rope_type: "default" } }).ropeScaling, null);
    refusedNaming(() => configFromHf({ ...cfg, rope_scaling: { rope_type: "llama3", factor: 8 } }), /rope_scaling type "llama3"/);
    refusedNaming(() => configFromHf({ ...cfg, rope_scaling: { type: "yarn", factor: 4 } }), /"yarn"/);
  });
  test("unsupported model types and features are refused by name, never run wrongly", () => {
    refusedNaming(() => configFromHf({ model_type: "mistral" }), /model_type "mistral"/);
    refusedNaming(() => configFromHf({ ...load("qwen2.5-0.5b-instruct"), use_sliding_window: true }), /use_sliding_window/);
    refusedNaming(() => configFromHf({ ...load("smollm2-135m-instruct"), hidden_act: "relu" }), /"relu"/);
    refusedNaming(() => configFromHf({ ...load("smollm2-135m-instruct"), mlp_bias: true }), /mlp_bias/);
    refusedNaming(() => configFromHf({ ...load("gemma-3-270m"), final_logit_softcapping: 30 }), /final_logit_softcapping/);
    refusedNaming(() => configFromHf({ ...load("smollm2-135m-instruct"), num_key_value_heads: 4 }), /not a multiple/);
    refusedNaming(() => configFromHf({ ...load("smollm2-135m-instruct"), hidden_size: undefined }), /hidden_size/);
  });
});

describe("configs from GGUF metadata", () => {
  const gemma = {
    "general.architecture": "gemma3",
    "gemma3.context_length": 32768,
    "gemma3.embedding_length": 640,
    "gemma3.block_count": 18,
    "gemma3.feed_forward_length": 2048,
    "gemma3.attention.head_count": 4,
    "gemma3.attention.head_count_kv": 1,
    "gemma3.rope.freq_base": 1e6,
    "gemma3.attention.layer_norm_rms_epsilon": Math.fround(1e-6),
    "gemma3.attention.key_length": 256,
    "gemma3.attention.value_length": 256,
    "gemma3.attention.sliding_window": 512,
    "tokenizer.ggml.bos_token_id": 2,
    "tokenizer.ggml.eos_token_id": 1,
    "tokenizer.ggml.tokens": new Array(262144).fill(""),
  };
  test("a Gemma 3 GGUF gives the same config as its config.json", () => {
    const fromGguf = configFromGguf(gemma, ["token_embd.weight", "blk.0.attn_q_norm.weight"]);
    const fromHf = configFromHf(load("gemma-3-270m"));
    assert.deepEqual(fromGguf, { ...fromHf, maxPositions: 32768 });
  });
  test("Qwen2 and Qwen3 GGUFs take bias and q/k norm from the tensors present", () => {
    const md = (a: string) => ({
      "general.architecture": a,
      [`${a}.embedding_length`]: 896,
      [`${a}.block_count`]: 24,
      [`${a}.feed_forward_length`]: 4864,
      [`${a}.attention.head_count`]: 14,
      [`${a}.attention.head_count_kv`]: 2,
      [`${a}.context_length`]: 32768,
      [`${a}.rope.freq_base`]: 1e6,
      [`${a}.attention.layer_norm_rms_epsilon`]: Math.fround(1e-6),
      "tokenizer.ggml.tokens": new Array(151936).fill(""),
    });
    const q2 = configFromGguf(md("qwen2"), ["blk.0.attn_q.bias", "output.weight"]);
    assert.deepEqual([q2.family, q2.qkvBias, q2.qkNorm, q2.tieWordEmbeddings, q2.vocabSize, q2.rmsNormEps], ["qwen2", true, false, false, 151936, 1e-6]);
    const q3 = configFromGguf(md("qwen3"), ["blk.0.attn_q_norm.weight"]);
    assert.deepEqual([q3.family, q3.qkvBias, q3.qkNorm, q3.tieWordEmbeddings], ["qwen3", false, true, true]);
  });
  test("an unsupported GGUF architecture or RoPE scheme is refused by name", () => {
    refusedNaming(() => configFromGguf({ "general.architecture": "phi3" }), /"phi3"/);
    refusedNaming(() => configFromGguf({ ...gemma, "gemma3.rope.scaling.type": "yarn" }), /"yarn"/);
  });
  test("the real SmolLM2 GGUF gives the config of SmolLM2's config.json", { skip: SKIP_NO_SMOLLM2 }, () => {
    const g = openGguf(SMOLLM2_GGUF as string);
    try {
      const c = configFromGguf(g.metadata, g.tensors.map((t) => t.name));
      assert.deepEqual(c, configFromHf(load("smollm2-135m-instruct")));
    } finally {
      g.close();
    }
  });
  test("the real Gemma-3-270M GGUF gives the config of gemma-3-270m's config.json", { skip: SKIP_NO_GEMMA3 }, () => {
    const g = openGguf(GEMMA3_GGUF as string);
    try {
      assert.deepEqual(configFromGguf(g.metadata, g.tensors.map((t) => t.name)), configFromHf(load("gemma-3-270m")));
    } finally {
      g.close();
    }
  });
});
