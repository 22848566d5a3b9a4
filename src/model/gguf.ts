// GGUF reader (SPECS §5; llama.cpp's gguf.cpp is the reference): magic "GGUF", version 2 or 3,
// tensor and metadata counts, typed metadata, tensor infos, data aligned to general.alignment.
// The header is parsed through a chunked cursor; tensor data is read on demand.

import { FileFormatError } from "../errors.js";
import { UnsupportedGgmlTypeError, canDequantize, dequantize, ggmlBlockLayout, ggmlTypeName } from "../quant/gguf-blocks.js";
import { UnsupportedModelError } from "./config.js";
import { PositionedFile } from "./gguf-io.js";
import { type GgufValue, type GgufValueTypeInfo, GgufValueType, ggufScalarSize, ggufValueTypeName, isGgufValueType } from "./gguf-values.js";

export { type GgufValue, type GgufValueTypeInfo, GgufValueType } from "./gguf-values.js";

/** The default data alignment when `general.alignment` is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
const MAX_DIMS = 4; // GGML_MAX_DIMS
const MAX_ARRAY_DEPTH = 8;
const CHUNK = 1 << 20;
// Beyond the file-size checks, caps that no real GGUF comes near (vocabularies hold ~262k
// entries; chat templates are kilobytes), so a lying header in a multi-GB file fails fast.
const MAX_STRING = 64 << 20;
const MAX_ARRAY = 1 << 24;

/**
 * One tensor's info. GGML lists dimensions fastest-first: `ne[0]` is the length of a row. The
 * row-major `shape` is `ne` reversed, so a GGUF matrix with `ne = [cols, rows]` has
 * `shape = [rows, cols]` — the same as the PyTorch/Hugging Face weight (`[out, in]` for a linear).
 */
export interface GgufTensorInfo {
  readonly name: string;
  /** Dimensions in GGML order (fastest-varying first). */
  readonly ne: readonly number[];
  /** Row-major shape: `ne` reversed (`[rows, cols]` for a matrix). */
  readonly shape: readonly number[];
  /** GGML type id (see GgmlType). */
  readonly type: number;
  readonly typeName: string;
  readonly elements: number;
  /** Offset relative to the data section, as stored. */
  readonly offset: number;
  /** Absolute byte offset in the file. */
  readonly fileOffset: number;
  readonly byteSize: number;
}

/** An open GGUF file. */
export interface GgufFile {
  readonly path: string;
  readonly version: number;
  readonly metadata: Readonly<Record<string, GgufValue>>;
  /** The stored type of each metadata value (needed to write it back unchanged). */
  readonly metadataTypes: Readonly<Record<string, GgufValueTypeInfo>>;
  readonly tensors: readonly GgufTensorInfo[];
  /** `general.architecture` ("llama", "qwen2", "gemma3", …), or undefined. */
  readonly architecture: string | undefined;
  readonly alignment: number;
  /** Absolute offset of the data section. */
  readonly dataStart: number;
  /** The tensor's info, or undefined. */
  tensor(name: string): GgufTensorInfo | undefined;
  /** The tensor dequantised to float32, in row-major order (length = elements). */
  readTensor(name: string): Float32Array;
  /** The tensor's stored bytes. */
  readTensorRaw(name: string): Uint8Array;
  close(): void;
}

/** Reads the header fields through a window that refills from the file as parsing advances. */
class Cursor {
  pos = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0;
  // ignoreBOM keeps a leading U+FEFF: it is part of some tokens (Gemma has "\uFEFF\uFEFF").
  private readonly decoder = new TextDecoder("utf-8", { ignoreBOM: true });

  constructor(
    private readonly file: PositionedFile,
    public location = "header",
  ) {}

  get remaining(): number {
    return this.file.size - this.pos;
  }

  fail(problem: string, location = this.location, hint?: string): never {
    throw new FileFormatError({
      file: this.file.path,
      location,
      problem,
      hint: hint ?? "the file is truncated or not a GGUF file; fetch it again",
    });
  }

