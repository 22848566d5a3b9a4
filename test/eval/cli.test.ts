import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { ChatModel } from "../../src/agent/chat-model.js";
import { compareCommand } from "../../src/cli/compare.js";
import { createEvalCommand, type EvalModelRequest } from "../../src/cli/eval.js";
import { runCli } from "../../src/cli/main.js";
import { readTasks } from "../../src/data/tasks-file.js";
import type { EvalResult } from "../../src/eval/result.js";
import { ScriptedModel } from "../../src/agent/scripted-model.js";
import { competentModel, tasks, testTools } from "./fixtures.js";

const dir = await mkdtemp(join(tmpdir(), "agenttune-eval-cli-"));
after(() => rm(dir, { recursive: true, force: true }));

function capture(interactive = false) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), interactive } };
}

/** An eval command whose model comes from `make` and whose tasks are the fixtures, recording the request. */
function evalWith(make: () => ChatModel) {
  const requests: EvalModelRequest[] = [];
  const files: string[] = [];
  const command = createEvalCommand({
    loadModel: async (request) => {
      requests.push(request);
      return make();
    },
    readTasks: async (file) => {
      files.push(file);
      return tasks;
    },
    tools: testTools,
  });
  return { command, requests, files };
}

test("eval writes eval.json and eval.md, prints the metrics and keeps stdout free of progress", async () => {
  const { command, requests, files } = evalWith(() => competentModel("smollm2.gguf"));
  const c = capture();
  const out = join(dir, "run-a");
  const code = await runCli(["eval", "--model", "smollm2.gguf", "--tasks", "tasks.jsonl", "--out", out, "--max-steps", "5"], c.io, [command]);
  assert.equal(code, 0, c.err.join(""));
  assert.deepEqual(requests, [{ model: "smollm2.gguf", device: "cpu", ...(process.env.OPENAI_API_KEY ? { apiKey: process.env.OPENAI_API_KEY } : {}) }]);
  assert.deepEqual(files, ["tasks.jsonl"]);
  const stdout = c.out.join("");
  assert.match(stdout, /^Tool selection\s+2\/2 \(100\.0 %\)$/m);
  assert.match(stdout, /^Task success\s+3\/3 \(100\.0 %\)$/m);
  assert.doesNotMatch(stdout, /eval \d+\/\d+/);
  const stderr = c.err.join("");
  assert.match(stderr, /eval 3\/3 100%/);
  assert.match(stderr, /wrote .*eval\.json and .*eval\.md/);
  const result = JSON.parse(await readFile(join(out, "eval.json"), "utf8")) as EvalResult;
  assert.equal(result.model, "smollm2.gguf");
  assert.equal(result.settings.maxSteps, 5);
  assert.equal(result.settings.tasksFile, "tasks.jsonl");
  assert.equal(result.records.length, 3);
  assert.match(await readFile(join(out, "eval.md"), "utf8"), /\| Exact tool match \| 2\/2 \(100\.0 %\) \|/);
});

test("eval takes the reference's spellings --model_id, --adapter_path and --output_dir, and --limit", async () => {
  const { command, requests } = evalWith(() => competentModel("base"));
  const c = capture();
  const out = join(dir, "run-b");
  const argv = ["eval", "--model_id", "base", "--adapter_path", "runs/adapter", "--tasks", "t.jsonl", "--output_dir", out, "--limit", "2", "--engine", "llama"];
  assert.equal(await runCli(argv, c.io, [command]), 0, c.err.join(""));
  assert.equal(requests[0].adapter, "runs/adapter");
  assert.equal(requests[0].engine, "llama");
  const result = JSON.parse(await readFile(join(out, "eval.json"), "utf8")) as EvalResult;
  assert.equal(result.adapter, "runs/adapter");
  assert.equal(result.records.length, 2);
});

test("eval without --tasks, or with an unknown engine, is a usage error that says what to do", async () => {
  const { command } = evalWith(() => competentModel());
  const c = capture();
  assert.equal(await runCli(["eval", "--model", "m", "--out", dir], c.io, [command]), 2);
  assert.match(c.err.join(""), /--tasks is required/);
  const d = capture();
  assert.equal(await runCli(["eval", "--model", "m", "--tasks", "t", "--out", dir, "--engine", "vllm"], d.io, [command]), 2);
  assert.match(d.err.join(""), /--engine must be one of llama, openai, own/);
});

