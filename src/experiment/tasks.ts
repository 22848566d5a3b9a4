import { existsSync, statSync } from "node:fs";
import type { Task } from "../data/task.js";
import { readTasks } from "../data/tasks-file.js";
import { InvalidInputError } from "../errors.js";
import { pickTasks } from "../pipeline/quickstart.js";

/** Where an experiment's evaluation tasks come from. */
export interface ExperimentTaskSource {
  /** The tasks themselves (then `tasksFile` only labels them)… */
  tasks?: readonly Task[];
  /** …or a JSONL task file (SPECS §3). */
  tasksFile?: string;
  /** Only this many, taken evenly across categories (a smaller, still balanced set). */
  evalTasks?: number;
}

/**
 * The evaluation tasks of an experiment.
 *
 * @throws InvalidInputError (field "tasks") when none are given, the file is missing or holds
 *   no task; (field "eval-tasks") for a count that is not a whole number ≥ 1.
 */
export async function loadExperimentTasks(source: ExperimentTaskSource): Promise<Task[]> {
  const count = source.evalTasks;
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) {
    throw new InvalidInputError(`the number of evaluation tasks must be a whole number ≥ 1, got ${count}`, { field: "eval-tasks" });
  }
  let all: readonly Task[];
  if (source.tasks !== undefined) {
    all = source.tasks;
  } else if (source.tasksFile !== undefined) {
    const file = source.tasksFile;
    if (!existsSync(file) || !statSync(file).isFile()) {
      throw new InvalidInputError(`the tasks file ${file} does not exist`, { field: "tasks", hint: "pass --tasks with an evaluation task file (JSONL, SPECS §3), e.g. data/eval/tasks.jsonl" });
    }
    all = await readTasks(file);
  } else {
    throw new InvalidInputError("name the evaluation tasks with --tasks", { field: "tasks", hint: "e.g. --tasks data/eval/tasks.jsonl" });
  }
  if (all.length === 0) throw new InvalidInputError(`there are no evaluation tasks${source.tasksFile === undefined ? "" : ` in ${source.tasksFile}`}`, { field: "tasks", hint: "one JSON task a line (SPECS §3)" });
  return count === undefined ? [...all] : pickTasks(all, count);
}
