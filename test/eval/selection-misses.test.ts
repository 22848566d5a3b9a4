import assert from "node:assert/strict";
import { test } from "node:test";
import { ScriptedModel } from "../../src/agent/scripted-model.js";
import { formatEvalReport } from "../../src/eval/report.js";
import type { TaskRecord } from "../../src/eval/result.js";
import { evaluate } from "../../src/eval/runner.js";
import { countSelectionMisses, selectionMiss } from "../../src/eval/selection-misses.js";
import { tasks, testTools } from "./fixtures.js";

/** A record of a run that expected `expected` and called `called` (only the fields the reasons read). */
function run(expected: string[], called: string[], options: { selected?: boolean | null; malformed?: boolean } = {}): TaskRecord {
  const selected = options.selected ?? (expected.length === 0 ? null : expected.every((t) => called.includes(t)));
  return {
    expectedTools: expected,
    toolCalls: called.map((name) => ({ name, arguments: {} })),
    failures: options.malformed ? [{ kind: "malformed_action", step: 1, message: "no JSON" }] : [],
    score: { toolSelection: selected },
  } as unknown as TaskRecord;
}

test("each way of missing tool selection gets its reason", () => {
  assert.equal(selectionMiss(run(["get_time"], [], { malformed: true })), "malformed");
  assert.equal(selectionMiss(run(["get_time"], [])), "no_call");
  assert.equal(selectionMiss(run(["get_stock_price", "convert_currency"], ["search_web", "get_stock_price"])), "wrong_first");
  assert.equal(selectionMiss(run(["get_stock_price", "convert_currency"], ["get_stock_price"])), "stopped_early");
  assert.equal(selectionMiss(run(["get_weather", "get_weather", "calculator"], ["get_weather", "get_weather"])), "stopped_early");
  assert.equal(selectionMiss(run(["get_stock_price", "convert_currency"], ["get_stock_price", "send_email"])), "wrong_later");
});

test("runs that selected their tools, or needed none, have no reason", () => {
  assert.equal(selectionMiss(run(["get_time"], ["get_time"])), null);
  assert.equal(selectionMiss(run([], [])), null);
  assert.equal(selectionMiss(run([], ["get_time"])), null);
  assert.deepEqual(countSelectionMisses([run(["a"], []), run(["a"], []), run(["a", "b"], ["a"]), run(["a"], ["a"])]), {
    malformed: 0,
    no_call: 2,
    wrong_first: 0,
    stopped_early: 1,
    wrong_later: 0,
  });
});

test("the summary says why tool selection missed, and leaves the section out when nothing missed", async () => {
  const lazy = new ScriptedModel({ id: "lazy", script: () => "Thought: easy.\nAnswer: Paris" });
  const md = formatEvalReport(await evaluate({ model: lazy, tasks, tools: testTools }));
  assert.match(md, /## Why tool selection missed \(2 runs\)/);
  assert.match(md, /\| Nothing called: answered without a tool \| 2 \|/);
  assert.match(md, /\| Stopped before the last needed tool \| 0 \|/);
  const abstaining = tasks.filter((t) => (t.expected_tools ?? []).length === 0);
  const none = formatEvalReport(await evaluate({ model: lazy, tasks: abstaining, tools: testTools }));
  assert.ok(!none.includes("Why tool selection missed"));
});
