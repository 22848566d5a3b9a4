import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { buildDataset } from "../../src/data/build.js";
import { toEvalTask } from "../../src/data/eval-set.js";
import { readJsonlFile } from "../../src/data/jsonl.js";
import { SEED_TRAJECTORIES } from "../../src/data/seeds.js";
import type { Task } from "../../src/data/task.js";
import { readTasks, validateFile } from "../../src/data/tasks-file.js";
import { TEMPLATES } from "../../src/data/templates.js";

const TASKS = "data/eval/tasks.jsonl";
const REFERENCE30 = "data/eval/reference30.jsonl";
const registryPath = "../../src/tools/registry.js";
const registry = await import(registryPath).catch(() => undefined);

const noEvalSet = existsSync(TASKS) ? false : "data/eval/tasks.jsonl is not generated yet (scripts/make-eval-set.ts needs the tool registry)";

describe("the committed evaluation set", () => {
  it("has at least 60 valid tasks, at least 8 in each category, all from held-out templates", { skip: noEvalSet }, async () => {
    assert.deepEqual((await validateFile(TASKS, "task")).issues, []);
    const tasks = await readTasks(TASKS);
    assert.ok(tasks.length >= 60);
    const counts = new Map<string, number>();
    for (const t of tasks) counts.set(t.category ?? "", (counts.get(t.category ?? "") ?? 0) + 1);
    for (const c of ["single", "chain", "conditional", "arithmetic", "abstention", "missing_tool"]) assert.ok((counts.get(c) ?? 0) >= 8, `${c}: ${counts.get(c)}`);
    const evalIds = new Set(TEMPLATES.filter((t) => t.split === "eval").map((t) => t.id));
    for (const t of tasks) assert.ok(evalIds.has((t as Task & { template: string }).template), t.id);
    for (const t of tasks.filter((t) => t.category === "missing_tool")) {
      assert.deepEqual(t.expected_tools, []);
      assert.ok(Array.isArray(t.tools));
    }
  });

  it("shares no query with a training build, and none with reference30", { skip: noEvalSet }, async () => {
    const tasks = await readTasks(TASKS);
    const small = existsSync(REFERENCE30) ? await readTasks(REFERENCE30) : [];
    if (small.length > 0) assert.equal(small.length, 30);
    const { fakeTools } = await import("./fake-tools.js");
    const train = await buildDataset({ samples: 1500, seed: 0, tools: fakeTools(), messages: false });
    const trainQueries = new Set(train.map((e) => e.query.toLowerCase()));
    const mainQueries = new Set(tasks.map((t) => t.query.toLowerCase()));
    for (const t of [...tasks, ...small]) assert.ok(!trainQueries.has(t.query.toLowerCase()), t.query);
    for (const t of small) assert.ok(!mainQueries.has(t.query.toLowerCase()) || t.tools !== undefined, t.query);
  });

  it("is what scripts/make-eval-set.ts makes from the built-in simulators (answer values are the seed's)", { skip: registry === undefined ? "the tool registry is not present" : noEvalSet }, async () => {
    const examples = await buildDataset({ split: "eval", perCategory: 17, seed: 0, tools: registry.createDefaultRegistry(), messages: false });
    const byCategory = new Map<string, Task[]>();
    for (const e of examples) byCategory.set(e.category ?? "", [...(byCategory.get(e.category ?? "") ?? []), toEvalTask(e)]);
    const expected = [...byCategory.values()].flatMap((l) => l.slice(0, 12));
    assert.deepEqual(await readTasks(TASKS), expected);
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
