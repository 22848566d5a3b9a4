// Positioned reads and atomic writes for model files (GGUF, safetensors). Reading goes through
// one file descriptor at explicit offsets, so a large file is never held in memory whole.

import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, } from "node:path";
import { FileFormatError } from "../errors.js";
import { checkOutputPath, outputError } from "../output-path.js";
import { sweepStaleTemps, tempPathFor } from "../temp-files.js";

const MAX_READ = 1 << 30;

/** An open file read at explicit offsets. */
export class PositionedFile {
  readonly path: string;
  readonly size: number;
  private fd: number | undefined;

  constructor(path: string) {
    this.path = path;
    this.fd = openSync(path, "r");
    try {
      this.size = fstatSync(this.fd).size;
    } catch (error) {
      closeSync(this.fd);
      throw error;
    }
  }

  /** Reads exactly `length` bytes at `offset` into a new buffer; throws FileFormatError past the end. */
  read(offset: number, length: number, location = "data"): Uint8Array {
    return this.readInto(offset, new Uint8Array(this.checkRange(offset, length, location)), location);
  }

  /** Reads `target.length` bytes at `offset` straight into `target` (no intermediate copy). */
  readInto(offset: number, target: Uint8Array, location = "data"): Uint8Array {
    const length = this.checkRange(offset, target.length, location);
    const out = target;
    if (this.fd === undefined) throw new Error(`${this.path} is closed`);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, done, Math.min(MAX_READ, length - done), offset + done);
      if (n <= 0) {
        throw new FileFormatError({ file: this.path, location, problem: `the file ended while reading byte ${offset + done}` });
      }
      done += n;
    }
    return out;
  }

  private checkRange(offset: number, length: number, location: string): number {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new FileFormatError({
        file: this.path,
        location,
        problem: `needs bytes ${offset}..${offset + length}, past the end of the file (${this.size} bytes)`,
        hint: "the file is truncated or not what it claims to be; fetch it again",
      });
    }
    return length;
  }

  /** Closes the descriptor; later reads throw. Safe to call twice. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * Writes a file by streaming chunks into a temporary file beside it (`tempPathFor`) (its folder made when missing),
 * fsyncing and renaming over `path`, so readers never see a half-written model file. `write` is
 * called with a sink.
 */
export function writeFileAtomic(path: string, write: (sink: (bytes: Uint8Array) => void) => void): void {
  checkOutputPath(path);
  // synchronous: a signal cannot run a handler mid-write, so a killed write's file is swept next time
  const tmp = tempPathFor(path);
  let fd: number;
  try {
    mkdirSync(dirname(path), { recursive: true });
    sweepStaleTemps(path);
    fd = openSync(tmp, "w");
  } catch (error) {
    throw outputError(path, error);
  }
  let ok = false;
  try {
    write((bytes) => {
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, Math.min(MAX_READ, bytes.length - done));
    });
    fsyncSync(fd);
    ok = true;
  } catch (error) {
    throw outputError(path, error);
  } finally {
    closeSync(fd);
    if (!ok) rmSync(tmp, { force: true });
  }
  try {
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw outputError(path, error);
  }
}
