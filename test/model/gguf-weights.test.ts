import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { FileFormatError } from "../../src/errors.js";
import { checkWeightShapes, configFromGguf, configFromHf, expectedWeights } from "../../src/model/config.js";
import { openGguf } from "../../src/model/gguf.js";
import { permuteQK } from "../../src/model/gguf-permute.js";
import { ggufNameToHf, readGgufTensorAsHf } from "../../src/model/gguf-weights.js";
import { writeGguf } from "../../src/model/gguf-writer.js";
import { openSafetensors, type SafetensorsWriteTensor, writeSafetensors } from "../../src/model/safetensors.js";
import { GEMMA3_GGUF, SKIP_NO_GEMMA3, SKIP_NO_SMOLLM2, SMOLLM2_GGUF } from "../helpers/real-models.js";

const dir = mkdtempSync(join(tmpdir(), "agenttune-ggufw-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const llamaMeta = (arch: string) => ({
  "general.architecture": arch,
  [`${arch}.embedding_length`]: 8,
  [`${arch}.block_count`]: 1,
  [`${arch}.feed_forward_length`]: 16,
  [`${arch}.attention.head_count`]: 2,
  [`${arch}.attention.head_count_kv`]: 1,
  [`${arch}.vocab_size`]: 4,
});

test("GGUF tensor names map to transformers names, ffn_norm by family", () => {
  assert.equal(ggufNameToHf("blk.3.attn_q.weight", "llama"), "model.layers.3.self_attn.q_proj.weight");
  assert.equal(ggufNameToHf("blk.0.attn_k.bias", "qwen2"), "model.layers.0.self_attn.k_proj.bias");
  assert.equal(ggufNameToHf("blk.0.ffn_norm.weight", "llama"), "model.layers.0.post_attention_layernorm.weight");
  assert.equal(ggufNameToHf("blk.0.ffn_norm.weight", "gemma3"), "model.layers.0.pre_feedforward_layernorm.weight");
  assert.equal(ggufNameToHf("blk.0.post_attention_norm.weight", "gemma3"), "model.layers.0.post_attention_layernorm.weight");
  assert.equal(ggufNameToHf("output.weight", "qwen3"), "lm_head.weight");
  assert.equal(ggufNameToHf("rope_freqs.weight", "llama"), undefined);
});

test("a llama GGUF's Q and K come back in Hugging Face row order", () => {
  const q = Float32Array.from({ length: 64 }, (_, i) => i);
  const k = Float32Array.from({ length: 32 }, (_, i) => 100 + i);
  const path = join(dir, "llama.gguf");
  writeGguf(path, {
    metadata: llamaMeta("llama"),
    tensors: [
      { name: "blk.0.attn_q.weight", shape: [8, 8], type: "F32", data: permuteQK(q, 8, 8, 2) },
      { name: "blk.0.attn_k.weight", shape: [4, 8], type: "F32", data: permuteQK(k, 4, 8, 1) },
    ],
  });
  const g = openGguf(path);
  const config = configFromGguf(g.metadata, g.tensors.map((t) => t.name));
  const wq = readGgufTensorAsHf(g, "blk.0.attn_q.weight", config);
  assert.deepEqual(wq?.shape, [8, 8]);
  assert.deepEqual(wq?.data, q);
  assert.deepEqual(readGgufTensorAsHf(g, "blk.0.attn_k.weight", config)?.data, k);
  g.close();
});

test("a qwen2 GGUF's Q is not touched; a gemma3 GGUF's norms lose their folded +1", () => {
  const q = Float32Array.from({ length: 64 }, (_, i) => i);
  const path = join(dir, "qwen2.gguf");
  writeGguf(path, { metadata: llamaMeta("qwen2"), tensors: [{ name: "blk.0.attn_q.weight", shape: [8, 8], type: "F32", data: q }] });
  const g = openGguf(path);
  assert.deepEqual(readGgufTensorAsHf(g, "blk.0.attn_q.weight", configFromGguf(g.metadata))?.data, q);
  g.close();
  const gpath = join(dir, "gemma.gguf");
  writeGguf(gpath, {
    metadata: { ...llamaMeta("gemma3"), "gemma3.attention.key_length": 4, "gemma3.attention.value_length": 4 },
    tensors: [
      { name: "blk.0.attn_q_norm.weight", shape: [4], type: "F32", data: Float32Array.of(1, 1.5, 0.75, 2) },
      { name: "blk.0.attn_q.weight", shape: [8, 8], type: "F32", data: q },
    ],
  });
  const gg = openGguf(gpath);
  const cfg = configFromGguf(gg.metadata);
  assert.deepEqual(Array.from(readGgufTensorAsHf(gg, "blk.0.attn_q_norm.weight", cfg)?.data ?? []), [0, 0.5, -0.25, 1]);
  assert.deepEqual(readGgufTensorAsHf(gg, "blk.0.attn_q.weight", cfg)?.data, q);
  gg.close();
});

test("every tensor of the real SmolLM2 GGUF has a transformers name", { skip: SKIP_NO_SMOLLM2 }, () => {
  const g = openGguf(SMOLLM2_GGUF as string);
  const names = new Set(g.tensors.map((t) => ggufNameToHf(t.name, "llama")));
  g.close();
  assert.ok(!names.has(undefined));
  assert.equal(names.size, 272);
  assert.ok(names.has("model.layers.29.mlp.down_proj.weight"));
  assert.ok(!names.has("lm_head.weight")); // tied
});

