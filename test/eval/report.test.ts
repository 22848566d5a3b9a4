import assert from "node:assert/strict";
import { test } from "node:test";
import { ScriptedModel } from "../../src/agent/scripted-model.js";
import { compareRuns, formatEvalReport } from "../../src/eval/report.js";
import { evaluate } from "../../src/eval/runner.js";
import { competentModel, tasks, testTools } from "./fixtures.js";

/** A model that answers everything at once without calling a tool. */
function lazyModel(): ScriptedModel {
  return new ScriptedModel({ id: "/models/lazy.gguf", script: () => "Thought: easy.\nAnswer: Paris | maybe" });
}

test("the summary lists every metric with its count, the categories, failures and failed examples", async () => {
  const result = await evaluate({ model: lazyModel(), tasks, tools: testTools, tasksFile: "data/eval/tasks.jsonl" });
  const md = formatEvalReport(result);
  assert.match(md, /^# Evaluation: lazy\.gguf$/m);
  assert.match(md, /\| Tool selection \| 0\/2 \(0\.0 %\) \| tasks with expected tools \|/);
  assert.match(md, /\| Exact tool match \| 0\/2 \(0\.0 %\) \|/);
  assert.match(md, /\| Task success \| 3\/3 \(100\.0 %\) \| all tasks \|/);
  assert.match(md, /\| Answer correctness \| 1\/3 \(33\.3 %\) \|/);
  assert.match(md, /\| Abstention \| 1\/1 \(100\.0 %\) \|/);
  assert.match(md, /\| Step efficiency \| 0\/1 \(0\.0 %\) \|/);
  assert.match(md, /from `data\/eval\/tasks\.jsonl`/);
  assert.match(md, /\| abstention \| 1 \| — \| — \| 1\/1 \(100 %\) \| 1\/1 \(100 %\) \| — \| 1\/1 \(100 %\) \|/);
  assert.match(md, /\| Malformed action \| 0\/3 \(0\.0 %\) \| 0 \|/);
  assert.match(md, /How runs ended: answered 3\./);
  assert.match(md, /## Failed examples \(2 of 2\)/);
  assert.match(md, /### weather-ramen — conditional/);
  assert.match(md, /Called: \(nothing\) \(expected: get_weather, search_restaurant\)/);
  assert.ok(!md.includes("### capital"), "a correct run is not a failed example");
});

test("the comparison puts the reference's three metrics first, with deltas in points", async () => {
  const zero = await evaluate({ model: lazyModel(), tasks, tools: testTools });
  const tuned = await evaluate({ model: competentModel("/models/lazy.gguf"), tasks, tools: testTools, adapter: "runs/adapter" });
  const md = compareRuns(zero, tuned);
  const rows = md.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| ---"));
  assert.equal(rows[0], "| Metric | lazy.gguf | lazy.gguf + adapter | Δ |");
  assert.equal(rows[1], "| Tool selection | 0/2 (0.0 %) | 2/2 (100.0 %) | +100.0 pts ▲ |");
  assert.equal(rows[2], "| Exact tool match | 0/2 (0.0 %) | 2/2 (100.0 %) | +100.0 pts ▲ |");
  assert.equal(rows[3], "| Task success | 3/3 (100.0 %) | 3/3 (100.0 %) | ±0.0 pts |");
  assert.match(md, /\| Answer correctness \| 1\/3 \(33\.3 %\) \| 3\/3 \(100\.0 %\) \| \+66\.7 pts ▲ \|/);
  assert.match(md, /\| conditional \| 0\/1 \(0 %\) → 1\/1 \(100 %\) \|/);
  assert.doesNotMatch(md, /differ in tasks/);
  const labelled = compareRuns(zero, tuned, { labels: ["zero-shot", "fine-tuned"] });
  assert.match(labelled, /\| Metric \| zero-shot \| fine-tuned \| Δ \|/);
});

test("a failure rate going down is marked as better, and differing task sets are noted", async () => {
  const broken = await evaluate({
    model: new ScriptedModel({ id: "broken", script: () => "Action: {not json" }),
    tasks,
    tools: testTools,
    maxSteps: 2,
  });
  const fixed = await evaluate({ model: competentModel("fixed"), tasks: tasks.slice(0, 2), tools: testTools });
  const md = compareRuns(broken, fixed);
  assert.match(md, /\| Malformed action \| 3\/3 \(100\.0 %\) \| 0\/2 \(0\.0 %\) \| −100\.0 pts ▲ \|/);
  assert.match(md, /the runs differ in tasks \(3 and 2 tasks, 2 shared\)/);
});
