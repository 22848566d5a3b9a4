// GGUF writer (version 3): metadata, tensor infos, data aligned to general.alignment. Used for
// GGUF LoRA adapters (SPECS §5) and for test files; written atomically.

import { InvalidInputError } from "../errors.js";
import { GgmlType, ggmlByteSize, ggmlTypeName } from "../quant/gguf-blocks.js";
import { float32ToBf16Bytes, float32ToF16Bytes } from "../quant/half.js";
import { writeFileAtomic } from "./gguf-io.js";
import { GGUF_DEFAULT_ALIGNMENT } from "./gguf.js";
import { type GgufValue, GgufValueType, type GgufValueTypeInfo, ggufValueTypeName } from "./gguf-values.js";

/** A tensor to write: float32 values stored as F32/F16/BF16, or raw bytes already in `type`. */
export type GgufWriteTensor =
  | { name: string; shape: readonly number[]; type: "F32" | "F16" | "BF16"; data: Float32Array }
  | { name: string; shape: readonly number[]; type: number; bytes: Uint8Array };

/** What {@link writeGguf} writes. */
export interface GgufWriteInput {
  /**
   * Values keep the types in `metadataTypes`; otherwise: string, boolean, integer → UINT32
   * (INT32 if negative, 64-bit past 32 bits), other numbers → FLOAT32, bigint → (U)INT64, arrays
   * by their elements. A whole number that must be FLOAT32 (`adapter.lora.alpha: 32`) needs
   * `metadataTypes: { "adapter.lora.alpha": { type: GgufValueType.FLOAT32 } }`.
   */
  metadata: Readonly<Record<string, GgufValue>>;
  metadataTypes?: Readonly<Record<string, GgufValueTypeInfo>>;
  /** Row-major shapes (`[rows, cols]`); written in GGML order (reversed). */
  tensors: readonly GgufWriteTensor[];
}

function inferType(v: GgufValue): GgufValueTypeInfo {
  if (typeof v === "string") return { type: GgufValueType.STRING };
  if (typeof v === "boolean") return { type: GgufValueType.BOOL };
  if (typeof v === "bigint") return { type: v < 0n ? GgufValueType.INT64 : GgufValueType.UINT64 };
  if (typeof v === "number") {
    if (!Number.isInteger(v)) return { type: GgufValueType.FLOAT32 };
    if (v >= 0) return { type: v <= 0xffffffff ? GgufValueType.UINT32 : GgufValueType.UINT64 };
    return { type: v >= -0x80000000 ? GgufValueType.INT32 : GgufValueType.INT64 };
  }
  if (v.length === 0) return { type: GgufValueType.ARRAY, elementType: GgufValueType.INT32 };
  if (v.every((x) => typeof x === "number")) {
    const allInt = v.every((x) => Number.isInteger(x));
    const el = allInt ? (v.some((x) => (x as number) < 0) ? GgufValueType.INT32 : GgufValueType.UINT32) : GgufValueType.FLOAT32;
    return { type: GgufValueType.ARRAY, elementType: el };
  }
  const first = inferType(v[0]);
  return first.type === GgufValueType.ARRAY
    ? { type: GgufValueType.ARRAY, elementType: GgufValueType.ARRAY, elements: first }
    : { type: GgufValueType.ARRAY, elementType: first.type };
}

