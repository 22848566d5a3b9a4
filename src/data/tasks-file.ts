import { isJsonObject } from "../react/json.js";
import { FileFormatError } from "../errors.js";
import { formatIssue, type JsonlIssue, readJsonl } from "./jsonl.js";
import { type SchemaIssue, validateTask, validateTrainingExample } from "./schema.js";
import type { Task, TrainingExample } from "./task.js";

/**
 * Reading task and training files (SPECS §3) with validation. Unknown fields stay on the
 * objects as they were in the file.
 */

/** What a line is checked as: a task, a training example, or decided per line (`messages`/`steps` → example). */
export type RecordKind = "task" | "example" | "auto";

function isExampleLine(value: unknown): boolean {
  return isJsonObject(value) && ("messages" in value || "steps" in value);
}

function validateAs(kind: RecordKind, value: unknown): SchemaIssue[] {
  const asExample = kind === "example" || (kind === "auto" && isExampleLine(value));
  return asExample ? validateTrainingExample(value) : validateTask(value);
}

/**
 * Every problem in a file: JSON errors and schema problems, each with its 1-based line, plus
 * duplicate ids. Reads the file as a stream, so large files are fine.
 */
export async function validateFile(file: string, kind: RecordKind = "auto"): Promise<{ records: number; issues: JsonlIssue[] }> {
  const issues: JsonlIssue[] = [];
  const seenIds = new Map<string, number>();
  let records = 0;
  for await (const { line, value } of readJsonl(file, { lenient: true, onIssue: (i) => issues.push(i) })) {
    records++;
    for (const issue of validateAs(kind, value)) issues.push({ file, line, ...(issue.field === undefined ? {} : { field: issue.field }), problem: issue.problem });
    if (isJsonObject(value) && typeof value.id === "string") {
      const first = seenIds.get(value.id);
      if (first !== undefined) issues.push({ file, line, field: "id", problem: `"${value.id}" repeats the id of line ${first}` });
      else seenIds.set(value.id, line);
    }
  }
  issues.sort((a, b) => a.line - b.line);
  return { records, issues };
}

async function readValidated<T>(file: string, kind: RecordKind): Promise<T[]> {
  const out: T[] = [];
  for await (const { line, value } of readJsonl(file)) {
    const issues = validateAs(kind, value);
    if (issues.length > 0) {
      const first = issues[0];
      const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem(s) on that line)` : "";
      throw new FileFormatError({
        file,
        location: first.field === undefined ? `line ${line}` : `line ${line}, ${first.field}`,
        problem: `${first.problem}${more}`,
        hint: `run \`agenttune data validate ${file}\` to list every problem`,
      });
    }
    out.push(value as T);
  }
  return out;
}

/**
 * Reads an evaluation task file. Training examples are tasks too, so a training file reads as well.
 *
 * @throws FileFormatError naming the file, line and field of the first problem.
 */
export function readTasks(file: string): Promise<Task[]> {
  return readValidated<Task>(file, "task");
}

/** Reads a training file (every line a full example). @throws FileFormatError like readTasks. */
export function readTrainingExamples(file: string): Promise<TrainingExample[]> {
  return readValidated<TrainingExample>(file, "example");
}

export { formatIssue };
