import { createReadStream, createWriteStream } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { createInflateRaw } from "node:zlib";
import { FileFormatError } from "../errors.js";

/** One file inside a zip, from the central directory. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

async function readAt(fh: FileHandle, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  const { bytesRead } = await fh.read(buf, 0, len, pos);
  return buf.subarray(0, bytesRead);
}

/** Reads the central directory of a zip file (zip64 included). */
export async function listZip(file: string): Promise<ZipEntry[]> {
  const fh = await open(file, "r");
  try {
    const size = (await fh.stat()).size;
    const bad = (problem: string) => new FileFormatError({ file, problem, hint: "the download may be truncated; fetch again" });
    // The end-of-central-directory record sits in the last 22 + 65535 bytes.
    const tailLen = Math.min(size, 22 + 65535);
    const tail = await readAt(fh, size - tailLen, tailLen);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === 0x06054b50) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw bad("no zip end-of-central-directory record");
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    // Zip64: a locator 20 bytes before the EOCD points at the zip64 EOCD record.
    if ((cdOffset === 0xffffffff || count === 0xffff) && eocd >= 20 && tail.readUInt32LE(eocd - 20) === 0x07064b50) {
      const z64 = await readAt(fh, Number(tail.readBigUInt64LE(eocd - 20 + 8)), 56);
      if (z64.readUInt32LE(0) !== 0x06064b50) throw bad("bad zip64 end-of-central-directory record");
      count = Number(z64.readBigUInt64LE(32));
      cdSize = Number(z64.readBigUInt64LE(40));
      cdOffset = Number(z64.readBigUInt64LE(48));
    }
    const cd = await readAt(fh, cdOffset, cdSize);
    const entries: ZipEntry[] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) throw bad(`bad central directory entry ${i}`);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      let compressedSize = cd.readUInt32LE(p + 20);
      let size = cd.readUInt32LE(p + 24);
      let localHeaderOffset = cd.readUInt32LE(p + 42);
      const name = cd.toString("utf8", p + 46, p + 46 + nameLen);
      // Zip64 extra field (id 1): the 0xffffffff fields, in order size, compressed, offset.
      let e = p + 46 + nameLen;
      const end = e + extraLen;
      while (e + 4 <= end) {
        const id = cd.readUInt16LE(e);
        const len = cd.readUInt16LE(e + 2);
        if (id === 1) {
          let q = e + 4;
          if (size === 0xffffffff) { size = Number(cd.readBigUInt64LE(q)); q += 8; }
          if (compressedSize === 0xffffffff) { compressedSize = Number(cd.readBigUInt64LE(q)); q += 8; }
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = Number(cd.readBigUInt64LE(q));
        }
        e += 4 + len;
      }
      entries.push({ name, method: cd.readUInt16LE(p + 10), compressedSize, size, localHeaderOffset });
      p = end + commentLen;
    }
    return entries;
  } finally {
    await fh.close();
  }
}

/**
 * Streams one member of a zip to `dest` (stored or deflate), never holding the whole member in
 * memory. `flags: "a"` appends, which is how split model parts are joined.
 */
export async function extractZipMember(
  file: string,
  member: string,
  dest: string,
  options: { append?: boolean } = {},
): Promise<ZipEntry> {
  const entry = (await listZip(file)).find((e) => e.name === member);
  if (!entry) throw new FileFormatError({ file, problem: `no member "${member}" in the zip`, hint: "the catalog entry may name the wrong file" });
  if (entry.method !== 0 && entry.method !== 8)
    throw new FileFormatError({ file, location: member, problem: `unsupported zip compression method ${entry.method}` });
  const fh = await open(file, "r");
  let dataStart: number;
  try {
    const lh = await readAt(fh, entry.localHeaderOffset, 30);
    if (lh.length < 30 || lh.readUInt32LE(0) !== 0x04034b50) throw new FileFormatError({ file, location: member, problem: "bad local file header" });
    dataStart = entry.localHeaderOffset + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
  } finally {
    await fh.close();
  }
  const out = createWriteStream(dest, { flags: options.append ? "a" : "w" });
  if (entry.compressedSize === 0) {
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return entry;
  }
  const input = createReadStream(file, { start: dataStart, end: dataStart + entry.compressedSize - 1 });
  if (entry.method === 0) await pipeline(input, out);
  else await pipeline(input, createInflateRaw(), out);
  return entry;
}