/** Our GGUF → HF weights against transformers' GGUF loader (scripts/fixtures/gguf_as_hf.py). */
function matchesTransformers(label: string, path: string | undefined, skip: string | false, fixture: string, family: "llama" | "gemma3"): void {
  test(`${label}: GGUF weights in Hugging Face layout equal what transformers' GGUF loader gives`, { skip }, () => {
    const fx = JSON.parse(readFileSync(new URL(`../fixtures/model/${fixture}`, import.meta.url), "utf8")) as {
      tensors: Record<string, { shape: number[]; sum: number; row_sums: number[]; first_col: number[] }>;
    };
    const g = openGguf(path as string);
    try {
      const config = configFromGguf(g.metadata, g.tensors.map((t) => t.name));
      const byHf = new Map(g.tensors.map((t) => [ggufNameToHf(t.name, family), t.name]));
      for (const [name, want] of Object.entries(fx.tensors)) {
        const w = readGgufTensorAsHf(g, byHf.get(name) as string, config);
        assert.ok(w, name);
        assert.equal(w.name, name);
        assert.deepEqual(w.shape, want.shape);
        const cols = w.shape.length > 1 ? w.shape[1] : 1;
        const firstCol = want.first_col.map((_, r) => w.data[r * cols]);
        assert.deepEqual(firstCol, want.first_col, name);
        want.row_sums.forEach((s, r) => {
          let sum = 0;
          for (let c = 0; c < cols; c++) sum += w.data[r * cols + c];
          assert.ok(Math.abs(sum - s) <= 1e-9 * Math.max(1, Math.abs(s)) + 1e-9, `${name} row ${r}: ${sum} vs ${s}`);
        });
      }
    } finally {
      g.close();
    }
  });
}

matchesTransformers("SmolLM2-135M-Instruct (Q/K un-permuted)", SMOLLM2_GGUF, SKIP_NO_SMOLLM2, "smollm2-gguf-as-hf.json", "llama");
matchesTransformers("Gemma-3-270M (norms without the +1)", GEMMA3_GGUF, SKIP_NO_GEMMA3, "gemma3-gguf-as-hf.json", "gemma3");

test("every tensor of the real Gemma-3-270M GGUF has a transformers name, and its norms lose the folded +1", { skip: SKIP_NO_GEMMA3 }, () => {
  const g = openGguf(GEMMA3_GGUF as string);
  try {
    const names = g.tensors.map((t) => ggufNameToHf(t.name, "gemma3"));
    assert.ok(!names.includes(undefined));
    assert.equal(new Set(names).size, g.tensors.length);
    for (const n of ["pre_feedforward_layernorm", "post_feedforward_layernorm", "post_attention_layernorm", "self_attn.q_norm"]) {
      assert.ok(names.includes(`model.layers.17.${n}.weight`), n);
    }
    const config = configFromGguf(g.metadata, g.tensors.map((t) => t.name));
    const raw = g.readTensor("blk.0.attn_norm.weight");
    const hf = readGgufTensorAsHf(g, "blk.0.attn_norm.weight", config);
    assert.equal(hf?.name, "model.layers.0.input_layernorm.weight");
    assert.deepEqual(Array.from(hf?.data ?? []), Array.from(raw, (v) => Math.fround(v - 1)));
  } finally {
    g.close();
  }
});

describe("weights checked against the config", () => {
  test("the real GGUFs hold exactly the shapes their configs need", { skip: SKIP_NO_SMOLLM2 }, () => {
    for (const [path, family] of [
      [SMOLLM2_GGUF, "llama"],
      [GEMMA3_GGUF, "gemma3"],
    ] as const) {
      if (path === undefined) continue;
      const g = openGguf(path);
      try {
        const config = configFromGguf(g.metadata, g.tensors.map((t) => t.name));
        const shapes = new Map(g.tensors.map((t) => [ggufNameToHf(t.name, family) as string, t.shape]));
        checkWeightShapes(g.path, shapes, config);
        assert.equal(expectedWeights(config).size - (config.tieWordEmbeddings ? 1 : 0), g.tensors.length);
      } finally {
        g.close();
      }
    }
  });

  test("a safetensors file whose shapes do not fit config.json is refused naming the tensor", () => {
    const config = configFromHf({
      model_type: "qwen2",
      hidden_size: 8,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      num_hidden_layers: 1,
      intermediate_size: 16,
      vocab_size: 10,
      hidden_act: "silu",
    });
    const path = join(dir, "tiny-qwen2.safetensors");
    const tensors: Record<string, SafetensorsWriteTensor> = {};
    for (const [name, { shape }] of expectedWeights(config)) {
      tensors[name] = { dtype: "F32", shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
    }
    assert.ok(tensors["model.layers.0.self_attn.k_proj.bias"], "qwen2 has q/k/v bias");
    tensors["model.layers.0.self_attn.k_proj.weight"] = { dtype: "F32", shape: [8, 8], data: new Float32Array(64) };
    writeSafetensors(path, tensors);
    const f = openSafetensors(path);
    const shapes = new Map(f.tensors.map((t) => [t.name, t.shape]));
    f.close();
    assert.throws(
      () => checkWeightShapes(path, shapes, config),
      (e: unknown) => e instanceof FileFormatError && e.location === 'tensors["model.layers.0.self_attn.k_proj.weight"]' && /\[8, 8\].*\[4, 8\]/.test(e.message),
    );
    shapes.delete("model.layers.0.self_attn.k_proj.weight");
    assert.throws(() => checkWeightShapes(path, shapes, config), (e: unknown) => e instanceof FileFormatError && /is missing/.test(e.message));
  });
});
