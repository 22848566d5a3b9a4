import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { InvalidInputError } from "../errors.js";

/** The relative path the commands name for the package's evaluation set. */
export const PACKAGE_TASKS = "data/eval/tasks.jsonl";

/** The package's evaluation set, from a build (dist/src/data) or a source checkout (src/data). */
export function packageTasksFile(): string {
  for (const rel of ["../../../data/eval/tasks.jsonl", "../../data/eval/tasks.jsonl"]) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new InvalidInputError("the package's evaluation set (data/eval/tasks.jsonl) is missing", { hint: "pass --tasks with a task file" });
}

/**
 * A --tasks value as a file to read: the package's own evaluation set where the value is its
 * relative name and no such file is under the current folder (a command run from outside a
 * checkout); any other value as it is.
 */
export function tasksFileFor(value: string): string {
  return value === PACKAGE_TASKS && !existsSync(value) ? packageTasksFile() : value;
}
