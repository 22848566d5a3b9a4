// Zero-shot vs fine-tuned and our engine vs node-llama-cpp, with scripted models: the files, the
// deltas, reusing earlier evaluations, task-by-task agreement, and refusing what cannot run.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { ChatMessage } from "../../src/agent/chat-model.js";
import { ScriptedModel } from "../../src/agent/scripted-model.js";
import { InvalidInputError } from "../../src/errors.js";
import { type ComparisonResult, runComparison } from "../../src/experiment/compare.js";
import { type ParityResult, runParity } from "../../src/experiment/parity.js";
import { writeTinyModel } from "../../src/experiment/tiny-model.js";
import type { ModelRequest } from "../../src/infer/resolve.js";
import { openGguf } from "../../src/model/gguf.js";
import { writeGguf } from "../../src/model/gguf-writer.js";
import { exportPeftAdapter } from "../../src/train/export-peft.js";
import { baseWeightsFor, TINY_QWEN2, tinyAdapter } from "../train/tiny-adapter.js";
import { competent, MACHINE, scriptedOpener, TASKS } from "./helpers.js";
import { parseXml } from "./xml.js";

const root = mkdtempSync(join(tmpdir(), "agenttune-compare-"));
after(() => rmSync(root, { recursive: true, force: true }));
const folderModel = writeTinyModel(join(root, "tiny-model"));
const adapter = join(root, "adapter");
exportPeftAdapter(adapter, tinyAdapter());
// A GGUF header is all the model resolution reads before the (scripted) model opens.
const ggufModel = join(root, "base.gguf");
writeGguf(ggufModel, { metadata: { "general.architecture": "qwen2", "qwen2.attention.head_count": TINY_QWEN2.heads, "qwen2.attention.head_count_kv": TINY_QWEN2.kvHeads }, tensors: baseWeightsFor(tinyAdapter()) });

