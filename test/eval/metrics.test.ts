import assert from "node:assert/strict";
import { test } from "node:test";
import type { Task } from "../../src/data/task.js";
import {
  aggregateScores,
  argumentsEqual,
  formatRate,
  matchCalls,
  rate,
  type ScorableResult,
  scoreTask,
} from "../../src/eval/metrics.js";
import type { ToolCall } from "../../src/tools/types.js";

const weather: ToolCall = { name: "get_weather", arguments: { city: "Tokyo" } };
const ramen: ToolCall = { name: "search_restaurant", arguments: { location: "Tokyo", cuisine: "ramen" } };

const weatherRamen: Task = {
  id: "weather-ramen-1",
  query: "What's the weather in Tokyo? If it's cold, recommend a ramen place.",
  expected_tools: ["get_weather", "search_restaurant"],
  expected_calls: [weather],
  min_steps: 2,
  max_steps: 4,
  answer_contains: ["Tokyo"],
  category: "conditional",
};

const noTool: Task = { id: "capital", query: "What is the capital of France?", expected_tools: [], category: "abstention" };

function result(partial: Partial<ScorableResult>): ScorableResult {
  return { status: "answered", answer: "", toolCalls: [], failures: [], steps: 1, ...partial };
}

test("a run that calls both expected tools and answers scores on every metric", () => {
  const s = scoreTask(weatherRamen, result({ answer: "In TOKYO it is 8 °C; try Ichiran.", toolCalls: [weather, ramen], steps: 3 }));
  assert.equal(s.taskSuccess, true);
  assert.equal(s.answerCorrectness, true);
  assert.equal(s.toolSelection, true);
  assert.equal(s.exactToolMatch, true);
  assert.equal(s.orderedToolMatch, true);
  assert.equal(s.argumentMatch, true);
  assert.deepEqual(s.argumentCalls, { matched: 1, expected: 1 });
  assert.equal(s.stepEfficiency, true);
  assert.equal(s.abstention, null);
  assert.equal(s.category, "conditional");
});

test("task success is ending in an Answer; answer correctness also needs every answer_contains, case-insensitive", () => {
  const wrong = scoreTask(weatherRamen, result({ answer: "It is cold.", toolCalls: [weather, ramen], steps: 3 }));
  assert.equal(wrong.taskSuccess, true);
  assert.equal(wrong.answerCorrectness, false);
  const failed = scoreTask(weatherRamen, result({ status: "step_limit", answer: undefined, toolCalls: [weather, ramen], steps: 4 }));
  assert.equal(failed.taskSuccess, false);
  assert.equal(failed.answerCorrectness, false);
  const noContains = scoreTask({ ...weatherRamen, answer_contains: undefined }, result({ answer: "anything" }));
  assert.equal(noContains.answerCorrectness, true);
});

test("tool selection is set inclusion: extra and repeated calls still select", () => {
  const s = scoreTask(weatherRamen, result({ toolCalls: [weather, weather, { name: "get_time", arguments: { city: "Tokyo" } }, ramen] }));
  assert.equal(s.toolSelection, true);
  assert.equal(s.exactToolMatch, false);
  assert.equal(s.orderedToolMatch, false);
  const missing = scoreTask(weatherRamen, result({ toolCalls: [weather] }));
  assert.equal(missing.toolSelection, false);
});

test("exact tool match is a multiset: the other order matches exactly but not in order", () => {
  const s = scoreTask(weatherRamen, result({ toolCalls: [ramen, weather] }));
  assert.equal(s.exactToolMatch, true);
  assert.equal(s.orderedToolMatch, false);
  const twice: Task = { ...weatherRamen, expected_tools: ["get_weather", "get_weather"] };
  assert.equal(scoreTask(twice, result({ toolCalls: [weather] })).exactToolMatch, false);
  assert.equal(scoreTask(twice, result({ toolCalls: [weather] })).toolSelection, true);
  assert.equal(scoreTask(twice, result({ toolCalls: [weather, { name: "get_weather", arguments: { city: "Oslo" } }] })).exactToolMatch, true);
});

