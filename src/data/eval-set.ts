import type { AgentTools } from "../agent/tools.js";
import { BUILD_CATEGORIES, buildDataset } from "./build.js";
import type { Task, TrainingExample } from "./task.js";

/** An evaluation task as the committed files hold it: the task fields plus the template it came from. */
export type EvalTask = Task & { template?: string };

/**
 * An evaluation task from a built example: the task fields only (the trajectory is what the
 * model must produce), plus the template id for tracing the split. Field order is fixed so
 * the committed file diffs cleanly.
 */
export function toEvalTask(example: TrainingExample): EvalTask {
  const task: EvalTask = {
    id: example.id.replace(/^eval-/, ""),
    query: example.query,
    expected_tools: example.expected_tools,
  };
  if (example.expected_calls !== undefined) task.expected_calls = example.expected_calls;
  if (example.min_steps !== undefined) task.min_steps = example.min_steps;
  if (example.max_steps !== undefined) task.max_steps = example.max_steps;
  if (example.answer_contains !== undefined) task.answer_contains = example.answer_contains;
  if (example.category !== undefined) task.category = example.category;
  if (example.tools !== undefined) task.tools = example.tools;
  if (example.seed !== undefined) task.seed = example.seed;
  const template = (example as TrainingExample & { template?: string }).template;
  if (template !== undefined) task.template = template;
  return task;
}

/** Tasks per category in `data/eval/tasks.jsonl`. */
export const EVAL_SET_PER_CATEGORY = 12;
/** Tasks per category in `data/eval/reference30.jsonl` (6 categories × 5 = 30). */
export const REFERENCE30_PER_CATEGORY = 5;

export interface EvalSets {
  /** The evaluation set: EVAL_SET_PER_CATEGORY tasks of each category, categories in BUILD_CATEGORIES order. */
  tasks: EvalTask[];
  /** The quick set: the next REFERENCE30_PER_CATEGORY draws of each category, so no task of `tasks` repeats. */
  reference30: EvalTask[];
}

/**
 * The committed evaluation sets (what `scripts/make-eval-set.ts` writes): one eval-split build
 * of EVAL_SET_PER_CATEGORY + REFERENCE30_PER_CATEGORY tasks a category, run against `tools`
 * with `seed`, the first draws of each category going to `tasks` and the rest to `reference30`.
 * Deterministic in its arguments; the build de-duplicates, so the two sets share no task.
 */
export async function makeEvalSets(tools: AgentTools, seed = 0): Promise<EvalSets> {
  const examples = await buildDataset({
    split: "eval",
    perCategory: EVAL_SET_PER_CATEGORY + REFERENCE30_PER_CATEGORY,
    seed,
    tools,
    messages: false,
  });
  const sets: EvalSets = { tasks: [], reference30: [] };
  for (const category of BUILD_CATEGORIES) {
    const tasks = examples.filter((e) => e.category === category).map(toEvalTask);
    sets.tasks.push(...tasks.slice(0, EVAL_SET_PER_CATEGORY));
    sets.reference30.push(...tasks.slice(EVAL_SET_PER_CATEGORY));
  }
  return sets;
}
