import type { Task, TrainingExample } from "./task.js";

/**
 * An evaluation task from a built example: the task fields only (the trajectory is what the
 * model must produce), plus the template id for tracing the split. Field order is fixed so
 * the committed file diffs cleanly.
 */
export function toEvalTask(example: TrainingExample): Task & { template?: string } {
  const task: Task & { template?: string } = {
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
