import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { FileFormatError } from "./errors.js";

/**
 * Text files that may be kept gzipped. Large result files (an evaluation's eval.json, a training
 * log) compress about tenfold, and a folder of results can keep them as `NAME.gz`; everything that
 * reads them goes through here, so `NAME` finds `NAME.gz` when the plain file is not there, and a
 * file that is gzip data (its first two bytes 1f 8b) is read decompressed whatever its name.
 */

const GZIP_MAGIC = [0x1f, 0x8b] as const;

/**
 * Reads `path` as UTF-8 text, or `path.gz` decompressed when `path` does not exist. Returns the
 * text and the file read. Errors are those of reading `path` (ENOENT when neither exists, EISDIR
 * for a folder); gzip data that does not decompress is a FileFormatError naming the file.
 */
export async function readTextMaybeGzipped(path: string): Promise<{ text: string; file: string }> {
  let bytes: Buffer;
  let file = path;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT" || !existsSync(`${path}.gz`)) throw error;
    file = `${path}.gz`;
    bytes = await readFile(file);
  }
  const gzipped = bytes.length >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
  if (!gzipped) return { text: bytes.toString("utf8"), file };
  try {
    return { text: gunzipSync(bytes).toString("utf8"), file };
  } catch (error) {
    throw new FileFormatError({ file, problem: `is not whole gzip data (${(error as Error).message})`, hint: "the file may be cut short: copy it again", cause: error });
  }
}

/** Whether `path` or `path.gz` exists. */
export function existsMaybeGzipped(path: string): boolean {
  return existsSync(path) || existsSync(`${path}.gz`);
}