describe("experiment compare", () => {
  const out = join(root, "compare");

  it("evaluates the base and the adapter on the same tasks and writes the table, the JSON and the chart", async () => {
    const opened: ModelRequest[] = [];
    const { result, files } = await runComparison({ model: folderModel, adapter, tasks: TASKS, outputDir: out, machine: MACHINE, openModel: scriptedOpener((r) => r.adapter !== undefined, opened), command: "agenttune experiment compare …" });
    assert.deepEqual(
      opened.map((r) => [r.engine, r.adapter]),
      [
        ["own", undefined],
        ["own", adapter],
      ],
    );
    for (const f of [files.json, files.markdown, files.chart, join(out, "zero-shot", "eval.json"), join(out, "fine-tuned", "eval.json")]) assert.ok(existsSync(f), f);
    const json = JSON.parse(readFileSync(files.json, "utf8")) as ComparisonResult;
    const success = json.metrics.find((m) => m.key === "taskSuccess");
    assert.deepEqual([success?.a.numerator, success?.b.numerator, success?.delta], [0, 2, 1]);
    assert.equal(json.metrics.length, 9, "every metric of SPECS §4");
    assert.deepEqual(json.columns, ["zero-shot", "fine-tuned"]);
    assert.equal(json.zeroShot.ran, true);
    assert.equal(result.failureRates.find((f) => f.kind === "no_answer")?.delta, -1);
    const md = readFileSync(files.markdown, "utf8");
    assert.match(md, /\| Metric \| zero-shot \| fine-tuned \| Δ \|/);
    assert.match(md, /\| Task success \| 0\/2 \(0\.0 %\) \| 2\/2 \(100\.0 %\) \| \+100\.0 pts ▲ \|/);
    assert.match(md, /## How this was made/);
    assert.match(md, /!\[Zero-shot vs fine-tuned: .*\]\(compare\.svg\)/);
    const svg = parseXml(readFileSync(files.chart, "utf8"));
    assert.ok(svg.some((e) => e.name === "text" && e.text === "Task success"));
    assert.ok(svg.some((e) => e.name === "text" && e.text === "fine-tuned"));
  });

  it("reuses earlier evaluations given as files, opening no model", async () => {
    const opened: ModelRequest[] = [];
    const { result } = await runComparison({
      zeroShotEval: join(out, "zero-shot"),
      finetunedEval: join(out, "fine-tuned", "eval.json"),
      outputDir: join(root, "compare-again"),
      machine: MACHINE,
      openModel: scriptedOpener(() => true, opened),
    });
    assert.equal(opened.length, 0);
    assert.equal(result.zeroShot.ran, false);
    assert.equal(result.metrics.find((m) => m.key === "taskSuccess")?.delta, 1);
  });

  it("names what is missing: the adapter, the model, the tasks file", async () => {
    const field = (f: string) => (e: unknown) => e instanceof InvalidInputError && e.field === f;
    await assert.rejects(runComparison({ model: folderModel, tasks: TASKS, outputDir: join(root, "x") }), field("adapter"));
    await assert.rejects(runComparison({ adapter, tasks: TASKS, outputDir: join(root, "x") }), field("model"));
    await assert.rejects(runComparison({ model: folderModel, adapter, tasksFile: join(root, "none.jsonl"), outputDir: join(root, "x") }), (e: unknown) => field("tasks")(e) && /none\.jsonl does not exist/.test((e as Error).message));
    // a missing adapter is found before the zero-shot evaluation runs a single task
    const opened: ModelRequest[] = [];
    await assert.rejects(
      runComparison({ model: folderModel, adapter: join(root, "no-adapter"), tasks: TASKS, outputDir: join(root, "x"), machine: MACHINE, openModel: scriptedOpener(() => false, opened) }),
      /no-adapter/,
    );
    assert.deepEqual(opened, []);
  });

  it("with a GGUF base and a PEFT folder, node-llama-cpp gets the adapter exported as a GGUF LoRA", async () => {
    const opened: ModelRequest[] = [];
    await runComparison({ model: ggufModel, adapter, tasks: TASKS.slice(0, 1), outputDir: join(root, "compare-gguf"), machine: MACHINE, openModel: scriptedOpener(() => false, opened) });
    const gguf = join(root, "compare-gguf", "adapter.gguf");
    assert.deepEqual(opened[1], { model: ggufModel, engine: "llama", adapter: gguf, device: "cpu" });
    const file = openGguf(gguf);
    assert.equal(file.metadata["adapter.type"], "lora");
    file.close();
  });
});

describe("experiment parity", () => {
  it("evaluates the PEFT folder on our engine and the GGUF LoRA through node-llama-cpp, metric by metric and task by task", async () => {
    const opened: ModelRequest[] = [];
    const out = join(root, "parity");
    const { result, files } = await runParity({
      model: ggufModel,
      adapter,
      tasks: TASKS,
      outputDir: out,
      machine: MACHINE,
      // the engines agree on the weather task; node-llama-cpp's stand-in fails the other
      openModel: async (r) => {
        opened.push(r);
        const oslo = (m: ChatMessage[]) => m.some((x) => x.role === "user" && x.content.includes("Oslo"));
        return new ScriptedModel({ id: r.model, script: (m: ChatMessage[]) => (r.engine === "llama" && !oslo(m) ? "no idea" : competent(m)) });
      },
    });
    assert.deepEqual(
      opened.map((r) => [r.engine, r.adapter]),
      [
        ["own", adapter],
        ["llama", join(out, "adapter.gguf")],
      ],
    );
    for (const f of [files.json, files.markdown, files.chart, join(out, "own", "eval.json"), join(out, "llama", "eval.json")]) assert.ok(existsSync(f), f);
    const json = JSON.parse(readFileSync(files.json, "utf8")) as ParityResult;
    assert.deepEqual(json.agreement, result.agreement);
    assert.equal(json.agreement.compared, 2);
    assert.deepEqual([json.agreement.sameCalls.numerator, json.agreement.sameAnswer.numerator, json.agreement.identical.numerator], [2, 1, 1]);
    const capital = json.agreement.tasks.find((t) => t.id === "capital");
    assert.deepEqual([capital?.a.status, capital?.b.status, capital?.a.answer], ["answered", "no_answer", "Paris."]);
    const weather = json.agreement.tasks.find((t) => t.id === "weather-oslo");
    assert.deepEqual(weather?.a.calls, ['get_weather({"city":"Oslo"})']);
    const md = readFileSync(files.markdown, "utf8");
    assert.match(md, /\| Metric \| our engine \| node-llama-cpp \| Δ \|/);
    assert.match(md, /\| Tool calls \(names and arguments, in order\) \| 2\/2 \(100\.0 %\) \|/);
    assert.match(md, /### Runs that differ \(1 of 1\)/);
    assert.match(md, /\| capital \| answered; no call; Paris\. \| no_answer; no call; \(none\) \|/);
    assert.doesNotThrow(() => parseXml(readFileSync(files.chart, "utf8")));
  });

  it("refuses a model folder, which node-llama-cpp cannot run, before evaluating anything", async () => {
    const opened: ModelRequest[] = [];
    await assert.rejects(
      runParity({ model: folderModel, adapter, tasks: TASKS, outputDir: join(root, "parity-folder"), openModel: scriptedOpener(() => true, opened) }),
      (e: unknown) => e instanceof InvalidInputError && e.field === "model" && /node-llama-cpp runs GGUF files/.test(e.message),
    );
    assert.equal(opened.length, 0);
  });
});
