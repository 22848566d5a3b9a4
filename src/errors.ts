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
  const system = describeSystemError(error);
  if (system !== undefined) return system;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** What a user can do about the operating system's common refusals. */
const SYSTEM_ERRORS: Record<string, [string, string]> = {
  EISDIR: ["it is a folder", "name a file, not a folder"],
  ENOTDIR: ["a part of the path is a file, not a folder", "check the path"],
  EEXIST: ["a file is in the way of a folder", "check the path: one of its folders is a file"],
  ENOENT: ["no such file or folder", "check the path"],
  EACCES: ["permission denied", "pick a path you may read and write"],
  EPERM: ["permission denied", "pick a path you may read and write"],
  EROFS: ["the file system is read-only", "pick another folder"],
  ENOSPC: ["no space left on the device", "free some space"],
};

/**
 * A Node system error (a file call or a listen that the operating system refused) in words: the
 * path or port, what is wrong with it, and a hint; undefined for any other error.
 */
function describeSystemError(error: unknown): string | undefined {
  const e = error as (NodeJS.ErrnoException & { port?: number; dest?: string }) | undefined;
  if (!(e instanceof Error) || typeof e.code !== "string" || typeof e.syscall !== "string") return undefined;
  if (e.code === "EADDRINUSE" && e.syscall === "listen") return `port ${e.port ?? "?"} is already in use\n  hint: stop what listens there, or pick another with --port`;
  const known = SYSTEM_ERRORS[e.code];
  if (known === undefined || typeof e.path !== "string") return undefined;
  const path = e.syscall === "rename" && typeof e.dest === "string" ? e.dest : e.path;
  return `cannot ${e.syscall} ${path}: ${known[0]}\n  hint: ${known[1]}`;
}
