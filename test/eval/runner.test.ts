import assert from "node:assert/strict";
import { test } from "node:test";
import { ScriptedModel } from "../../src/agent/scripted-model.js";
import type { AgentResult } from "../../src/agent/types.js";
import { InvalidInputError } from "../../src/errors.js";
import { rate } from "../../src/eval/metrics.js";
import { type EpisodeRunner, evaluate } from "../../src/eval/runner.js";
import { competentModel, tasks, testTools } from "./fixtures.js";

function answered(answer: string): AgentResult {
  return {
    status: "answered",
    answer,
    trajectory: { query: "", steps: [{ kind: "answer", thought: "", answer }] },
    toolCalls: [],
    failures: [],
    steps: 1,
    messages: [],
    rawReplies: [`Answer: ${answer}`],
    elapsedMs: 0,
  };
}

test("a model that solves every task scores full marks through the real runtime", async () => {
  const result = await evaluate({ model: competentModel(), tasks, tools: testTools, concurrency: 2 });
  const m = result.aggregates.overall.metrics;
  assert.deepEqual(m.taskSuccess, rate(3, 3));
  assert.deepEqual(m.answerCorrectness, rate(3, 3));
  assert.deepEqual(m.toolSelection, rate(2, 2));
  assert.deepEqual(m.exactToolMatch, rate(2, 2));
  assert.deepEqual(m.argumentMatch, rate(2, 2));
  assert.deepEqual(m.stepEfficiency, rate(1, 1));
  assert.deepEqual(m.abstention, rate(1, 1));
  assert.equal(result.complete, true);
  assert.equal(result.model, "competent");
  assert.deepEqual(
    result.records.map((r) => r.id),
    ["weather-ramen", "weather-oslo", "capital"],
  );
  const first = result.records[0];
  assert.equal(first.steps, 3);
  assert.equal(first.seed, 1);
  assert.deepEqual(first.trajectory[0].kind === "action" && first.trajectory[0].observation, { city: "tokyo", temperature: 6, condition: "cloudy" });
  assert.equal(first.rawReplies.length, 3);
});

test("a run that crashes is recorded as crashed and the others still run", async () => {
  const runEpisode: EpisodeRunner = async (options) => {
    if (options.query.includes("Oslo")) throw new Error("native failure in the model");
    return answered("Paris");
  };
  const result = await evaluate({ model: competentModel(), tasks, tools: testTools, runEpisode });
  assert.equal(result.records.length, 3);
  const oslo = result.records.find((r) => r.id === "weather-oslo");
  assert.equal(oslo?.status, "crashed");
  assert.equal(oslo?.error, "native failure in the model");
  assert.equal(oslo?.score.taskSuccess, false);
  assert.equal(result.records.find((r) => r.id === "capital")?.status, "answered");
  assert.equal(result.aggregates.overall.endings.crashed, 1);
});

test("a model that throws mid-episode keeps the steps taken before it failed", async () => {
  const model = new ScriptedModel([
    'Action: {"name": "get_weather", "arguments": {"city": "Oslo"}}',
    { error: new Error("server returned 500") },
  ]);
  const result = await evaluate({ model, tasks: [tasks[1]], tools: testTools });
  const [record] = result.records;
  assert.equal(record.status, "crashed");
  assert.match(record.error ?? "", /server returned 500/);
  assert.deepEqual(
    record.toolCalls.map((c) => c.name),
    ["get_weather"],
  );
  assert.equal(record.score.toolSelection, true);
});

test("no more runs are in flight than the concurrency allows", async () => {
  let inFlight = 0;
  let most = 0;
  const runEpisode: EpisodeRunner = async () => {
    inFlight++;
    most = Math.max(most, inFlight);
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    inFlight--;
    return answered("Paris");
  };
  const many = Array.from({ length: 9 }, (_, i) => ({ ...tasks[2], id: `t${i}` }));
  const result = await evaluate({ model: competentModel(), tasks: many, tools: testTools, concurrency: 3, runEpisode });
  assert.equal(most, 3);
  assert.equal(result.records.length, 9);
  const serial = await evaluate({ model: competentModel(), tasks: many.slice(0, 4), tools: testTools, concurrency: 1, runEpisode: runEpisode });
  assert.equal(serial.records.length, 4);
});

test("a task's tools narrow what the model is offered", async () => {
  const offered: string[][] = [];
  const runEpisode: EpisodeRunner = async (options) => {
    const tools = Array.isArray(options.tools) ? options.tools : [];
    offered.push(tools.map((t: { name: string }) => t.name));
    return answered("I cannot look that up.");
  };
  const missing = { ...tasks[1], id: "missing", tools: ["search_restaurant"], expected_tools: [] };
  await evaluate({ model: competentModel(), tasks: [tasks[1], missing], tools: testTools, runEpisode });
  assert.deepEqual(offered, [["get_weather", "search_restaurant"], ["search_restaurant"]]);
});

test("a task naming an unregistered tool is refused before anything runs", async () => {
  const bad = { ...tasks[1], tools: ["teleport"] };
  await assert.rejects(evaluate({ model: competentModel(), tasks: [bad], tools: testTools }), (error: unknown) => {
    assert.ok(error instanceof InvalidInputError);
    assert.match(error.message, /"weather-oslo".*teleport/);
    return true;
  });
});

test("a run past its time limit is recorded as a timeout", async () => {
  const model = new ScriptedModel([{ hang: true }]);
  const result = await evaluate({ model, tasks: [tasks[2]], tools: testTools, timeoutMs: 30 });
  assert.equal(result.records[0].status, "timeout");
  assert.match(result.records[0].error ?? "", /time limit of 30 ms/);
});

test("k runs a task at temperature above 0 give pass^k, each run with its own sampling seed", async () => {
  const seeds: number[] = [];
  let call = 0;
  const runEpisode: EpisodeRunner = async (options) => {
    seeds.push(options.generate?.seed ?? -1);
    call++;
    return call === 2 ? { ...answered(""), status: "no_answer", answer: undefined } : answered("Paris");
  };
  const result = await evaluate({ model: competentModel(), tasks: [tasks[2], { ...tasks[2], id: "c2", seed: 4 }], tools: testTools, k: 2, temperature: 0.7, runEpisode });
  assert.equal(result.records.length, 4);
  assert.deepEqual(result.aggregates.overall.passK?.taskSuccess, rate(1, 2));
  assert.equal(new Set(seeds).size, 4);
  await assert.rejects(evaluate({ model: competentModel(), tasks, tools: testTools, k: 3 }), /temperature is 0/);
});

test("cancelling stops new runs and marks the result incomplete", async () => {
  const controller = new AbortController();
  const runEpisode: EpisodeRunner = async () => {
    controller.abort();
    return answered("Paris");
  };
  const many = Array.from({ length: 5 }, (_, i) => ({ ...tasks[2], id: `t${i}` }));
  const result = await evaluate({ model: competentModel(), tasks: many, tools: testTools, signal: controller.signal, runEpisode });
  assert.equal(result.records.length, 1);
  assert.equal(result.complete, false);
  assert.equal(result.settings.tasks, 5);
});
