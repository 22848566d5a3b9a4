// Writes the committed evaluation sets from the held-out templates, and the seed trajectories:
//   data/eval/tasks.jsonl        12 tasks per category (72)
//   data/eval/reference30.jsonl  5 more per category (30), disjoint from tasks.jsonl
//   data/seeds/seeds.jsonl       the ten hand-written seed trajectories (src/data/seeds.ts)
// Deterministic: the same code and tools give the same files; test/data/eval-set.test.ts
// fails when the committed files differ from what this makes. Run in the repository root
// (the paths are the repository's, whatever the working directory):
//   node --import tsx scripts/make-eval-set.ts [--seed 0]      (or: npx tsx scripts/make-eval-set.ts)
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { makeEvalSets } from "../src/data/eval-set.js";
import { writeJsonl } from "../src/data/jsonl.js";
import { SEED_TRAJECTORIES } from "../src/data/seeds.js";
import { createDefaultRegistry } from "../src/tools/registry.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { seed: { type: "string", default: "0" } } });
const seed = Number(values.seed);
if (!Number.isInteger(seed)) throw new Error(`--seed must be a whole number, got "${values.seed}"`);

const { tasks, reference30 } = await makeEvalSets(createDefaultRegistry(), seed);
const write = async (path: string, records: readonly unknown[], what: string) => {
  const file = join(root, path);
  console.log(`${relative(process.cwd(), file) || file}: ${await writeJsonl(file, records)} ${what}`);
};
await write("data/eval/tasks.jsonl", tasks, "tasks");
await write("data/eval/reference30.jsonl", reference30, "tasks");
await write("data/seeds/seeds.jsonl", SEED_TRAJECTORIES, "trajectories");