  /** Makes `n` bytes at `pos` available; returns their offset in `buf`. */
  private need(n: number): number {
    if (n > this.remaining) this.fail(`needs ${n} bytes at offset ${this.pos} but the file ends at ${this.file.size}`);
    const rel = this.pos - this.bufStart;
    if (rel + n <= this.buf.length) return rel;
    const len = Math.min(Math.max(n, CHUNK), this.remaining);
    this.buf = this.file.read(this.pos, len, this.location);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.bufStart = this.pos;
    return 0;
  }

  u8(): number {
    const r = this.need(1);
    this.pos += 1;
    return this.buf[r];
  }
  u32(): number {
    const r = this.need(4);
    this.pos += 4;
    return this.view.getUint32(r, true);
  }
  /** A u64 as a number; values past 2^53 give Infinity (callers treat them as too large). */
  u64(): number {
    const r = this.need(8);
    this.pos += 8;
    const hi = this.view.getUint32(r + 4, true);
    if (hi >= 0x200000) return Number.POSITIVE_INFINITY;
    return hi * 2 ** 32 + this.view.getUint32(r, true);
  }

  string(): string {
    const len = this.u64();
    if (len > this.remaining) this.fail(`a string claims ${len} bytes but only ${this.remaining} remain in the file`);
    if (len > MAX_STRING) this.fail(`a string claims ${len} bytes, more than the ${MAX_STRING} allowed`);
    const r = this.need(len);
    this.pos += len;
    return this.decoder.decode(this.buf.subarray(r, r + len));
  }

  scalar(type: number): GgufValue {
    const size = ggufScalarSize(type);
    const r = this.need(size);
    this.pos += size;
    const v = this.view;
    switch (type) {
      case GgufValueType.UINT8:
        return v.getUint8(r);
      case GgufValueType.INT8:
        return v.getInt8(r);
      case GgufValueType.UINT16:
        return v.getUint16(r, true);
      case GgufValueType.INT16:
        return v.getInt16(r, true);
      case GgufValueType.UINT32:
        return v.getUint32(r, true);
      case GgufValueType.INT32:
        return v.getInt32(r, true);
      case GgufValueType.FLOAT32:
        return v.getFloat32(r, true);
      case GgufValueType.BOOL:
        return v.getUint8(r) !== 0;
      case GgufValueType.UINT64: {
        const b = v.getBigUint64(r, true);
        return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
      }
      case GgufValueType.INT64: {
        const b = v.getBigInt64(r, true);
        return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(b) : b;
      }
      default:
        return v.getFloat64(r, true);
    }
  }

  value(type: number, depth: number): { value: GgufValue; info: GgufValueTypeInfo } {
    if (!isGgufValueType(type)) this.fail(`unknown value type ${type}`);
    if (type === GgufValueType.STRING) return { value: this.string(), info: { type } };
    if (type !== GgufValueType.ARRAY) return { value: this.scalar(type), info: { type } };
    if (depth >= MAX_ARRAY_DEPTH) this.fail(`arrays nested more than ${MAX_ARRAY_DEPTH} deep`);
    const elementType = this.u32();
    if (!isGgufValueType(elementType)) this.fail(`array of unknown value type ${elementType}`);
    const count = this.u64();
    // Each element takes at least its scalar size, 8 bytes for a string, 12 for an array.
    const minSize = ggufScalarSize(elementType) || (elementType === GgufValueType.STRING ? 8 : 12);
    if (count > MAX_ARRAY) this.fail(`an array claims ${count} elements, more than the ${MAX_ARRAY} allowed`);
    if (count * minSize > this.remaining) {
      this.fail(`an array claims ${count} ${ggufValueTypeName(elementType)} elements, more than the ${this.remaining} bytes left can hold`);
    }
    const out: GgufValue[] = new Array(count);
    let inner: GgufValueTypeInfo | undefined;
    if (elementType === GgufValueType.STRING) {
      for (let i = 0; i < count; i++) out[i] = this.string();
    } else if (elementType !== GgufValueType.ARRAY) {
      for (let i = 0; i < count; i++) out[i] = this.scalar(elementType);
    } else {
      for (let i = 0; i < count; i++) {
        const sub = this.value(GgufValueType.ARRAY, depth + 1);
        out[i] = sub.value;
        inner = sub.info;
      }
    }
    const info: GgufValueTypeInfo = { type, elementType };
    if (inner !== undefined) info.elements = inner;
    return { value: out, info };
  }
}