test("compare prints the side-by-side table of two eval.json files and writes it with --out", async () => {
  const lazy = evalWith(() => new ScriptedModel({ id: "base", script: () => "Answer: Paris" }));
  const good = evalWith(() => competentModel("base"));
  const c = capture();
  await runCli(["eval", "--model", "base", "--tasks", "t", "--out", join(dir, "zero")], c.io, [lazy.command]);
  await runCli(["eval", "--model", "base", "--adapter", "ft", "--tasks", "t", "--out", join(dir, "tuned")], c.io, [good.command]);
  const d = capture();
  const file = join(dir, "compare.md");
  const argv = ["compare", join(dir, "zero", "eval.json"), join(dir, "tuned"), "--label-a", "zero-shot", "--label-b", "fine-tuned", "--out", file];
  assert.equal(await runCli(argv, d.io, [compareCommand]), 0, d.err.join(""));
  const table = d.out.join("");
  assert.match(table, /\| Metric \| zero-shot \| fine-tuned \| Δ \|/);
  assert.match(table, /\| Tool selection \| 0\/2 \(0\.0 %\) \| 2\/2 \(100\.0 %\) \| \+100\.0 pts ▲ \|/);
  assert.equal(await readFile(file, "utf8"), table);
});

test("compare with three results prints one table a row a run; --labels must name each", async () => {
  const d = capture();
  const zero = join(dir, "zero");
  const tuned = join(dir, "tuned");
  const argv = ["compare", zero, tuned, tuned, "--labels", "zero-shot,tuned,tuned", "--title", "Seeds"];
  assert.equal(await runCli(argv, d.io, [compareCommand]), 0, d.err.join(""));
  const table = d.out.join("");
  assert.match(table, /^# Seeds$/m);
  assert.match(table, /\| zero-shot \| 0\/2 \(0\.0 %\) \|/);
  assert.match(table, /\| tuned \(2 runs\) \| 100\.0 ± 0\.0 \(100\.0–100\.0\) \|/);
  const e = capture();
  assert.equal(await runCli(["compare", zero, tuned, "--labels", "only-one"], e.io, [compareCommand]), 2);
  assert.match(e.err.join(""), /--labels names 1 runs, but 2 results were given/);
  const f = capture();
  assert.equal(await runCli(["compare", zero], f.io, [compareCommand]), 2);
  assert.match(f.err.join(""), /two or more evaluation results, got 1/);
});

test("compare --chart draws the headline metrics, a row a setting, runs sharing a name averaged", async () => {
  const d = capture();
  const chart = join(dir, "metrics.svg");
  const argv = ["compare", join(dir, "zero"), join(dir, "tuned"), join(dir, "tuned"), "--labels", "zero-shot,tuned@s0,tuned@s1", "--chart", chart];
  assert.equal(await runCli(argv, d.io, [compareCommand]), 0, d.err.join(""));
  const svg = await readFile(chart, "utf8");
  assert.match(svg, /^<svg/);
  // two settings × five metrics (tool selection, exact, arguments, answer, abstention)
  const bars = [...svg.matchAll(/<rect [^>]*><title>([^<]*)<\/title>/g)].map((m) => m[1]);
  assert.equal(bars.length, 10, bars.join(" | "));
  assert.ok(bars.some((t) => t === "Tool selection: 100.0 % over 2 runs (100.0 %–100.0 %)"), bars.join(" | "));
  assert.ok(bars.some((t) => t === "Tool selection: 0.0 %"), bars.join(" | "));
  assert.match(svg, />zero-shot<\/text>/);
  assert.match(svg, />tuned<\/text>/);
  assert.match(d.err.join(""), /wrote .*metrics\.svg/);
});

test("compare names a file that is not an evaluation result", async () => {
  const c = capture();
  const code = await runCli(["compare", join(dir, "nope.json"), join(dir, "nope.json")], c.io, [compareCommand]);
  assert.equal(code, 2);
  assert.match(c.err.join(""), /nope\.json: no such file/);
});

test("eval reads a real task file, and a bad line stops it naming the file and line", async () => {
  const command = createEvalCommand({ loadModel: async () => competentModel("m"), readTasks, tools: testTools });
  const file = join(dir, "tasks.jsonl");
  await writeFile(file, `${tasks.map((t) => JSON.stringify(t)).join("\n")}\n`);
  const c = capture();
  assert.equal(await runCli(["eval", "--model", "m", "--tasks", file, "--out", join(dir, "real"), "--category", "single"], c.io, [command]), 0, c.err.join(""));
  const result = JSON.parse(await readFile(join(dir, "real", "eval.json"), "utf8")) as EvalResult;
  assert.deepEqual(
    result.records.map((r) => r.id),
    ["weather-oslo"],
  );
  const bad = join(dir, "bad.jsonl");
  await writeFile(bad, `${JSON.stringify(tasks[0])}\n{"id": "x", "expected_tools": []}\n`);
  const d = capture();
  assert.equal(await runCli(["eval", "--model", "m", "--tasks", bad, "--out", join(dir, "bad")], d.io, [command]), 2);
  assert.match(d.err.join(""), /bad\.jsonl \(line 2, query\)/);
});