test("arguments compare numbers by value, strings trimmed and case-folded, types strictly", () => {
  assert.equal(argumentsEqual({ amount: 1 }, { amount: 1.0 }), true);
  assert.equal(argumentsEqual({ amount: 100 }, { amount: 100.5 }), false);
  assert.equal(argumentsEqual({ city: "Tokyo" }, { city: "  tokyo " }), true);
  assert.equal(argumentsEqual({ amount: 1 }, { amount: "1" }), false);
  assert.equal(argumentsEqual({ flag: true }, { flag: "true" }), false);
  assert.equal(argumentsEqual({ x: null }, { x: null }), true);
  assert.equal(argumentsEqual({ x: null }, { x: 0 }), false);
});

test("arguments need the same keys: a missing or an extra key does not match", () => {
  assert.equal(argumentsEqual({ a: 1, b: 2 }, { b: 2, a: 1 }), true);
  assert.equal(argumentsEqual({ a: 1, b: 2 }, { a: 1 }), false);
  assert.equal(argumentsEqual({ a: 1 }, { a: 1, b: 2 }), false);
  assert.equal(argumentsEqual({ a: [1, "X"] }, { a: [1.0, "x"] }), true);
  assert.equal(argumentsEqual({ a: [1, 2] }, { a: [2, 1] }), false);
  assert.equal(argumentsEqual({ a: { b: "Q" } }, { a: { b: "q" } }), true);
  assert.equal(argumentsEqual({ a: [1] }, { a: { 0: 1 } }), false);
});

test("argument match counts per call and per task, each actual call used once", () => {
  const usd = { name: "convert_currency", arguments: { amount: 100, from: "USD", to: "JPY" } };
  const eur = { name: "convert_currency", arguments: { amount: 50, from: "EUR", to: "JPY" } };
  assert.equal(matchCalls([usd, eur], [{ name: "convert_currency", arguments: { amount: 100.0, from: "usd", to: "jpy" } }]), 1);
  assert.equal(matchCalls([usd, usd], [usd]), 1);
  assert.equal(matchCalls([usd, eur], [eur, usd]), 2);
  const task: Task = { id: "fx", query: "…", expected_tools: ["convert_currency", "convert_currency"], expected_calls: [usd, eur] };
  const half = scoreTask(task, result({ toolCalls: [usd, { ...eur, arguments: { ...eur.arguments, amount: 5 } }] }));
  assert.equal(half.argumentMatch, false);
  assert.deepEqual(half.argumentCalls, { matched: 1, expected: 2 });
  assert.equal(matchCalls([weather], [{ name: "get_time", arguments: { city: "Tokyo" } }]), 0);
});

test("step efficiency needs an Answer within [min_steps, max_steps]", () => {
  const calls = [weather, ramen];
  assert.equal(scoreTask(weatherRamen, result({ toolCalls: calls, steps: 2 })).stepEfficiency, true);
  assert.equal(scoreTask(weatherRamen, result({ toolCalls: calls, steps: 4 })).stepEfficiency, true);
  assert.equal(scoreTask(weatherRamen, result({ toolCalls: calls, steps: 5 })).stepEfficiency, false);
  assert.equal(scoreTask(weatherRamen, result({ toolCalls: calls, steps: 1 })).stepEfficiency, false);
  assert.equal(scoreTask(weatherRamen, result({ status: "no_answer", steps: 3 })).stepEfficiency, false);
  assert.equal(scoreTask({ ...weatherRamen, min_steps: undefined, max_steps: undefined }, result({})).stepEfficiency, null);
  assert.equal(scoreTask({ ...weatherRamen, min_steps: undefined }, result({ steps: 1 })).stepEfficiency, true);
});

