import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ChatMessage } from "../../src/agent/chat-model.js";
import { ScriptedModel } from "../../src/agent/scripted-model.js";
import { BUILD_CATEGORIES, buildDataset, normalizeQuery } from "../../src/data/build.js";
import { EVAL_SET_PER_CATEGORY, type EvalTask, makeEvalSets, REFERENCE30_PER_CATEGORY } from "../../src/data/eval-set.js";
import { readJsonlFile } from "../../src/data/jsonl.js";
import { SEED_TRAJECTORIES } from "../../src/data/seeds.js";
import { readTasks, validateFile } from "../../src/data/tasks-file.js";
import { TEMPLATES } from "../../src/data/templates.js";
import { evaluate } from "../../src/eval/runner.js";
import { renderReply } from "../../src/react/render.js";
import { createDefaultRegistry } from "../../src/tools/registry.js";

// The committed files are read, never written, here: a stale file fails the test, and
// `node --import tsx scripts/make-eval-set.ts` rewrites it.
const TASKS = "data/eval/tasks.jsonl";
const REFERENCE30 = "data/eval/reference30.jsonl";
const REGENERATE = "the committed file is stale: run `node --import tsx scripts/make-eval-set.ts` and commit data/";

const tasks = (await readTasks(TASKS)) as EvalTask[];
const small = (await readTasks(REFERENCE30)) as EvalTask[];

function countBy(list: readonly EvalTask[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of list) counts[t.category ?? ""] = (counts[t.category ?? ""] ?? 0) + 1;
  return counts;
}

describe("the committed evaluation set", () => {
  it("has at least 60 valid tasks, at least 8 in each category, all from held-out templates", async () => {
    assert.deepEqual((await validateFile(TASKS, "task")).issues, []);
    assert.deepEqual((await validateFile(REFERENCE30, "task")).issues, []);
    assert.ok(tasks.length >= 60, `${tasks.length} tasks`);
    const counts = countBy(tasks);
    for (const c of ["single", "chain", "conditional", "arithmetic", "abstention", "missing_tool"]) assert.ok((counts[c] ?? 0) >= 8, `${c}: ${counts[c]}`);
    assert.equal(small.length, 30);
    assert.deepEqual(Object.values(countBy(small)), BUILD_CATEGORIES.map(() => REFERENCE30_PER_CATEGORY));
    const evalIds = new Set(TEMPLATES.filter((t) => t.split === "eval").map((t) => t.id));
    for (const t of [...tasks, ...small]) assert.ok(evalIds.has(t.template ?? ""), `${t.id}: template ${t.template}`);
    for (const t of [...tasks, ...small].filter((t) => t.category === "missing_tool")) {
      assert.deepEqual(t.expected_tools, [], t.id);
      assert.ok(Array.isArray(t.tools), t.id);
    }
    for (const t of [...tasks, ...small].filter((t) => t.category === "abstention")) assert.deepEqual(t.expected_tools, [], t.id);
    for (const t of [...tasks, ...small].filter((t) => !["abstention", "missing_tool"].includes(t.category ?? ""))) {
      assert.ok(t.expected_tools.length > 0, t.id);
      assert.equal(typeof t.seed, "number", `${t.id} needs the simulators' seed its answer_contains holds values of`);
    }
  });

  it("shares no query with a training build, and no task with reference30", async () => {
    const tools = createDefaultRegistry();
    const train = [
      ...(await buildDataset({ samples: 1500, seed: 0, tools, messages: false })),
      ...(await buildDataset({ samples: 1500, seed: 1, tools, format: "mix", messages: false })),
    ];
    const trainQueries = new Set(train.map((e) => normalizeQuery(e.query)));
    for (const t of [...tasks, ...small]) assert.ok(!trainQueries.has(normalizeQuery(t.query)), t.query);
    // A query may come back only in missing_tool, with another list of offered tools.
    const mainTasks = new Set(tasks.map((t) => `${normalizeQuery(t.query)}|${t.tools?.join(",") ?? "*"}`));
    const mainQueries = new Set(tasks.map((t) => normalizeQuery(t.query)));
    for (const t of small) {
      assert.ok(!mainTasks.has(`${normalizeQuery(t.query)}|${t.tools?.join(",") ?? "*"}`), t.query);
      assert.ok(!mainQueries.has(normalizeQuery(t.query)) || t.tools !== undefined, t.query);
    }
    assert.equal(new Set([...tasks, ...small].map((t) => t.id)).size, tasks.length + small.length, "ids are unique across both files");
  });

  it("is what scripts/make-eval-set.ts makes from the built-in simulators (answer values are the seed's)", async () => {
    const made = await makeEvalSets(createDefaultRegistry(), 0);
    assert.equal(made.tasks.length, EVAL_SET_PER_CATEGORY * BUILD_CATEGORIES.length);
    assert.deepEqual(tasks, made.tasks, REGENERATE);
    assert.deepEqual(small, made.reference30, REGENERATE);
  });

  it("data/seeds/seeds.jsonl holds the ten seed trajectories of src/data/seeds.ts", async () => {
    const { records, issues } = await readJsonlFile("data/seeds/seeds.jsonl");
    assert.deepEqual(issues, []);
    assert.deepEqual(
      records.map((r) => r.value),
      JSON.parse(JSON.stringify(SEED_TRAJECTORIES)),
    );
  });
});

