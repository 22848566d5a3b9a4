import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { dirname, } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { FileFormatError, InvalidInputError } from "../errors.js";
import { checkOutputPath, outputError } from "../output-path.js";
import { holdTemp, sweepStaleTemps, tempPathFor } from "../temp-files.js";

/**
 * JSONL files (one JSON value a line): a streaming reader that never holds more than one line
 * in memory, and an atomic writer. Blank lines are allowed and skipped; `\r\n` endings and a
 * byte-order mark are accepted.
 */

/** One problem found in a JSONL file. `line` is 1-based; `field` a path inside the line's object. */
export interface JsonlIssue {
  file: string;
  line: number;
  field?: string;
  problem: string;
}

/** One parsed line. */
export interface JsonlRecord {
  line: number;
  value: unknown;
}

export interface ReadJsonlOptions {
  /**
   * Collect problems instead of throwing: a bad line is skipped and reported through `onIssue`.
   * Without it, the first bad line throws a FileFormatError naming the file and line.
   */
  lenient?: boolean;
  onIssue?: (issue: JsonlIssue) => void;
  /** Lines longer than this (in characters) are a problem rather than a memory hazard. Default 64 Mi. */
  maxLineChars?: number;
}

const DEFAULT_MAX_LINE = 64 * 1024 * 1024;

/** Renders an issue as `file:line: field: problem`. */
export function formatIssue(issue: JsonlIssue): string {
  return `${issue.file}:${issue.line}: ${issue.field === undefined ? "" : `${issue.field}: `}${issue.problem}`;
}

/** The FileFormatError for an issue (the strict reader throws it). */
export function issueError(issue: JsonlIssue): FileFormatError {
  return new FileFormatError({
    file: issue.file,
    location: `line ${issue.line}${issue.field === undefined ? "" : `, ${issue.field}`}`,
    problem: issue.problem,
    hint: "each line must hold one complete JSON object; fix or delete that line (agenttune data validate lists every problem)",
  });
}

function describeJsonError(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  return `not valid JSON (${message}): ${JSON.stringify(shown)}`;
}

/**
 * Reads JSONL from a stream of chunks (bytes are decoded as UTF-8, split across chunks safely).
 * The core of `readJsonl`; also what the fuzz test drives. Yields one record per non-blank line.
 */
export async function* readJsonlChunks(
  chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  file: string,
  options: ReadJsonlOptions = {},
): AsyncGenerator<JsonlRecord, void, undefined> {
  const maxLine = options.maxLineChars ?? DEFAULT_MAX_LINE;
  const decoder = new StringDecoder("utf8");
  let buffer = "";
  let lineNo = 1;
  let first = true;
  let tooLong = false;

  const report = (line: number, problem: string): void => {
    const issue: JsonlIssue = { file, line, problem };
    if (!options.lenient) throw issueError(issue);
    options.onIssue?.(issue);
  };
  const parseLine = (raw: string, line: number, terminated: boolean): JsonlRecord | undefined => {
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (text.trim() === "") return undefined;
    try {
      return { line, value: JSON.parse(text) };
    } catch (error) {
      if (!terminated) {
        report(line, `the last line is cut short (no newline at its end and ${describeJsonError(text, error)}); the file may be truncated`);
      } else {
        report(line, describeJsonError(text, error));
      }
      return undefined;
    }
  };

  for await (const chunk of chunks) {
    let text = typeof chunk === "string" ? chunk : decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if (first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (tooLong) {
        tooLong = false;
      } else {
        const record = parseLine(buffer + piece, lineNo, true);
        if (record !== undefined) yield record;
      }
      buffer = "";
      lineNo++;
    }
    if (!tooLong) {
      buffer += text.slice(start);
      if (buffer.length > maxLine) {
        report(lineNo, `the line is longer than ${maxLine} characters`);
        buffer = "";
        tooLong = true;
      }
    }
  }
  if (!tooLong) buffer += decoder.end();
  if (!tooLong && buffer !== "") {
    const record = parseLine(buffer, lineNo, false);
    if (record !== undefined) yield record;
  }
}

/**
 * Streams the records of a JSONL file, line by line.
 *
 * @throws InvalidInputError when the file cannot be opened; FileFormatError for a bad line (unless lenient).
 */
export async function* readJsonl(file: string, options: ReadJsonlOptions = {}): AsyncGenerator<JsonlRecord, void, undefined> {
  const stream = createReadStream(file, { highWaterMark: 1 << 16 });
  try {
    await new Promise<void>((resolve, reject) => {
      stream.once("open", () => resolve());
      stream.once("error", reject);
    });
  } catch (error) {
    stream.destroy();
    const code = (error as NodeJS.ErrnoException).code;
    throw new InvalidInputError(`cannot read ${file}: ${code === "ENOENT" ? "no such file" : (error as Error).message}`, {
      field: "file",
      hint: code === "ENOENT" ? "check the path; dataset files are JSONL (one JSON object a line)" : undefined,
      cause: error,
    });
  }
  // a folder opens like a file and fails only on the first read, with no path in the error
  if ((await stat(file)).isDirectory()) {
    stream.destroy();
    throw new InvalidInputError(`cannot read ${file}: it is a folder`, { field: "file", hint: "name a JSONL file inside it" });
  }
  try {
    yield* readJsonlChunks(stream as AsyncIterable<Uint8Array>, file, options);
  } finally {
    stream.destroy();
  }
}

/** Reads a whole (small) JSONL file leniently: every parsed record and every issue. */
export async function readJsonlFile(file: string, options: Omit<ReadJsonlOptions, "lenient" | "onIssue"> = {}): Promise<{ records: JsonlRecord[]; issues: JsonlIssue[] }> {
  const records: JsonlRecord[] = [];
  const issues: JsonlIssue[] = [];
  for await (const record of readJsonl(file, { ...options, lenient: true, onIssue: (i) => issues.push(i) })) records.push(record);
  return { records, issues };
}

/**
 * Writes values as JSONL, atomically: to a temporary file beside the target, flushed, then
 * renamed over it, so a reader never sees half a file and a crash leaves the old one intact.
 */
export async function writeJsonl(file: string, values: Iterable<unknown> | AsyncIterable<unknown>): Promise<number> {
  checkOutputPath(file);
  const temp = tempPathFor(file);
  const release = holdTemp(temp);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    await mkdir(dirname(file), { recursive: true });
    sweepStaleTemps(file);
    handle = await open(temp, "w");
  } catch (error) {
    release();
    throw outputError(file, error);
  }
  let count = 0;
  try {
    let pending: string[] = [];
    let size = 0;
    for await (const value of values as AsyncIterable<unknown>) {
      const line = JSON.stringify(value);
      if (line === undefined) throw new InvalidInputError(`item ${count + 1} cannot be written as JSON`, { field: `[${count}]` });
      pending.push(line, "\n");
      size += line.length + 1;
      count++;
      if (size > 1 << 20) {
        await handle.write(pending.join(""));
        pending = [];
        size = 0;
      }
    }
    await handle.write(pending.join(""));
    await handle.sync();
    await handle.close();
    await rename(temp, file);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true }).catch(() => undefined);
    throw outputError(file, error);
  } finally {
    release();
  }
  return count;
}
