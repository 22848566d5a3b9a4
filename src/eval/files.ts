import { join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../atomic-file.js";
import { FileFormatError } from "../errors.js";
import { readTextMaybeGzipped } from "../gzip-file.js";
import { formatEvalReport } from "./report.js";
import type { EvalResult } from "./result.js";

/** The files an evaluation writes into its output folder. */
export const EVAL_JSON = "eval.json";
export const EVAL_MARKDOWN = "eval.md";

/**
 * Writes `eval.json` (the full result) and `eval.md` (the summary) into `dir`, creating it.
 * Each file goes through a temporary file and a rename, eval.json last: where eval.json is,
 * the evaluation finished and both files are whole (resumable experiments rely on it).
 * Returns the two paths.
 */
export async function writeEvalResult(dir: string, result: EvalResult): Promise<{ json: string; markdown: string }> {
  const json = join(dir, EVAL_JSON);
  const markdown = join(dir, EVAL_MARKDOWN);
  await writeFileAtomic(markdown, formatEvalReport(result));
  await writeJsonAtomic(json, result);
  return { json, markdown };
}

/**
 * Reads an `eval.json` written by `writeEvalResult` (or a folder holding one), or the same kept
 * gzipped as `eval.json.gz` (see gzip-file.ts).
 *
 * @throws FileFormatError when the file is not JSON or not an evaluation result.
 */
export async function readEvalResult(path: string): Promise<EvalResult> {
  let file = path;
  let text: string;
  try {
    ({ text, file } = await readTextMaybeGzipped(path));
  } catch (error) {
    if (error instanceof FileFormatError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EISDIR") {
      file = join(path, EVAL_JSON);
      return readEvalResult(file);
    }
    throw new FileFormatError({
      file,
      problem: code === "ENOENT" ? "no such file" : `cannot be read (${(error as Error).message})`,
      hint: "give the eval.json that `agenttune eval --out DIR` wrote (or DIR itself)",
      cause: error,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new FileFormatError({ file, problem: `is not JSON (${(error as Error).message})`, cause: error });
  }
  const v = value as Partial<EvalResult> | null;
  if (v === null || typeof v !== "object" || v.version !== 1 || typeof v.model !== "string" || !Array.isArray(v.records) || typeof v.aggregates !== "object") {
    throw new FileFormatError({
      file,
      problem: "is not an evaluation result (expected version 1 with model, records and aggregates)",
      hint: "give the eval.json that `agenttune eval --out DIR` wrote",
    });
  }
  return v as EvalResult;
}
