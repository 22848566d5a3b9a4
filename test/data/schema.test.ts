import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ungroundedAnswerNumbers } from "../../src/data/grounding.js";
import { validateTask, validateTrainingExample } from "../../src/data/schema.js";
import { SEED_TRAJECTORIES } from "../../src/data/seeds.js";
import { readTasks, readTrainingExamples, validateFile } from "../../src/data/tasks-file.js";
import { FileFormatError } from "../../src/errors.js";
import { renderMessages } from "../../src/react/render.js";

const task = { id: "weather-ramen-1", query: "What's the weather in Tokyo?", expected_tools: ["get_weather"], category: "single" };

describe("validateTask", () => {
  it("accepts the SPECS example and keeps unknown fields out of the way", () => {
    assert.deepEqual(validateTask({ ...task, answer_contains: ["Tokyo"], min_steps: 2, max_steps: 4, note: "anything" }), []);
  });

  it("names each missing or mistyped field", () => {
    assert.deepEqual(validateTask({ query: 3, expected_tools: ["a", 1] }), [
      { field: "id", problem: "is missing (required)" },
      { field: "query", problem: "must be a non-empty string, got a number" },
      { field: "expected_tools[1]", problem: "must be a string, got a number" },
    ]);
    assert.deepEqual(validateTask({ ...task, expected_calls: [{ name: "get_weather", arguments: [] }] }), [
      { field: "expected_calls[0].arguments", problem: "must be an object, got an array" },
    ]);
    assert.deepEqual(validateTask({ ...task, min_steps: 4, max_steps: 2, seed: 1.5 }), [
      { field: "max_steps", problem: "is below min_steps (2 < 4)" },
      { field: "seed", problem: "must be an integer, got 1.5" },
    ]);
    assert.deepEqual(validateTask([1]), [{ field: "(line)", problem: "must be a JSON object, got an array" }]);
  });

  it("refuses an expected tool that the task does not offer", () => {
    assert.deepEqual(validateTask({ ...task, tools: ["calculator"] }), [{ field: "expected_tools[0]", problem: '"get_weather" is not among the offered tools' }]);
  });
});

describe("validateTrainingExample", () => {
  const seed = SEED_TRAJECTORIES[0];

  it("accepts every hand-written seed, with steps and with rendered messages", () => {
    for (const example of SEED_TRAJECTORIES) {
      assert.deepEqual(validateTrainingExample(example), [], example.id);
      const messages = renderMessages({ query: example.query, steps: example.steps ?? [] }, { systemPrompt: "tools…" });
      assert.deepEqual(validateTrainingExample({ ...example, messages }), [], example.id);
      assert.deepEqual(ungroundedAnswerNumbers(example.query, example.steps ?? []), [], example.id);
    }
  });

  it("the seeds have 1–3 tool calls and cover chains, conditionals and arithmetic", () => {
    assert.equal(SEED_TRAJECTORIES.length, 10);
    for (const e of SEED_TRAJECTORIES) assert.ok(e.expected_tools.length >= 1 && e.expected_tools.length <= 3, e.id);
    const categories = new Set(SEED_TRAJECTORIES.map((e) => e.category));
    for (const c of ["single", "chain", "conditional", "arithmetic"]) assert.ok(categories.has(c), c);
  });

  it("needs a trajectory ending in an Answer whose calls match expected_tools", () => {
    assert.deepEqual(validateTrainingExample(task), [{ field: "messages", problem: 'is missing: a training example needs "messages" or "steps"' }]);
    const steps = seed.steps ?? [];
    const cut = validateTrainingExample({ ...seed, steps: steps.slice(0, 2) });
    assert.ok(cut.some((i) => i.field === "steps[1]" && /must end with an answer/.test(i.problem)));
    const wrong = validateTrainingExample({ ...seed, expected_tools: ["get_weather"] });
    assert.deepEqual(wrong, [{ field: "expected_tools", problem: "is [get_weather] but the trajectory calls [get_weather, search_restaurant]" }]);
  });

  it("catches messages and steps that disagree, and a broken Action in the messages", () => {
    const messages = renderMessages({ query: seed.query, steps: seed.steps ?? [] });
    const other = messages.map((m) => (m.content.startsWith("Observation:") ? { ...m, content: m.content.replace("8", "9") } : m));
    assert.ok(validateTrainingExample({ ...seed, messages: other }).some((i) => /different trajectories/.test(i.problem)));
    const broken = messages.map((m, i) => (i === 1 ? { ...m, content: 'Thought: x\nAction: {"name": "get_weather", "arguments": {"city": "Tokyo"' } : m));
    const issues = validateTrainingExample({ ...seed, steps: undefined, messages: broken });
    assert.equal(issues[0].field, "messages");
    assert.match(issues[0].problem, /^step 1: .*\(malformed_action\)$/);
  });

  it("checks a function-call example's single JSON reply", () => {
    const call = { name: "get_weather", arguments: { city: "Oslo" } };
    const base = { id: "fc", query: "Weather in Oslo?", expected_tools: ["get_weather"], expected_calls: [call], format: "function_call" };
    const ok = { ...base, messages: [{ role: "user", content: "Weather in Oslo?" }, { role: "assistant", content: '{"name": "get_weather", "arguments": {"city": "Oslo"}}' }] };
    assert.deepEqual(validateTrainingExample(ok), []);
    const prose = { ...base, messages: [ok.messages[0], { role: "assistant", content: '{"name": "get_weather", "arguments": {"city": "Oslo"}} done' }] };
    assert.equal(validateTrainingExample(prose)[0].field, "messages[1].content");
  });
});

describe("task files", () => {
  it("readTasks names the file, line and field of the first problem", async () => {
    const dir = await mkdtemp(join(tmpdir(), "agenttune-tasks-"));
    after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, "tasks.jsonl");
    await writeFile(file, `${JSON.stringify(task)}\n\n${JSON.stringify({ id: "x", query: "q" })}\n`);
    await assert.rejects(readTasks(file), (error: FileFormatError) => {
      assert.ok(error instanceof FileFormatError);
      assert.equal(error.location, "line 3, expected_tools");
      assert.match(error.message, /tasks\.jsonl \(line 3, expected_tools\): is missing/);
      return true;
    });
    await writeFile(file, `${JSON.stringify({ ...task, extra: { kept: true } })}\n`);
    const tasks = await readTasks(file);
    assert.deepEqual(tasks, [{ ...task, extra: { kept: true } }]);
    await assert.rejects(readTrainingExamples(file), /needs "messages" or "steps"/);
    assert.deepEqual((await validateFile(file, "task")).issues, []);
  });
});
