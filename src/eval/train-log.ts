import { FileFormatError } from "../errors.js";
import { readTextMaybeGzipped } from "../gzip-file.js";

/** One line of a training log (JSONL): the step and the loss, plus whatever else the trainer wrote. */
export interface TrainLogEntry {
  step: number;
  loss?: number;
  eval_loss?: number;
  [key: string]: unknown;
}

/**
 * Reads a JSONL training log: one `{step, loss, …}` object a line (blank lines skipped), plain or
 * kept gzipped as `train_log.jsonl.gz` (see gzip-file.ts).
 *
 * @throws FileFormatError naming the line that is not such an object.
 */
export async function readTrainLog(path: string): Promise<TrainLogEntry[]> {
  let text: string;
  let file = path;
  try {
    ({ text, file } = await readTextMaybeGzipped(path));
  } catch (error) {
    if (error instanceof FileFormatError) throw error;
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new FileFormatError({ file, problem: missing ? "no such file" : `cannot be read (${(error as Error).message})`, hint: "give the train_log.jsonl that agenttune train wrote", cause: error });
  }
  const entries: TrainLogEntry[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new FileFormatError({ file, location: `line ${i + 1}`, problem: `not JSON (${(error as Error).message})` });
    }
    if (typeof value !== "object" || value === null || typeof (value as TrainLogEntry).step !== "number") {
      throw new FileFormatError({ file, location: `line ${i + 1}`, problem: 'expected an object with a numeric "step"', hint: 'each line: {"step": 10, "loss": 1.23}' });
    }
    entries.push(value as TrainLogEntry);
  });
  return entries;
}
