import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openGguf } from "../../src/model/gguf.js";
import { permuteQK } from "../../src/model/gguf-permute.js";
import { GgufValueType } from "../../src/model/gguf-values.js";
import { writeGguf } from "../../src/model/gguf-writer.js";
import { exportGgufLora, readGgufLora } from "../../src/train/export-gguf-lora.js";
import { tinyAdapter } from "./tiny-adapter.js";

const root = mkdtempSync(join(tmpdir(), "agenttune-gguf-lora-"));
after(() => rmSync(root, { recursive: true, force: true }));
const Q_B = "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight";
const K_B = "base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight";
const Q_A = "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight";

describe("GGUF LoRA export", () => {
  it("reads back to the same adapter: names, shapes, values, rank and alpha (llama's Q/K permutation undone)", () => {
    const adapter = tinyAdapter();
    for (const architecture of ["llama", "qwen2"]) {
      const path = join(root, `roundtrip-${architecture}.gguf`);
      exportGgufLora(path, adapter, { architecture, heads: 4, kvHeads: 2 });
      const back = readGgufLora(path, { architecture, heads: 4, kvHeads: 2 });
      assert.equal(back.rank, adapter.rank);
      assert.equal(back.alpha, adapter.alpha);
      assert.deepEqual([...back.tensors.keys()].sort(), [...adapter.tensors.keys()].sort());
      for (const [name, t] of adapter.tensors) {
        assert.deepEqual(back.tensors.get(name)?.shape, t.shape, name);
        assert.deepEqual(back.tensors.get(name)?.data, t.data, name);
      }
    }
  });

  it("with dtype f16 stores F16 tensors in about half the bytes and reads back within f16 rounding", () => {
    const adapter = tinyAdapter();
    const f32 = join(root, "dtype-f32.gguf");
    const f16 = join(root, "dtype-f16.gguf");
    exportGgufLora(f32, adapter, { architecture: "llama", heads: 4, kvHeads: 2 });
    exportGgufLora(f16, adapter, { architecture: "llama", heads: 4, kvHeads: 2 }, "f16");
    const g = openGguf(f16);
    try {
      for (const t of g.tensors) assert.equal(t.typeName, "F16", t.name);
    } finally {
      g.close();
    }
    const back = readGgufLora(f16, { architecture: "llama", heads: 4, kvHeads: 2 });
    for (const [name, t] of adapter.tensors) {
      const got = back.tensors.get(name)?.data as Float32Array;
      for (let i = 0; i < t.data.length; i++) assert.ok(Math.abs(got[i] - t.data[i]) <= Math.abs(t.data[i]) * 2 ** -10 + 1e-7, `${name}[${i}]`);
    }
    const payload = (path: string) => statSync(path).size;
    assert.ok(payload(f16) < payload(f32), "the f16 file is smaller");
  });

  it("refuses a GGUF that is not a LoRA adapter, naming the field", () => {
    const path = join(root, "not-an-adapter.gguf");
    writeGguf(path, { metadata: { "general.architecture": "llama" }, tensors: [] });
    assert.throws(() => readGgufLora(path, { architecture: "llama", heads: 4, kvHeads: 2 }), /general\.type.*not a GGUF LoRA adapter/);
  });

  it("writes an adapter GGUF with alpha as f32 and llama.cpp tensor names and shapes", () => {
    const path = join(root, "qwen2.gguf");
    const adapter = tinyAdapter();
    exportGgufLora(path, adapter, { architecture: "qwen2" });
    const g = openGguf(path);
    try {
      assert.equal(g.metadata["general.type"], "adapter");
      assert.equal(g.metadata["adapter.type"], "lora");
      assert.equal(g.metadata["general.architecture"], "qwen2");
      assert.equal(g.metadata["adapter.lora.alpha"], 8);
      assert.equal(g.metadataTypes["adapter.lora.alpha"].type, GgufValueType.FLOAT32);
      assert.equal(g.tensors.length, 28);
      assert.deepEqual(g.tensor("blk.1.attn_q.weight.lora_a")?.shape, [4, 32]);
      assert.deepEqual(g.tensor("blk.0.ffn_down.weight.lora_b")?.shape, [32, 4]);
      assert.deepEqual(g.tensor("blk.0.ffn_down.weight.lora_b")?.ne, [4, 32]);
      assert.ok(g.tensor("blk.0.attn_output.weight.lora_a"));
      // qwen2 is not permuted.
      assert.deepEqual(g.readTensor("blk.1.attn_q.weight.lora_b"), adapter.tensors.get(Q_B)?.data);
    } finally {
      g.close();
    }
  });

  it("for llama, lora_b of Q and K is row-permuted like the base and lora_a is not", () => {
    const path = join(root, "llama.gguf");
    const adapter = tinyAdapter();
    exportGgufLora(path, adapter, { architecture: "llama", heads: 4, kvHeads: 2 });
    const g = openGguf(path);
    try {
      const qb = adapter.tensors.get(Q_B);
      const kb = adapter.tensors.get(K_B);
      assert.ok(qb && kb);
      assert.deepEqual(g.readTensor("blk.1.attn_q.weight.lora_b"), permuteQK(qb.data, 32, 4, 4));
      assert.deepEqual(g.readTensor("blk.0.attn_k.weight.lora_b"), permuteQK(kb.data, 16, 4, 2));
      assert.notDeepEqual(g.readTensor("blk.1.attn_q.weight.lora_b"), qb.data);
      assert.deepEqual(g.readTensor("blk.1.attn_q.weight.lora_a"), adapter.tensors.get(Q_A)?.data);
    } finally {
      g.close();
    }
    assert.throws(() => exportGgufLora(join(root, "x.gguf"), adapter, { architecture: "llama" }), /head counts/);
  });
});
