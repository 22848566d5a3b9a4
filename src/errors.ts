/**
 * The base of every error AgentTune throws on purpose. Each carries a `hint` that tells the
 * user what to do about it; the CLI prints `message` then `hint`, and exits with `exitCode`.
 */
export class AgentTuneError extends Error {
  /** What the user can do about it. */
  readonly hint: string | undefined;
  /** The process exit code the CLI uses for this kind of error. */
  readonly exitCode: number;

  constructor(message: string, options: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A user-supplied value (a flag, a file, a request field) is wrong. Exit code 2, like a usage error. */
export class InvalidInputError extends AgentTuneError {
  readonly field: string | undefined;
  constructor(message: string, options: { field?: string; hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: 2 });
    this.field = options.field;
  }
}

/** A file on disk (dataset, model, adapter, checkpoint) is malformed; names the file and where. */
export class FileFormatError extends AgentTuneError {
  readonly file: string;
  /** 1-based line for text files, or a field path such as `tensors["x"].data_offsets`. */
  readonly location: string | undefined;
  constructor(options: { file: string; location?: string; problem: string; hint?: string; cause?: unknown }) {
    const where = options.location === undefined ? options.file : `${options.file} (${options.location})`;
    super(`${where}: ${options.problem}`, { hint: options.hint, cause: options.cause, exitCode: 2 });
    this.file = options.file;
    this.location = options.location;
  }
}

/** Turns anything thrown into a readable one-line message (with the hint on a second line). */
export function describeError(error: unknown): string {
  if (error instanceof AgentTuneError) {
    return error.hint === undefined ? error.message : `${error.message}\n  hint: ${error.hint}`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
