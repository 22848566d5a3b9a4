// Writes the committed evaluation sets from the held-out templates, and the seed trajectories:
//   data/eval/tasks.jsonl        12 tasks per category (72)
//   data/eval/reference30.jsonl  5 more per category (30), disjoint from tasks.jsonl
//   data/seeds/seeds.jsonl       the ten hand-written seed trajectories (src/data/seeds.ts)
// Deterministic: the same code and tools give the same files. Run:
//   node --import tsx scripts/make-eval-set.ts [--seed 0]
import { parseArgs } from "node:util";
import { buildDataset } from "../src/data/build.js";
import { toEvalTask } from "../src/data/eval-set.js";
import { writeJsonl } from "../src/data/jsonl.js";
import { SEED_TRAJECTORIES } from "../src/data/seeds.js";
import { createDefaultRegistry } from "../src/tools/registry.js";

const MAIN = 12;
const SMALL = 5;
const { values } = parseArgs({ options: { seed: { type: "string", default: "0" } } });
const examples = await buildDataset({
  split: "eval",
  perCategory: MAIN + SMALL,
  seed: Number(values.seed),
  tools: createDefaultRegistry(),
  messages: false,
});
const byCategory = new Map<string, typeof examples>();
for (const e of examples) byCategory.set(e.category ?? "?", [...(byCategory.get(e.category ?? "?") ?? []), e]);
const main = [...byCategory.values()].flatMap((list) => list.slice(0, MAIN)).map(toEvalTask);
const small = [...byCategory.values()].flatMap((list) => list.slice(MAIN)).map(toEvalTask);
console.log(`data/eval/tasks.jsonl: ${await writeJsonl("data/eval/tasks.jsonl", main)} tasks`);
console.log(`data/eval/reference30.jsonl: ${await writeJsonl("data/eval/reference30.jsonl", small)} tasks`);
console.log(`data/seeds/seeds.jsonl: ${await writeJsonl("data/seeds/seeds.jsonl", SEED_TRAJECTORIES)} trajectories`);
