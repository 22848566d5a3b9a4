import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { checkOutputPath, outputError } from "./output-path.js";
import { holdTemp, sweepStaleTemps, tempPathFor } from "./temp-files.js";

/**
 * Writes `text` to `path` through a temporary file beside it and a rename, so a reader (or a
 * run resumed after a crash) sees the old file or the whole new one, never half of it.
 */
export async function writeFileAtomic(path: string, text: string | Uint8Array): Promise<void> {
  checkOutputPath(path);
  const tmp = tempPathFor(path);
  const release = holdTemp(tmp);
  try {
    await mkdir(dirname(path), { recursive: true });
    sweepStaleTemps(path);
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw outputError(path, error);
  } finally {
    release();
  }
}

/** `writeFileAtomic` of pretty-printed JSON with a final newline. */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
