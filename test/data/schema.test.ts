import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ungroundedAnswerNumbers } from "../../src/data/grounding.js";
import { writeJsonl } from "../../src/data/jsonl.js";
import { validateTask, validateTrainingExample } from "../../src/data/schema.js";
import { SEED_TRAJECTORIES } from "../../src/data/seeds.js";
import { readTasks, readTrainingExamples, validateFile } from "../../src/data/tasks-file.js";
import { FileFormatError } from "../../src/errors.js";
import { renderMessages } from "../../src/react/render.js";
import type { ReActStep } from "../../src/react/types.js";

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
    assert.deepEqual(validateTask([1]), [{ problem: "must be a JSON object, got an array" }]);
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

  describe("an untrained reply (weight 0)", () => {
    const steps = seed.steps ?? [];
    const first = steps[0] as Extract<ReActStep, { kind: "action" }>;
    const mistaken: ReActStep = { kind: "action", thought: "", action: { name: first.action.name, arguments: {} }, observation: { error: "invalid arguments" }, weight: 0 };
    const recovered = [mistaken, ...steps];
    const messages = renderMessages({ query: seed.query, steps: recovered }, { systemPrompt: "tools…" });

    it("is kept in steps and messages, and its call is not one of the expected tools", () => {
      assert.deepEqual(messages[2], { role: "assistant", content: 'Action: {"name": "get_weather", "arguments": {}}', weight: 0 });
      assert.equal(messages.filter((m) => "weight" in m).length, 1, "the other replies carry no weight");
      assert.deepEqual(validateTrainingExample({ ...seed, steps: recovered, messages }), []);
      assert.deepEqual(validateTrainingExample({ ...seed, steps: undefined, messages }), []);
      assert.deepEqual(validateTrainingExample({ ...seed, steps: recovered }), []);
      const counted = validateTrainingExample({ ...seed, steps: recovered.map(({ weight: _, ...s }) => s as ReActStep) });
      assert.deepEqual(counted, [{ field: "expected_tools", problem: "is [get_weather, search_restaurant] but the trajectory calls [get_weather, get_weather, search_restaurant]" }]);
      const untagged = messages.map(({ weight: _, ...m }) => m);
      assert.ok(validateTrainingExample({ ...seed, steps: recovered, messages: untagged }).some((i) => /different trajectories/.test(i.problem)));
    });

    it("a weight other than 0 or 1, or on a message that is not the assistant's, names the field", () => {
      const at = (i: number, weight: unknown) => messages.map((m, j) => (j === i ? { ...m, weight } : m));
      assert.deepEqual(validateTrainingExample({ ...seed, steps: undefined, messages: at(2, 2) }), [{ field: "messages[2].weight", problem: "must be 0 (no loss on this reply) or 1, got 2" }]);
      assert.deepEqual(validateTrainingExample({ ...seed, steps: undefined, messages: at(2, "0") }), [{ field: "messages[2].weight", problem: 'must be 0 (no loss on this reply) or 1, got "0"' }]);
      assert.deepEqual(validateTrainingExample({ ...seed, steps: undefined, messages: at(1, 0) }), [{ field: "messages[1].weight", problem: 'only an assistant message carries a weight, this one is "user"' }]);
      assert.deepEqual(validateTrainingExample({ ...seed, steps: undefined, messages: at(0, 1) }), [{ field: "messages[0].weight", problem: 'only an assistant message carries a weight, this one is "system"' }]);
      assert.deepEqual(validateTrainingExample({ ...seed, steps: undefined, messages: at(4, 1) }), [], "weight 1 is the default, allowed on a reply");
      assert.deepEqual(validateTrainingExample({ ...seed, steps: recovered.map((s, i) => (i === 0 ? { ...s, weight: 1 } : s)) }), [
        { field: "steps[0].weight", problem: "must be 0 (an untrained reply) or left out, got 1" },
      ]);
    });

    it("survives a JSONL file written and read back", async () => {
      const dir = await mkdtemp(join(tmpdir(), "agenttune-weight-"));
      after(() => rm(dir, { recursive: true, force: true }));
      const file = join(dir, "train.jsonl");
      const example = { ...seed, steps: recovered, messages };
      await writeJsonl(file, [example]);
      const [back] = await readTrainingExamples(file);
      assert.deepEqual(back, JSON.parse(JSON.stringify(example)));
      assert.equal(back?.messages?.[2]?.weight, 0);
      assert.equal(back?.steps?.[0]?.weight, 0);
      await writeJsonl(join(dir, "again.jsonl"), [back]);
      assert.equal(await readFile(join(dir, "again.jsonl"), "utf8"), await readFile(file, "utf8"));
    });
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