test("abstention applies only to tasks with no expected tool: an Answer without any call attempt", () => {
  assert.equal(scoreTask(noTool, result({ answer: "Paris" })).abstention, true);
  assert.equal(scoreTask(noTool, result({ answer: "Paris", toolCalls: [{ name: "search_web", arguments: { query: "capital of France" } }] })).abstention, false);
  const hallucinated = result({ answer: "Paris", failures: [{ kind: "unknown_tool", step: 1, message: "no tool lookup" }] });
  assert.equal(scoreTask(noTool, hallucinated).abstention, false);
  assert.equal(scoreTask(noTool, result({ status: "no_answer" })).abstention, false);
  const s = scoreTask(noTool, result({ answer: "Paris" }));
  assert.equal(s.toolSelection, null);
  assert.equal(s.exactToolMatch, null);
  assert.equal(s.orderedToolMatch, null);
  assert.equal(s.argumentMatch, null);
});

test("failures are counted by kind, and a failing status counts even when not listed", () => {
  const s = scoreTask(
    weatherRamen,
    result({
      status: "loop",
      failures: [
        { kind: "invalid_arguments", step: 1, message: "city: required" },
        { kind: "invalid_arguments", step: 2, message: "city: required" },
      ],
    }),
  );
  assert.equal(s.failures.invalid_arguments, 2);
  assert.equal(s.failures.loop, 1);
  assert.equal(s.failures.malformed_action, 0);
  assert.equal(scoreTask(weatherRamen, result({ status: "crashed" })).failures.step_limit, 0);
});

test("aggregates give each metric as a count over the tasks it applies to, overall and per category", () => {
  const scores = [
    scoreTask(weatherRamen, result({ answer: "Tokyo: ramen", toolCalls: [weather, ramen], steps: 3 })),
    scoreTask({ ...weatherRamen, id: "w2" }, result({ status: "malformed_action", failures: [{ kind: "malformed_action", step: 1, message: "not JSON" }] })),
    scoreTask(noTool, result({ answer: "Paris" })),
  ];
  const { overall, byCategory } = aggregateScores(scores);
  assert.equal(overall.runs, 3);
  assert.deepEqual(overall.metrics.taskSuccess, rate(2, 3));
  assert.deepEqual(overall.metrics.toolSelection, rate(1, 2));
  assert.deepEqual(overall.metrics.exactToolMatch, rate(1, 2));
  assert.deepEqual(overall.metrics.argumentMatch, rate(1, 2));
  assert.deepEqual(overall.metrics.argumentCalls, rate(1, 2));
  assert.deepEqual(overall.metrics.abstention, rate(1, 1));
  assert.deepEqual(overall.failureRates.malformed_action, rate(1, 3));
  assert.equal(overall.failureCounts.malformed_action, 1);
  assert.deepEqual(overall.endings, { answered: 2, malformed_action: 1 });
  assert.equal(overall.passK, undefined);
  assert.deepEqual(Object.keys(byCategory), ["abstention", "conditional"]);
  assert.deepEqual(byCategory.conditional.metrics.taskSuccess, rate(1, 2));
  assert.deepEqual(byCategory.abstention.metrics.toolSelection, rate(0, 0));
  assert.equal(byCategory.abstention.metrics.toolSelection.rate, null);
});

test("pass^k counts a task only when all k runs succeed", () => {
  const ok = result({ answer: "Tokyo", toolCalls: [weather, ramen] });
  const bad = result({ status: "no_answer" });
  const scores = [
    scoreTask(weatherRamen, ok, 0),
    scoreTask(weatherRamen, ok, 1),
    scoreTask(weatherRamen, ok, 2),
    scoreTask(noTool, result({ answer: "Paris" }), 0),
    scoreTask(noTool, bad, 1),
    scoreTask(noTool, result({ answer: "Paris" }), 2),
  ];
  const { overall } = aggregateScores(scores, 3);
  assert.deepEqual(overall.passK?.taskSuccess, rate(1, 2));
  assert.equal(overall.passK?.k, 3);
  assert.deepEqual(overall.metrics.taskSuccess, rate(5, 6));
});

test("a rate prints as count and percentage, and a dash when nothing applied", () => {
  assert.equal(formatRate(rate(28, 30)), "28/30 (93.3 %)");
  assert.equal(formatRate(rate(0, 0)), "—");
  assert.equal(formatRate(rate(30, 30)), "30/30 (100.0 %)");
});
