import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { FileFormatError, InvalidInputError } from "../../src/errors.js";
import { UnsupportedModelError } from "../../src/model/config.js";
import { loadHfFolder } from "../../src/model/hf-folder.js";
import { writeSafetensors } from "../../src/model/safetensors.js";
import { TINY_LLAMA_CONFIG, tinyLlamaWeights } from "./tiny-model.js";

const root = mkdtempSync(join(tmpdir(), "agenttune-hf-"));
after(() => rmSync(root, { recursive: true, force: true }));

function folder(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(TINY_LLAMA_CONFIG));
  return dir;
}

describe("Hugging Face model folders", () => {
  test("a folder gives its config, tokenizer, chat template, generation config and weights", () => {
    const dir = folder("full");
    writeFileSync(join(dir, "tokenizer.json"), "{}");
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ chat_template: "{{ messages }}", eos_token: "<|im_end|>" }));
    writeFileSync(join(dir, "generation_config.json"), JSON.stringify({ eos_token_id: [2, 7], do_sample: false }));
    writeSafetensors(join(dir, "model.safetensors"), { ...tinyLlamaWeights(), "model.norm.weight": { dtype: "BF16", shape: [8], data: Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8) } });
    const m = loadHfFolder(dir);
    assert.equal(m.config.family, "llama");
    assert.equal(m.config.hiddenSize, 8);
    assert.equal(m.tokenizerPath, join(dir, "tokenizer.json"));
    assert.equal(m.chatTemplate, "{{ messages }}");
    assert.deepEqual(m.eosTokenIds, [2, 7]);
    assert.equal(m.generationConfig?.do_sample, false);
    const w = m.openWeights();
    assert.deepEqual(Array.from(w.readTensor("model.norm.weight")), [1, 2, 3, 4, 5, 6, 7, 8]);
    w.close();
  });

  test("chat_template.jinja beside the tokenizer config wins; a list of templates gives the default one", () => {
    const dir = folder("jinja");
    writeSafetensors(join(dir, "model.safetensors"), {});
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ chat_template: [{ name: "tool_use", template: "T" }, { name: "default", template: "D" }] }));
    assert.equal(loadHfFolder(dir).chatTemplate, "D");
    writeFileSync(join(dir, "chat_template.jinja"), "J");
    assert.equal(loadHfFolder(dir).chatTemplate, "J");
  });

  test("sharded weights are found through the index", () => {
    const dir = folder("sharded");
    const all = Object.entries(tinyLlamaWeights());
    const half = Math.floor(all.length / 2);
    const shards = [Object.fromEntries(all.slice(0, half)), Object.fromEntries(all.slice(half))];
    const weightMap: Record<string, string> = {};
    shards.forEach((tensors, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(join(dir, file), tensors);
      for (const name of Object.keys(tensors)) weightMap[name] = file;
    });
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: weightMap }));
    const m = loadHfFolder(dir);
    assert.match(m.weightsPath, /index\.json$/);
    const w = m.openWeights();
    assert.equal(w.tensors.length, all.length);
    assert.equal(w.readTensor("model.layers.1.mlp.down_proj.weight")[7], 1);
    w.close();
  });

  test("weights that do not fit config.json are refused when opened, naming the tensor", () => {
    const dir = folder("misfit");
    writeSafetensors(join(dir, "model.safetensors"), { ...tinyLlamaWeights(), "model.layers.1.self_attn.v_proj.weight": { dtype: "F32", shape: [8, 8], data: new Float32Array(64) } });
    const m = loadHfFolder(dir);
    assert.throws(() => m.openWeights(), (e: unknown) => e instanceof FileFormatError && e.location === 'tensors["model.layers.1.self_attn.v_proj.weight"]');
  });

  test("missing pieces and unsupported models are named", () => {
    assert.throws(() => loadHfFolder(join(root, "nope")), InvalidInputError);
    const empty = join(root, "empty");
    mkdirSync(empty);
    assert.throws(() => loadHfFolder(empty), (e: unknown) => e instanceof FileFormatError && /config\.json/.test(e.message));
    const noWeights = folder("noweights");
    assert.throws(() => loadHfFolder(noWeights), (e: unknown) => e instanceof FileFormatError && /model\.safetensors/.test(e.message));
    const bad = folder("badjson");
    writeFileSync(join(bad, "config.json"), "{");
    assert.throws(() => loadHfFolder(bad), (e: unknown) => e instanceof FileFormatError && e.file === join(bad, "config.json"));
    const mistral = folder("mistral");
    writeFileSync(join(mistral, "config.json"), JSON.stringify({ model_type: "mistral" }));
    assert.throws(() => loadHfFolder(mistral), (e: unknown) => e instanceof UnsupportedModelError && /mistral/.test(e.message));
  });
});
