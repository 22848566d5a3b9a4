// The quickstart's plumbing: stages in order, files written, the fine-tuned run sees the GGUF LoRA,
// the comparison names both runs. The model is scripted and training is a stand-in that writes
// an adapter; the real engine and llama.cpp are covered by their own tests.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { ChatMessage } from "../../src/agent/chat-model.js";
import { ScriptedModel } from "../../src/agent/scripted-model.js";
import type { Task } from "../../src/data/task.js";
import { openGguf } from "../../src/model/gguf.js";
import { writeGguf } from "../../src/model/gguf-writer.js";
import { pickTasks, quickstart, type QuickstartStage } from "../../src/pipeline/quickstart.js";
import { exportPeftAdapter } from "../../src/train/export-peft.js";
import { baseWeightsFor, TINY_QWEN2, tinyAdapter } from "../train/tiny-adapter.js";

const root = mkdtempSync(join(tmpdir(), "agenttune-quickstart-"));
after(() => rmSync(root, { recursive: true, force: true }));

describe("quickstart", () => {
  it("picks evaluation tasks evenly across categories, in file order", () => {
    const t = (id: string, category: string) => ({ id, query: id, expected_tools: [], category }) as unknown as Task;
    const tasks = [t("a1", "a"), t("a2", "a"), t("a3", "a"), t("b1", "b"), t("c1", "c"), t("c2", "c")];
    assert.deepEqual(
      pickTasks(tasks, 5).map((x) => x.id),
      ["a1", "b1", "c1", "a2", "c2"],
    );
    assert.equal(pickTasks(tasks, 50).length, 6);
  });

  it("runs every stage in order, writes every artefact and compares zero-shot with fine-tuned", async () => {
    const base = join(root, "base.gguf");
    writeGguf(base, { metadata: { "general.architecture": "qwen2", "qwen2.attention.head_count": TINY_QWEN2.heads, "qwen2.attention.head_count_kv": TINY_QWEN2.kvHeads }, tensors: baseWeightsFor(tinyAdapter()) });
    const out = join(root, "run");
    const stages: QuickstartStage[] = [];
    const opened: { adapter?: string; engine?: string }[] = [];
    // zero-shot: garbage; fine-tuned: answers directly
    const model = (adapter?: string) =>
      new ScriptedModel({ script: (_m: ChatMessage[]) => (adapter ? "Thought: I can answer.\nAnswer: done" : "I am not sure what to do") });
    const result = await quickstart({
      model: base,
      outputDir: out,
      samples: 12,
      evalTasks: 6,
      onStage: (s) => stages.push(s),
      openModel: async (r) => {
        opened.push({ adapter: r.adapter, engine: r.engine });
        return model(r.adapter);
      },
      finetune: async (o) => {
        assert.equal(o.examples.length, 12);
        assert.equal(o.model, base);
        const adapterDir = join(o.outputDir, "adapter");
        exportPeftAdapter(adapterDir, tinyAdapter());
        return { steps: 3, totalSteps: 3, finalLoss: 0.5, logFile: join(o.outputDir, "train_log.jsonl"), checkpointDir: join(o.outputDir, "checkpoint"), adapterDir, examples: 12 };
      },
    });
    assert.deepEqual(stages, ["data", "zero-shot", "train", "export", "fine-tuned", "compare"]);
    assert.deepEqual(opened, [
      { adapter: undefined, engine: "llama" },
      { adapter: join(out, "adapter.gguf"), engine: "llama" },
    ]);
    for (const f of ["train.jsonl", "zero-shot/eval.json", "fine-tuned/eval.json", "adapter.gguf", "comparison.md"]) assert.ok(existsSync(join(out, f)), f);
    const g = openGguf(join(out, "adapter.gguf"));
    assert.equal(g.metadata["adapter.type"], "lora");
    g.close();
    assert.equal(result.zeroShot.records.length, 6);
    assert.equal(result.zeroShot.aggregates.overall.metrics.taskSuccess.numerator, 0);
    assert.equal(result.fineTuned.aggregates.overall.metrics.taskSuccess.numerator, 6);
    const md = readFileSync(join(out, "comparison.md"), "utf8");
    assert.match(md, /zero-shot/);
    assert.match(md, /fine-tuned/);
  });

  it("refuses a model folder, which the quickstart does not take", async () => {
    await assert.rejects(quickstart({ model: root, outputDir: join(root, "x") }), /catalog name or a \.gguf file/);
  });
});
