// `agenttune train` with the real engine (no fakes) on a tiny random Llama-style folder with a
// real byte-level BPE tokenizer: the loss falls, every step is logged, the adapter is PEFT's.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runCli } from "../../src/cli/main.js";
import { trainCommand } from "../../src/cli/train.js";
import { randomWeights } from "../../src/experiment/tiny-model.js";
import { ModelPathError } from "../../src/model/locate.js";
import { writeSafetensors } from "../../src/model/safetensors.js";
import { loadTokenizerJson } from "../../src/model/tokenizer.js";
import { keepExpansionByDefault, loadTrainModel, projectionWeights, trainingTemplate } from "../../src/train/decoder-engine.js";
import { readPeftAdapter } from "../../src/train/export-peft.js";

const root = mkdtempSync(join(tmpdir(), "agenttune-engine-"));
after(() => rmSync(root, { recursive: true, force: true }));

const tokenizerJson = JSON.parse(readFileSync(new URL("../fixtures/tokenizer/synthetic-bytelevel.json", import.meta.url), "utf8")).tokenizer;
const CONFIG = {
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  hidden_size: 32,
  intermediate_size: 64,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  num_hidden_layers: 2,
  vocab_size: 608,
  hidden_act: "silu",
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: true,
  bos_token_id: 1,
  eos_token_id: 2,
};

function writeTinyModel(dir: string, chatTemplate?: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(CONFIG));
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tokenizerJson));
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ bos_token: "<s>", eos_token: "</s>", ...(chatTemplate ? { chat_template: chatTemplate } : {}) }));
  writeSafetensors(join(dir, "model.safetensors"), randomWeights(CONFIG, 7));
}

const modelDir = join(root, "tiny");
writeTinyModel(modelDir);
const dataFile = join(root, "train.jsonl");
writeFileSync(
  dataFile,
  `${Array.from({ length: 4 }, (_, i) =>
    JSON.stringify({
      id: `ex-${i}`,
      query: `What is ${i} plus ${i}?`,
      expected_tools: ["calculator"],
      messages: [
        { role: "system", content: "Answer with tools." },
        { role: "user", content: `What is ${i} plus ${i}?` },
        { role: "assistant", content: `Thought: I add them.\nAction: {"name": "calculator", "arguments": {"expression": "${i}+${i}"}}` },
        { role: "tool", content: `Observation: {"result": ${2 * i}}` },
        { role: "assistant", content: `Thought: done.\nAnswer: ${2 * i}` },
      ],
    }),
  ).join("\n")}\n`,
);

describe("the training engine", () => {
  it("agenttune train on a model folder: the loss falls over the epochs and the adapter is PEFT's", async () => {
    const out = join(root, "run");
    let err = "";
    let stdout = "";
    const code = await runCli(
      ["train", "--model", modelDir, "--data", dataFile, "--output-dir", out, "--epochs", "8", "--grad-accum", "1", "--batch-size", "2", "--lr", "2e-2", "--rank", "4", "--alpha", "8", "--dropout", "0.05", "--save-every", "0"],
      { out: (t) => (stdout += t), err: (t) => (err += t), interactive: false },
      [trainCommand],
    );
    assert.equal(code, 0, err);
    const log = readFileSync(join(out, "train_log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { loss: number; step: number });
    assert.equal(log.length, 16);
    const first = (log[0]!.loss + log[1]!.loss) / 2;
    const last = (log[14]!.loss + log[15]!.loss) / 2;
    assert.ok(last < first * 0.9, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
    const adapter = readPeftAdapter(join(out, "adapter"));
    assert.equal(adapter.rank, 4);
    assert.equal(adapter.tensors.size, 2 * 7 * CONFIG.num_hidden_layers);
    assert.deepEqual(adapter.tensors.get("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight")?.shape, [32, 4]);
    assert.match(stdout, /trained 16\/16 steps/);
  });

  it("renders observations as user turns with the model's own chat template, the loss on assistant text only", async () => {
    const template = "{% for m in messages %}[{{ m.role }}]{{ m.content }}{% if m.role == 'assistant' %}{{ eos_token }}{% endif %}{{ '\\n' }}{% endfor %}";
    const tokenizer = loadTokenizerJson(tokenizerJson, { config: { bos_token: "<s>", eos_token: "</s>" } });
    const segments = trainingTemplate(tokenizer, template)([
      { role: "user", content: "q" },
      { role: "assistant", content: "Thought: t\nAction: {}" },
      { role: "tool", content: "Observation: {}" },
    ]);
    assert.equal(segments.map((s) => s.text).join(""), "[user]q\n[assistant]Thought: t\nAction: {}</s>\n[user]Observation: {}\n");
    assert.deepEqual(
      segments.filter((s) => s.train).map((s) => s.text),
      ["Thought: t\nAction: {}</s>"],
    );
  });

  it("a model that does not exist is refused with the catalog in the hint", async () => {
    await assert.rejects(loadTrainModel({ model: join(root, "nope.gguf"), backend: "cpu", lora: { rank: 4, alpha: 8, dropout: 0, targets: ["q"], seed: 0 } }), (e: Error) => {
      // the same error, from the same locator, as inference gives
      assert.ok(e instanceof ModelPathError);
      assert.match(e.message, /nope\.gguf: no such file, folder or catalog model/);
      assert.match((e as ModelPathError).hint ?? "", /smollm2-135m-instruct/);
      return true;
    });
  });

  it("a recompute mode on the CPU is refused before the model is read", async () => {
    await assert.rejects(loadTrainModel({ model: join(root, "nope.gguf"), backend: "cpu", recompute: "selective", lora: { rank: 4, alpha: 8, dropout: 0, targets: ["q"], seed: 0 } }), /activation recomputation \("selective"\) is a CUDA option/);
  });
});

describe("keeping the NF4 base expanded on the CPU", () => {
  // SmolLM2-135M's shape: 30 layers, hidden 576, 9 heads (3 kv) of 64, intermediate 1536
  const smollm2 = { numLayers: 30, hiddenSize: 576, intermediateSize: 1536, numHeads: 9, numKvHeads: 3, headDim: 64 };
  it("counts the seven projections' weights", () => {
    assert.equal(projectionWeights(smollm2), 30 * (2 * 576 * 576 + 2 * 192 * 576 + 3 * 1536 * 576));
  });
  it("keeps it when the float32 copy takes at most a quarter of the memory, and follows the variable", () => {
    const bytes = projectionWeights(smollm2) * 4;
    assert.equal(keepExpansionByDefault(smollm2, {}, bytes * 4), true);
    assert.equal(keepExpansionByDefault(smollm2, {}, bytes * 4 - 1), false);
    assert.equal(keepExpansionByDefault(smollm2, { AGENTTUNE_CPU_KEEP_EXPANDED: "off" }, bytes * 100), false);
    assert.equal(keepExpansionByDefault(smollm2, { AGENTTUNE_CPU_KEEP_EXPANDED: "on" }, 1), true);
    assert.throws(() => keepExpansionByDefault(smollm2, { AGENTTUNE_CPU_KEEP_EXPANDED: "yes" }), /AGENTTUNE_CPU_KEEP_EXPANDED is "yes"/);
  });
});
