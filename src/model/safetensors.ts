// safetensors reader and writer (SPECS §5): 8-byte little-endian header length N, N bytes of
// JSON, then the raw little-endian tensor data. Tensors are read one at a time, on demand.

import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { AgentTuneError, FileFormatError } from "../errors.js";
import {
  bf16BytesToFloat32,
  f16BytesToFloat32,
  f32BytesToFloat32,
  float32ToBf16Bytes,
  float32ToF16Bytes,
} from "../quant/half.js";
import { PositionedFile, writeFileAtomic } from "./gguf-io.js";

/** Bytes per element of each safetensors dtype. */
export const SAFETENSORS_DTYPE_SIZES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
} as const;
/** A safetensors dtype name. */
export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPE_SIZES;

/** The largest header this reader accepts (the format's own readers cap it at 100 MB too). */
export const MAX_SAFETENSORS_HEADER = 100_000_000;

/** One tensor's entry in the header. */
export interface SafetensorsTensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  /** Row-major shape, as PyTorch sees it. */
  readonly shape: readonly number[];
  /** [begin, end) relative to the start of the data section. */
  readonly dataOffsets: readonly [number, number];
  /** Absolute byte offset of the tensor in its file. */
  readonly fileOffset: number;
  readonly byteSize: number;
  /** The file that holds it (differs between tensors of a sharded model). */
  readonly file: string;
}

/** A set of tensors read lazily from one safetensors file or a sharded model. */
export interface TensorSource {
  /** String metadata (`__metadata__`); for a sharded model, that of the index's `metadata` (stringified). */
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: readonly SafetensorsTensorInfo[];
  /** The tensor's header entry, or undefined. */
  tensor(name: string): SafetensorsTensorInfo | undefined;
  /** The tensor as float32 (F32, F16, BF16 and F64 convert; others are refused). */
  readTensor(name: string): Float32Array;
  /** The tensor's raw little-endian bytes. */
  readTensorRaw(name: string): Uint8Array;
  /** Closes the file handles. */
  close(): void;
}

/** A tensor dtype this reader cannot turn into float32. */
export class UnsupportedDtypeError extends AgentTuneError {
  constructor(file: string, name: string, dtype: string) {
    super(`${file}: tensor "${name}" has dtype ${dtype}, which cannot be read as float32`, {
      hint: "convert the model to F32, F16 or BF16 safetensors",
    });
  }
}