describe("the committed evaluation set, run", () => {
  it("scores every metric perfectly when the reference trajectories are replayed, and the task seeds give the same observations", async () => {
    const tools = createDefaultRegistry();
    // The reference trajectory of each task: the same build as makeEvalSets, with its steps.
    const built = await buildDataset({ split: "eval", perCategory: EVAL_SET_PER_CATEGORY + REFERENCE30_PER_CATEGORY, seed: 0, tools, messages: false });
    const steps = new Map(built.map((e) => [e.query, e.steps ?? []]));
    const all = [...tasks, ...small];
    // Queries repeat only across missing_tool tasks, whose reference is the same single answer.
    const model = new ScriptedModel({
      id: "reference replay",
      script: (messages: ChatMessage[]) => {
        const query = messages.find((m) => m.role === "user")?.content ?? "";
        const done = messages.filter((m) => m.role === "assistant").length;
        const step = steps.get(query)?.[done];
        return step === undefined ? "Answer: (no reference step)" : renderReply(step);
      },
    });
    const result = await evaluate({ model, tasks: all, tools, concurrency: 4 });
    for (const [key, r] of Object.entries(result.aggregates.overall.metrics)) {
      assert.equal(r.numerator, r.denominator, `${key}: ${r.numerator}/${r.denominator}`);
    }
    assert.equal(result.aggregates.overall.metrics.taskSuccess.denominator, all.length);
    assert.equal(result.aggregates.overall.metrics.abstention.denominator, all.filter((t) => t.expected_tools.length === 0).length);
    assert.deepEqual(result.aggregates.overall.endings, { answered: all.length });
    for (const record of result.records) {
      const reference = (steps.get(record.query) ?? []).flatMap((s) => (s.kind === "action" ? [s.observation] : []));
      const seen = record.trajectory.flatMap((s) => (s.kind === "action" ? [s.observation] : []));
      assert.deepEqual(seen, reference, `${record.id}: the simulators gave other observations for seed ${record.seed}`);
    }
  });
});

describe("makeEvalSets", () => {
  it("is deterministic, splits each category 12 + 5 in category order, and another seed gives other observations", async () => {
    const tools = createDefaultRegistry();
    const a = await makeEvalSets(tools, 0);
    assert.deepEqual(await makeEvalSets(tools, 0), a);
    assert.deepEqual([...new Set(a.tasks.map((t) => t.category))], [...BUILD_CATEGORIES]);
    assert.deepEqual(Object.values(countBy(a.tasks)), BUILD_CATEGORIES.map(() => EVAL_SET_PER_CATEGORY));
    const b = await makeEvalSets(tools, 1);
    assert.notDeepEqual(
      b.tasks.map((t) => t.query),
      a.tasks.map((t) => t.query),
    );
  });
});
