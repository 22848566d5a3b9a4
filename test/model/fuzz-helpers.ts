// Deterministic mutations for the header fuzz tests.
import { closeSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { mulberry32 } from "../../src/random.js";

/** mulberry32: a small seeded PRNG so every fuzz run is reproducible. */
export const rng: (seed: number) => () => number = mulberry32;

const HUGE = [2n ** 64n - 1n, 2n ** 63n, 2n ** 53n + 1n, 2n ** 40n, 2n ** 32n, 0xffffffffn, 0x7fffffffn, 1n << 20n, 0n];

/** One random mutation of `base` whose first `headerEnd` bytes are the header. */
export function mutate(base: Uint8Array, headerEnd: number, rand: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(rand() * n);
  const b = Uint8Array.from(base);
  const view = new DataView(b.buffer);
  switch (pick(5)) {
    case 0: {
      // flip a few bits in the header
      const n = 1 + pick(8);
      for (let i = 0; i < n; i++) b[pick(headerEnd)] ^= 1 << pick(8);
      return b;
    }
    case 1:
      // truncate anywhere
      return b.subarray(0, pick(b.length));
    case 2: {
      // overwrite a header word with a huge or boundary value
      const at = pick(Math.max(1, headerEnd - 8));
      view.setBigUint64(at, HUGE[pick(HUGE.length)], true);
      return b;
    }
    case 3: {
      // overwrite a 32-bit word (types, dimension counts) with a random small or large value
      const at = pick(Math.max(1, headerEnd - 4));
      view.setUint32(at, rand() < 0.5 ? pick(64) : Math.floor(rand() * 2 ** 32), true);
      return b;
    }
    default: {
      // random bytes spliced into the header
      const at = pick(headerEnd);
      const junk = Uint8Array.from({ length: 1 + pick(16) }, () => pick(256));
      const out = new Uint8Array(b.length + junk.length);
      out.set(b.subarray(0, at));
      out.set(junk, at);
      out.set(b.subarray(at), at + junk.length);
      return out;
    }
  }
}

/** One file rewritten in place for each mutant (reopening a file per iteration is slow on some disks). */
export class MutantFile {
  private readonly fd: number;
  constructor(readonly path: string) {
    this.fd = openSync(path, "w");
  }
  write(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, done);
    ftruncateSync(this.fd, bytes.length);
  }
  close(): void {
    closeSync(this.fd);
  }
}