function fail(file: string, location: string | undefined, problem: string, hint?: string): never {
  throw new FileFormatError({
    file,
    location,
    problem,
    hint: hint ?? "the file is damaged or not a safetensors file; fetch or export it again",
  });
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** Validates a parsed header object and returns its entries sorted by offset. */
function parseHeader(file: string, header: unknown, dataSize: number, dataStart: number) {
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    fail(file, "header", "the header is not a JSON object");
  }
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
        fail(file, "__metadata__", "is not an object of strings");
      }
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== "string") fail(file, `__metadata__[${JSON.stringify(k)}]`, `is ${JSON.stringify(v)}, not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const at = `tensors[${JSON.stringify(name)}]`;
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) fail(file, at, "is not an object");
    const e = entry as Record<string, unknown>;
    if (typeof e.dtype !== "string" || !Object.hasOwn(SAFETENSORS_DTYPE_SIZES, e.dtype)) {
      fail(file, `${at}.dtype`, `unknown dtype ${JSON.stringify(e.dtype)}`, `known dtypes: ${Object.keys(SAFETENSORS_DTYPE_SIZES).join(", ")}`);
    }
    const dtype = e.dtype as SafetensorsDtype;
    if (!Array.isArray(e.shape) || !e.shape.every(isCount)) {
      fail(file, `${at}.shape`, `${JSON.stringify(e.shape)} is not a list of non-negative integers`);
    }
    const shape = e.shape as number[];
    let count = 1;
    for (const d of shape) count *= d;
    if (!Number.isSafeInteger(count * SAFETENSORS_DTYPE_SIZES[dtype])) fail(file, `${at}.shape`, `${JSON.stringify(shape)} is too large`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !isCount(offs[0]) || !isCount(offs[1]) || offs[0] > offs[1]) {
      fail(file, `${at}.data_offsets`, `${JSON.stringify(offs)} is not [begin, end] with 0 ≤ begin ≤ end`);
    }
    const [begin, end] = offs as [number, number];
    const byteSize = count * SAFETENSORS_DTYPE_SIZES[dtype];
    if (end - begin !== byteSize) {
      fail(file, `${at}.data_offsets`, `[${begin}, ${end}] spans ${end - begin} bytes but ${dtype} ${JSON.stringify(shape)} needs ${byteSize}`);
    }
    if (end > dataSize) {
      fail(
        file,
        `${at}.data_offsets`,
        `ends at byte ${end} of the data, past its end (${dataSize} bytes)`,
        "the download was probably cut short; delete the file and fetch it again",
      );
    }
    tensors.push({ name, dtype, shape, dataOffsets: [begin, end], fileOffset: dataStart + begin, byteSize, file });
  }
  tensors.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let expected = 0;
  for (const t of tensors) {
    if (t.dataOffsets[0] !== expected) {
      const problem =
        t.dataOffsets[0] < expected
          ? `starts at ${t.dataOffsets[0]}, inside the previous tensor (which ends at ${expected})`
          : `starts at ${t.dataOffsets[0]}, leaving a gap after byte ${expected}`;
      fail(file, `tensors[${JSON.stringify(t.name)}].data_offsets`, `${problem}; tensors must be contiguous and not overlap`);
    }
    expected = t.dataOffsets[1];
  }
  if (expected !== dataSize) {
    fail(file, "data", `the tensors cover ${expected} bytes but the data section has ${dataSize}`);
  }
  return { metadata, tensors };
}

class SafetensorsFileImpl implements TensorSource {
  readonly metadata: Record<string, string>;
  readonly tensors: SafetensorsTensorInfo[];
  private readonly byName: Map<string, SafetensorsTensorInfo>;

  constructor(
    private readonly handle: PositionedFile,
    parsed: { metadata: Record<string, string>; tensors: SafetensorsTensorInfo[] },
  ) {
    this.metadata = parsed.metadata;
    this.tensors = parsed.tensors;
    this.byName = new Map(parsed.tensors.map((t) => [t.name, t]));
  }

  tensor(name: string): SafetensorsTensorInfo | undefined {
    return this.byName.get(name);
  }

  readTensorRaw(name: string): Uint8Array {
    const t = this.byName.get(name);
    if (t === undefined) {
      throw new AgentTuneError(`${this.handle.path} has no tensor "${name}"`, { hint: "check the model's architecture and tensor names" });
    }
    return this.handle.read(t.fileOffset, t.byteSize, `tensors[${JSON.stringify(name)}]`);
  }

  readTensor(name: string): Float32Array {
    const t = this.byName.get(name);
    if (t?.dtype === "F32") {
      // Straight into the result: no second copy of a large F32 tensor.
      const out = new Float32Array(t.byteSize / 4);
      this.handle.readInto(t.fileOffset, new Uint8Array(out.buffer), `tensors[${JSON.stringify(name)}]`);
      return out;
    }
    const raw = this.readTensorRaw(name);
    return toFloat32(this.handle.path, name, t?.dtype as SafetensorsDtype, raw);
  }

  close(): void {
    this.handle.close();
  }
}

function toFloat32(file: string, name: string, dtype: SafetensorsDtype, raw: Uint8Array): Float32Array {
  switch (dtype) {
    case "F32":
      return f32BytesToFloat32(raw);
    case "F16":
      return f16BytesToFloat32(raw);
    case "BF16":
      return bf16BytesToFloat32(raw);
    case "F64": {
      const v = new Float64Array(raw.buffer, raw.byteOffset, raw.length / 8);
      return Float32Array.from(v);
    }
    default:
      throw new UnsupportedDtypeError(file, name, dtype);
  }
}

/**
 * Opens one safetensors file: validates the whole header (length, JSON, every entry's dtype,
 * shape and offsets, contiguity) before any tensor is read. Throws FileFormatError naming the
 * file and the field.
 */
export function openSafetensors(path: string): TensorSource {
  const handle = new PositionedFile(path);
  try {
    if (handle.size < 8) fail(path, "header length", `the file has ${handle.size} bytes, fewer than the 8-byte header length`);
    const lenBytes = handle.read(0, 8, "header length");
    const view = new DataView(lenBytes.buffer);
    const hi = view.getUint32(4, true);
    const n = hi * 2 ** 32 + view.getUint32(0, true);
    if (n > handle.size - 8) fail(path, "header length", `claims ${n} bytes of JSON but the file has only ${handle.size - 8} after it`);
    if (n > MAX_SAFETENSORS_HEADER) fail(path, "header length", `claims ${n} bytes of JSON, more than the ${MAX_SAFETENSORS_HEADER} allowed`);
    if (n < 2) fail(path, "header length", `claims ${n} bytes of JSON, too few for an object`);
    const text = new TextDecoder("utf-8", { fatal: true });
    let header: unknown;
    try {
      header = JSON.parse(text.decode(handle.read(8, n, "header")));
    } catch (error) {
      fail(path, "header", `is not valid UTF-8 JSON (${(error as Error).message})`);
    }
    const parsed = parseHeader(path, header, handle.size - 8 - n, 8 + n);
    return new SafetensorsFileImpl(handle, parsed);
  } catch (error) {
    handle.close();
    throw error;
  }
}

class ShardedModel implements TensorSource {
  readonly tensors: SafetensorsTensorInfo[];
  private readonly owner = new Map<string, TensorSource>();

  constructor(
    readonly metadata: Record<string, string>,
    private readonly shards: TensorSource[],
  ) {
    this.tensors = shards.flatMap((s) => s.tensors);
    for (const s of shards) for (const t of s.tensors) this.owner.set(t.name, s);
  }

  tensor(name: string): SafetensorsTensorInfo | undefined {
    return this.owner.get(name)?.tensor(name);
  }

  readTensorRaw(name: string): Uint8Array {
    const s = this.owner.get(name);
    if (s === undefined) throw new AgentTuneError(`the sharded model has no tensor "${name}"`);
    return s.readTensorRaw(name);
  }

  readTensor(name: string): Float32Array {
    const s = this.owner.get(name);
    if (s === undefined) throw new AgentTuneError(`the sharded model has no tensor "${name}"`);
    return s.readTensor(name);
  }

  close(): void {
    for (const s of this.shards) s.close();
  }
}

/**
 * Opens a model's weights: a `.safetensors` file, a `model.safetensors.index.json` (sharded),
 * or a folder holding either. Every shard's header is validated, and each tensor must sit in
 * the shard the index's `weight_map` names.
 */
export function openSafetensorsModel(path: string): TensorSource {
  let target = resolve(path);
  if (statSync(target).isDirectory()) {
    const index = join(target, "model.safetensors.index.json");
    const single = join(target, "model.safetensors");
    if (existsSync(index)) target = index;
    else if (existsSync(single)) target = single;
    else {
      throw new FileFormatError({
        file: target,
        problem: "holds neither model.safetensors nor model.safetensors.index.json",
        hint: "point at a Hugging Face model folder with safetensors weights",
      });
    }
  }
  if (!target.endsWith(".json")) return openSafetensors(target);

  let index: unknown;
  try {
    index = JSON.parse(readFileSync(target, "utf8"));
  } catch (error) {
    fail(target, undefined, `is not valid JSON (${(error as Error).message})`);
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (weightMap === null || typeof weightMap !== "object" || Array.isArray(weightMap)) {
    fail(target, "weight_map", "is missing or not an object");
  }
  const map = weightMap as Record<string, unknown>;
  const files = new Set<string>();
  for (const [name, f] of Object.entries(map)) {
    if (typeof f !== "string" || f.includes("/") || f.includes("\\") || f.startsWith(".")) {
      fail(target, `weight_map[${JSON.stringify(name)}]`, `${JSON.stringify(f)} is not a file name beside the index`);
    }
    files.add(f);
  }
  const metaRaw = (index as { metadata?: unknown }).metadata;
  const metadata: Record<string, string> = {};
  if (metaRaw !== null && typeof metaRaw === "object") {
    for (const [k, v] of Object.entries(metaRaw as Record<string, unknown>)) metadata[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
  const shards: TensorSource[] = [];
  try {
    for (const f of [...files].sort()) shards.push(openSafetensors(join(dirname(target), f)));
    const seen = new Set<string>();
    for (const s of shards) {
      for (const t of s.tensors) {
        if (seen.has(t.name)) fail(t.file, `tensors[${JSON.stringify(t.name)}]`, "appears in more than one shard");
        seen.add(t.name);
        const want = map[t.name];
        if (want !== undefined && join(dirname(target), want as string) !== t.file) {
          fail(target, `weight_map[${JSON.stringify(t.name)}]`, `names ${want as string} but the tensor is in ${t.file}`);
        }
      }
    }
    for (const name of Object.keys(map)) {
      if (!seen.has(name)) fail(target, `weight_map[${JSON.stringify(name)}]`, `the tensor is not in ${map[name] as string}`);
    }
  } catch (error) {
    for (const s of shards) s.close();
    throw error;
  }
  return new ShardedModel(metadata, shards);
}

/** A tensor to write: float32 values stored as `dtype`, or raw bytes already in `dtype`. */
export type SafetensorsWriteTensor =
  | { dtype: "F32" | "F16" | "BF16"; shape: readonly number[]; data: Float32Array }
  | { dtype: SafetensorsDtype; shape: readonly number[]; bytes: Uint8Array };

/**
 * Writes a safetensors file atomically (temp file + rename): keys sorted, tensors laid out
 * contiguously in key order, the JSON header padded with spaces to a multiple of 8 bytes as
 * the reference implementation does. `metadata` becomes `__metadata__` (e.g. `{format: "pt"}`).
 */
export function writeSafetensors(
  path: string,
  tensors: Readonly<Record<string, SafetensorsWriteTensor>>,
  metadata?: Readonly<Record<string, string>>,
): void {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    if (name === "__metadata__") throw new AgentTuneError('"__metadata__" cannot be a tensor name');
    const t = tensors[name];
    let count = 1;
    for (const d of t.shape) {
      if (!isCount(d)) throw new AgentTuneError(`tensor "${name}": shape ${JSON.stringify(t.shape)} is not a list of non-negative integers`);
      count *= d;
    }
    let bytes: Uint8Array;
    if ("data" in t) {
      if (t.data.length !== count) throw new AgentTuneError(`tensor "${name}": ${t.data.length} values for shape ${JSON.stringify(t.shape)}`);
      bytes =
        t.dtype === "F32"
          ? new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
          : t.dtype === "F16"
            ? float32ToF16Bytes(t.data)
            : float32ToBf16Bytes(t.data);
    } else {
      bytes = t.bytes;
      if (bytes.length !== count * SAFETENSORS_DTYPE_SIZES[t.dtype]) {
        throw new AgentTuneError(`tensor "${name}": ${bytes.length} bytes for ${t.dtype} ${JSON.stringify(t.shape)}`);
      }
    }
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    blobs.push(bytes);
  }
  let json = JSON.stringify(header);
  const jsonBytes = Buffer.byteLength(json, "utf8");
  json += " ".repeat((8 - (jsonBytes % 8)) % 8);
  const head = Buffer.from(json, "utf8");
  const len = new Uint8Array(8);
  new DataView(len.buffer).setUint32(0, head.length, true);
  writeFileAtomic(path, (sink) => {
    sink(len);
    sink(head);
    for (const b of blobs) sink(b);
  });
}
