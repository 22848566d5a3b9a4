import { InvalidInputError } from "./errors.js";

/** Refuses an empty output path before anything is written. */
export function checkOutputPath(path: string): void {
  if (path.trim() === "") throw new InvalidInputError("the output path is empty", { hint: "name the file to write" });
}

/**
 * The error to report when writing `path` failed with `error`: the operating system's codes a
 * user can act on (a folder where the file should go, a file where a folder should, no
 * permission, no space) as an InvalidInputError naming `path` itself rather than the temporary
 * file beside it; anything else as it came.
 */
export function outputError(path: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const problem: Record<string, [string, string]> = {
    EISDIR: ["it is a folder", "name a file inside it"],
    ENOTDIR: ["a part of the path before it is a file, not a folder", "pick a path whose folders are folders"],
    EEXIST: ["a part of the path before it is a file, not a folder", "pick a path whose folders are folders"],
    ENOENT: ["its folder does not exist and could not be made", "create the folder first"],
    EACCES: ["permission denied", "pick a folder you can write to"],
    EPERM: ["permission denied", "pick a folder you can write to"],
    EROFS: ["the file system is read-only", "pick a folder you can write to"],
    ENOSPC: ["no space left on the device", "free some space; nothing was replaced"],
  };
  const known = code === undefined ? undefined : problem[code];
  if (known === undefined) return error;
  return new InvalidInputError(`cannot write ${path}: ${known[0]}`, { hint: known[1], cause: error });
}