/** Appends little-endian values into growing chunks. */
class Out {
  chunks: Uint8Array[] = [];
  size = 0;
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  private at = 0;
  private readonly enc = new TextEncoder();

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) {
      this.buf = new Uint8Array(n);
      this.view = new DataView(this.buf.buffer);
    }
  }
  flush(): void {
    if (this.at > 0) this.chunks.push(this.buf.slice(0, this.at));
    this.at = 0;
  }
  u8(v: number): void {
    this.room(1);
    this.view.setUint8(this.at, v);
    this.at++;
    this.size++;
  }
  num(type: number, v: GgufValue, key: string): void {
    const t = type;
    const need = t <= 1 || t === 7 ? 1 : t <= 3 ? 2 : t <= 6 ? 4 : 8;
    this.room(need);
    const d = this.view;
    const a = this.at;
    const bad = () => new InvalidInputError(`metadata "${key}": ${String(v)} is not a ${ggufValueTypeName(t)}`);
    if (t === GgufValueType.BOOL) {
      if (typeof v !== "boolean") throw bad();
      d.setUint8(a, v ? 1 : 0);
    } else if (t === GgufValueType.UINT64 || t === GgufValueType.INT64) {
      if (typeof v !== "number" && typeof v !== "bigint") throw bad();
      if (t === GgufValueType.UINT64) d.setBigUint64(a, BigInt(v), true);
      else d.setBigInt64(a, BigInt(v), true);
    } else {
      if (typeof v !== "number") throw bad();
      if (t === GgufValueType.UINT8) d.setUint8(a, v);
      else if (t === GgufValueType.INT8) d.setInt8(a, v);
      else if (t === GgufValueType.UINT16) d.setUint16(a, v, true);
      else if (t === GgufValueType.INT16) d.setInt16(a, v, true);
      else if (t === GgufValueType.UINT32) d.setUint32(a, v, true);
      else if (t === GgufValueType.INT32) d.setInt32(a, v, true);
      else if (t === GgufValueType.FLOAT32) d.setFloat32(a, v, true);
      else d.setFloat64(a, v, true);
    }
    this.at += need;
    this.size += need;
  }
  u32(v: number): void {
    this.num(GgufValueType.UINT32, v, "");
  }
  u64(v: number): void {
    this.num(GgufValueType.UINT64, v, "");
  }
  string(s: string): void {
    const b = this.enc.encode(s);
    this.u64(b.length);
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
    this.size += b.length;
  }
  value(info: GgufValueTypeInfo, v: GgufValue, key: string): void {
    if (info.type === GgufValueType.STRING) {
      if (typeof v !== "string") throw new InvalidInputError(`metadata "${key}": ${String(v)} is not a string`);
      this.string(v);
    } else if (info.type === GgufValueType.ARRAY) {
      if (!Array.isArray(v)) throw new InvalidInputError(`metadata "${key}" is not an array`);
      const el = info.elementType ?? GgufValueType.INT32;
      this.u32(el);
      this.u64(v.length);
      const inner: GgufValueTypeInfo = el === GgufValueType.ARRAY ? (info.elements ?? { type: GgufValueType.ARRAY }) : { type: el };
      for (const x of v) this.value(inner.type === GgufValueType.ARRAY && Array.isArray(x) && info.elements === undefined ? inferType(x) : inner, x, key);
    } else {
      this.num(info.type, v, key);
    }
  }
}

/**
 * Writes a GGUF v3 file atomically. `general.alignment` (UINT32) sets the data alignment
 * (default 32). Tensors are laid out in the order given, each padded to the alignment.
 */
export function writeGguf(path: string, input: GgufWriteInput): void {
  const alignValue = input.metadata["general.alignment"];
  const alignment = alignValue === undefined ? GGUF_DEFAULT_ALIGNMENT : Number(alignValue);
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new InvalidInputError(`general.alignment ${String(alignValue)} is not a power of two`);
  }
  const blobs: Uint8Array[] = [];
  const infos: { name: string; ne: number[]; type: number; offset: number }[] = [];
  let offset = 0;
  const names = new Set<string>();
  for (const t of input.tensors) {
    if (names.has(t.name)) throw new InvalidInputError(`tensor "${t.name}" given twice`);
    names.add(t.name);
    let elements = 1;
    for (const d of t.shape) elements *= d;
    let type: number;
    let bytes: Uint8Array;
    if ("data" in t) {
      if (t.data.length !== elements) throw new InvalidInputError(`tensor "${t.name}": ${t.data.length} values for shape ${JSON.stringify(t.shape)}`);
      type = t.type === "F32" ? GgmlType.F32 : t.type === "F16" ? GgmlType.F16 : GgmlType.BF16;
      bytes =
        t.type === "F32" ? new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) : t.type === "F16" ? float32ToF16Bytes(t.data) : float32ToBf16Bytes(t.data);
    } else {
      type = t.type;
      bytes = t.bytes;
      if (ggmlByteSize(type, elements) !== bytes.length) {
        throw new InvalidInputError(`tensor "${t.name}": ${bytes.length} bytes do not hold ${ggmlTypeName(type)} ${JSON.stringify(t.shape)}`);
      }
    }
    infos.push({ name: t.name, ne: [...t.shape].reverse(), type, offset });
    blobs.push(bytes);
    offset += Math.ceil(bytes.length / alignment) * alignment;
  }

  const out = new Out();
  out.u32(0x46554747);
  out.u32(3);
  out.u64(infos.length);
  const keys = Object.keys(input.metadata);
  out.u64(keys.length);
  for (const key of keys) {
    const v = input.metadata[key];
    const info = input.metadataTypes?.[key] ?? (key === "general.alignment" ? { type: GgufValueType.UINT32 } : inferType(v));
    out.string(key);
    out.u32(info.type);
    out.value(info as GgufValueTypeInfo, v, key);
  }
  for (const t of infos) {
    out.string(t.name);
    out.u32(t.ne.length);
    for (const n of t.ne) out.u64(n);
    out.u32(t.type);
    out.u64(t.offset);
  }
  while (out.size % alignment !== 0) out.u8(0);
  out.flush();
  writeFileAtomic(path, (sink) => {
    for (const c of out.chunks) sink(c);
    for (const b of blobs) {
      sink(b);
      const pad = (alignment - (b.length % alignment)) % alignment;
      if (pad > 0) sink(new Uint8Array(pad));
    }
  });
}
