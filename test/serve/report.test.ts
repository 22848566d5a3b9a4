import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ScriptedModel } from "../../src/agent/scripted-model.js";
import { runCli } from "../../src/cli/main.js";
import { reportCommand } from "../../src/cli/report.js";
import { writeEvalResult } from "../../src/eval/files.js";
import { renderHtmlReport } from "../../src/eval/html-report.js";
import { evaluate } from "../../src/eval/runner.js";
import { competentModel, tasks, testTools } from "../eval/fixtures.js";

function lazyModel(): ScriptedModel {
  return new ScriptedModel({ id: "/models/lazy.gguf", script: () => "Thought: easy.\nAnswer: Paris <b>bold</b>" });
}

async function twoRuns() {
  const zero = await evaluate({ model: lazyModel(), tasks, tools: testTools });
  const tuned = await evaluate({ model: competentModel("/models/lazy.gguf"), tasks, tools: testTools, adapter: "runs/adapter" });
  return [zero, tuned];
}

test("the HTML report has the metric table with deltas, bars, loss curves, failures and trajectories", async () => {
  const [zero, tuned] = await twoRuns();
  const html = renderHtmlReport([zero, tuned], {
    trainLog: [
      { step: 1, loss: 2.5 },
      { step: 2, loss: 1.8, eval_loss: 2.0 },
      { step: 3, loss: 1.1 },
    ],
    generated: new Date("2026-01-01T00:00:00Z"),
  });
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /<th>.*lazy\.gguf<\/th><th>.*lazy\.gguf \+ adapter<\/th><th>Δ<\/th>/);
  assert.match(html, /<th scope="row">Tool selection<small>tasks with expected tools<\/small><\/th><td>0\/2 \(0\.0 %\)<\/td><td>2\/2 \(100\.0 %\)<\/td><td class="up">\+100\.0 pt<\/td>/);
  assert.match(html, /<h2>Zero-shot vs fine-tuned<\/h2>/);
  assert.match(html, /<h2>Loss curves<\/h2>/);
  assert.match(html, /training loss: 1\.1000 at step 3; validation loss: 2\.0000 at step 2/);
  assert.match(html, /<h2>Failure breakdown<\/h2>/);
  assert.match(html, /<h2>Example trajectories<\/h2>/);
  assert.match(html, /Action: <code>\{&quot;name&quot;: &quot;get_weather&quot;/);
  // Model text is escaped, and the page loads nothing from elsewhere.
  assert.ok(html.includes("Paris &lt;b&gt;bold&lt;/b&gt;"));
  assert.ok(!html.includes("<b>bold</b>"));
  assert.ok(!/<script|src="http|href="http/.test(html));
});

test("agenttune report writes the page from eval folders and a training log", async () => {
  const dir = mkdtempSync(join(tmpdir(), "agenttune-report-"));
  try {
    const [zero, tuned] = await twoRuns();
    await writeEvalResult(join(dir, "zero"), zero);
    await writeEvalResult(join(dir, "tuned"), tuned);
    writeFileSync(join(dir, "log.jsonl"), '{"step": 1, "loss": 2.0}\n\n{"step": 2, "loss": 1.5}\n');
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: () => {}, interactive: false };
    const code = await runCli(["report", join(dir, "zero"), join(dir, "tuned", "eval.json"), "--train-log", join(dir, "log.jsonl"), "--out", join(dir, "r.html")], io, [reportCommand]);
    assert.equal(code, 0);
    assert.match(out.join(""), /wrote .*r\.html \(2 runs, 2 log lines\)/);
    assert.match(readFileSync(join(dir, "r.html"), "utf8"), /<h2>Loss curves<\/h2>/);
    writeFileSync(join(dir, "bad.jsonl"), '{"step": 1}\n{"loss": 1}\n');
    const err: string[] = [];
    const bad = await runCli(["report", join(dir, "zero"), "--train-log", join(dir, "bad.jsonl")], { ...io, err: (t: string) => err.push(t) }, [reportCommand]);
    assert.equal(bad, 2);
    assert.match(err.join(""), /bad\.jsonl \(line 2\): expected an object with a numeric "step"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