class GgufFileImpl implements GgufFile {
  private readonly byName: Map<string, GgufTensorInfo>;
  readonly architecture: string | undefined;

  constructor(
    private readonly handle: PositionedFile,
    readonly version: number,
    readonly metadata: Record<string, GgufValue>,
    readonly metadataTypes: Record<string, GgufValueTypeInfo>,
    readonly tensors: GgufTensorInfo[],
    readonly alignment: number,
    readonly dataStart: number,
  ) {
    this.byName = new Map(tensors.map((t) => [t.name, t]));
    const arch = metadata["general.architecture"];
    this.architecture = typeof arch === "string" ? arch : undefined;
  }

  get path(): string {
    return this.handle.path;
  }

  tensor(name: string): GgufTensorInfo | undefined {
    return this.byName.get(name);
  }

  private info(name: string): GgufTensorInfo {
    const t = this.byName.get(name);
    if (t === undefined) {
      throw new UnsupportedModelError(`${this.path} has no tensor "${name}"`, {
        hint: "the GGUF does not hold the tensors this architecture needs",
      });
    }
    return t;
  }

  readTensorRaw(name: string): Uint8Array {
    const t = this.info(name);
    return this.handle.read(t.fileOffset, t.byteSize, `tensors[${JSON.stringify(name)}]`);
  }

  readTensor(name: string): Float32Array {
    const t = this.info(name);
    if (!canDequantize(t.type)) {
      throw new UnsupportedModelError(`${this.path}: tensor "${name}" is ${t.typeName}, which this reader cannot dequantise`, {
        hint: "use a GGUF quantised as F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K…Q6_K",
      });
    }
    if (t.type === 0) {
      // F32: straight into the result, no second copy.
      const out = new Float32Array(t.elements);
      this.handle.readInto(t.fileOffset, new Uint8Array(out.buffer), `tensors[${JSON.stringify(name)}]`);
      return out;
    }
    try {
      return dequantize(t.type, this.readTensorRaw(name), t.elements);
    } catch (error) {
      if (error instanceof UnsupportedGgmlTypeError) throw new UnsupportedModelError(error.message);
      throw error;
    }
  }

  close(): void {
    this.handle.close();
  }
}

/**
 * Opens a GGUF file and validates its header: counts that fit the file, known value and tensor
 * types, dimensions, tensor offsets aligned, in bounds and not overlapping. Throws
 * FileFormatError naming the file and the field; nothing larger than the file is allocated.
 */
export function openGguf(path: string): GgufFile {
  const handle = new PositionedFile(path);
  try {
    return parse(handle);
  } catch (error) {
    handle.close();
    throw error;
  }
}

