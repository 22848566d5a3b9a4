import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { exportPeftAdapter, readPeftAdapter } from "../../src/train/export-peft.js";
import { tinyAdapter } from "./tiny-adapter.js";

const root = mkdtempSync(join(tmpdir(), "agenttune-peft-"));
after(() => rmSync(root, { recursive: true, force: true }));
const fixture = new URL("../fixtures/train/peft-tiny-qwen2/", import.meta.url).pathname;

describe("PEFT export", () => {
  it("writes the exact files that PEFT was shown to load (fixture)", () => {
    const dir = join(root, "a");
    exportPeftAdapter(dir, tinyAdapter());
    for (const file of ["adapter_config.json", "adapter_model.safetensors"]) {
      assert.deepEqual(readFileSync(join(dir, file)), readFileSync(join(fixture, file)), file);
    }
  });

  it("the adapter reads back with the same config, keys, shapes and values", () => {
    const dir = join(root, "b");
    const adapter = tinyAdapter();
    exportPeftAdapter(dir, adapter);
    const back = readPeftAdapter(dir);
    assert.equal(back.rank, 4);
    assert.equal(back.alpha, 8);
    assert.equal(back.dropout, 0.05);
    assert.equal(back.baseModel, "tiny-qwen2");
    assert.deepEqual(back.targets, ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]);
    assert.equal(back.tensors.size, 28);
    for (const [name, t] of adapter.tensors) {
      assert.deepEqual(back.tensors.get(name)?.shape, t.shape, name);
      assert.deepEqual(back.tensors.get(name)?.data, t.data, name);
    }
    const config = JSON.parse(readFileSync(join(dir, "adapter_config.json"), "utf8"));
    assert.equal(config.peft_type, "LORA");
    assert.equal(config.task_type, "CAUSAL_LM");
    assert.equal(config.bias, "none");
  });

  it("a wrong key or a shape of another rank is refused before anything is written", () => {
    const bad = { ...tinyAdapter(), tensors: new Map([["model.layers.0.q.weight", { shape: [4, 32], data: new Float32Array(128) }]]) };
    assert.throws(() => exportPeftAdapter(join(root, "c"), bad), /not a PEFT LoRA tensor name/);
    const wrongRank = {
      ...tinyAdapter(),
      tensors: new Map([["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", { shape: [8, 32], data: new Float32Array(256) }]]),
    };
    assert.throws(() => exportPeftAdapter(join(root, "d"), wrongRank), /not rank 4/);
    assert.throws(() => exportPeftAdapter(join(root, "e"), { ...tinyAdapter(), targets: ["qq"] }), /unknown LoRA target "qq"/);
  });
});