function parse(handle: PositionedFile): GgufFile {
  const c: Cursor = new Cursor(handle, "magic");
  if (handle.size < 24) c.fail(`the file has ${handle.size} bytes, too few for a GGUF header`);
  if (c.u32() !== GGUF_MAGIC) c.fail('does not start with "GGUF"', "magic", "this is not a GGUF file");
  c.location = "version";
  const version = c.u32();
  if (version === 0x02000000 || version === 0x03000000) c.fail("is a big-endian GGUF, which this reader does not support", "version");
  if (version !== 2 && version !== 3) c.fail(`version ${version} is not supported (only 2 and 3)`, "version", "convert the model with a recent llama.cpp");
  c.location = "tensor_count";
  const tensorCount = c.u64();
  // A tensor info takes at least 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset) bytes.
  if (tensorCount * 24 > c.remaining) c.fail(`claims ${tensorCount} tensors, more than the file can hold`);
  c.location = "kv_count";
  const kvCount = c.u64();
  // A key/value takes at least 8 (key length) + 4 (type) + 1 bytes.
  if (kvCount * 13 > c.remaining) c.fail(`claims ${kvCount} metadata entries, more than the file can hold`);

  const metadata: Record<string, GgufValue> = Object.create(null);
  const metadataTypes: Record<string, GgufValueTypeInfo> = Object.create(null);
  for (let i = 0; i < kvCount; i++) {
    c.location = `metadata[${i}].key`;
    const key = c.string();
    if (Object.hasOwn(metadata, key)) c.fail(`duplicate key "${key}"`);
    c.location = `metadata[${JSON.stringify(key)}]`;
    const type = c.u32();
    const { value, info } = c.value(type, 0);
    metadata[key] = value;
    metadataTypes[key] = info;
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  if (Object.hasOwn(metadata, "general.alignment")) {
    const a = metadata["general.alignment"];
    if (metadataTypes["general.alignment"].type !== GgufValueType.UINT32 || typeof a !== "number" || a === 0 || (a & (a - 1)) !== 0) {
      c.fail(`${String(a)} is not a power of two stored as UINT32`, 'metadata["general.alignment"]');
    }
    alignment = a;
  }

  const raw: { name: string; ne: number[]; type: number; offset: number; elements: number; byteSize: number }[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    c.location = `tensors[${i}].name`;
    const name = c.string();
    const at = `tensors[${JSON.stringify(name)}]`;
    if (names.has(name)) c.fail(`duplicate tensor name "${name}"`, at);
    names.add(name);
    c.location = `${at}.n_dims`;
    const nDims = c.u32();
    if (nDims > MAX_DIMS) c.fail(`${nDims} dimensions, more than GGML's ${MAX_DIMS}`);
    c.location = `${at}.ne`;
    const ne: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      const n = c.u64();
      if (!Number.isSafeInteger(n)) c.fail(`dimension ${d} is too large`);
      ne.push(n);
      elements *= n;
    }
    if (!Number.isSafeInteger(elements)) c.fail(`${ne.join("×")} elements is too many`);
    c.location = `${at}.type`;
    const type = c.u32();
    const layout = ggmlBlockLayout(type);
    if (layout === undefined) c.fail(`unknown GGML type ${type}`, `${at}.type`, "the file needs a newer reader, or it is damaged");
    if (ne.length > 0 && ne[0] % layout.blockSize !== 0) {
      c.fail(`row length ${ne[0]} is not a multiple of the ${ggmlTypeName(type)} block size ${layout.blockSize}`, `${at}.ne`);
    }
    c.location = `${at}.offset`;
    const offset = c.u64();
    if (!Number.isSafeInteger(offset)) c.fail("is too large");
    if (offset % alignment !== 0) c.fail(`${offset} is not a multiple of the alignment ${alignment}`);
    raw.push({ name, ne, type, offset, elements, byteSize: (elements / layout.blockSize) * layout.typeSize });
  }

  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  const dataSize = handle.size - dataStart;
  if (raw.length > 0 && dataSize < 0) c.fail(`the data section would start at ${dataStart}, past the end of the file`, "data");
  const tensors: GgufTensorInfo[] = raw.map((t) => ({
    name: t.name,
    ne: t.ne,
    shape: [...t.ne].reverse(),
    type: t.type,
    typeName: ggmlTypeName(t.type),
    elements: t.elements,
    offset: t.offset,
    fileOffset: dataStart + t.offset,
    byteSize: t.byteSize,
  }));
  for (const t of tensors) {
    if (t.offset + t.byteSize > dataSize) {
      c.fail(
        `${t.typeName} ${t.ne.join("×")} at data offset ${t.offset} ends at ${t.offset + t.byteSize}, past the end of the data (${dataSize} bytes)`,
        `tensors[${JSON.stringify(t.name)}].offset`,
        "the download was probably cut short; delete the file and fetch it again",
      );
    }
  }
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    if (sorted[i].offset < prev.offset + prev.byteSize) {
      c.fail(`starts at ${sorted[i].offset}, inside "${prev.name}" (${prev.offset}..${prev.offset + prev.byteSize})`, `tensors[${JSON.stringify(sorted[i].name)}].offset`);
    }
  }
  return new GgufFileImpl(handle, version, metadata, metadataTypes, tensors, alignment, dataStart);
}
