// Dequantisation of GGML tensor types, following the block layouts of llama.cpp's
// ggml-common.h / ggml-quants.c (dequantize_row_*). Every block is little-endian.

import { bf16BytesToFloat32, f16BytesToFloat32, f32BytesToFloat32, halfToFloat } from "./half.js";

/** GGML tensor type ids as stored in GGUF tensor infos. */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
} as const;
/** A GGML type id. */
export type GgmlTypeId = (typeof GgmlType)[keyof typeof GgmlType];

const QK_K = 256;

/** Elements per block and bytes per block of each known type (ggml's type traits). */
const LAYOUT: Record<number, readonly [blockSize: number, typeSize: number]> = {
  0: [1, 4],
  1: [1, 2],
  2: [32, 18],
  3: [32, 20],
  6: [32, 22],
  7: [32, 24],
  8: [32, 34],
  9: [32, 40],
  10: [QK_K, 2 + 2 + QK_K / 16 + QK_K / 4],
  11: [QK_K, 2 + QK_K / 4 + QK_K / 8 + 12],
  12: [QK_K, 2 + 2 + QK_K / 2 + 12],
  13: [QK_K, 2 + 2 + QK_K / 2 + QK_K / 8 + 12],
  14: [QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16],
  15: [QK_K, 4 + QK_K + QK_K / 8],
  16: [QK_K, 2 + QK_K / 4],
  17: [QK_K, 2 + QK_K / 4 + QK_K / 32],
  18: [QK_K, 2 + QK_K / 4 + QK_K / 8],
  19: [QK_K, 2 + QK_K / 8 + QK_K / 16],
  20: [32, 18],
  21: [QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4],
  22: [QK_K, 2 + QK_K / 4 + QK_K / 16],
  23: [QK_K, 2 + 2 + QK_K / 2 + QK_K / 64],
  24: [1, 1],
  25: [1, 2],
  26: [1, 4],
  27: [1, 8],
  28: [1, 8],
  29: [QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32],
  30: [1, 2],
  34: [QK_K, 2 + 4 * 13],
  35: [QK_K, 2 + 64],
  39: [32, 17],
};

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(GgmlType).map(([k, v]) => [v, k]));

/** The name of a GGML type id ("Q4_K"), or `type <id>` when unknown. */
export function ggmlTypeName(type: number): string {
  return NAMES[type] ?? `type ${type}`;
}

/** Whether the id is a GGML type whose block layout is known (so its byte size can be computed). */
export function isKnownGgmlType(type: number): boolean {
  return LAYOUT[type] !== undefined;
}

/** Elements per block and bytes per block, or undefined for an unknown type. */
export function ggmlBlockLayout(type: number): { blockSize: number; typeSize: number } | undefined {
  const l = LAYOUT[type];
  return l === undefined ? undefined : { blockSize: l[0], typeSize: l[1] };
}

/** Types {@link dequantize} can turn into float32. */
export const DEQUANTIZABLE_TYPES: readonly number[] = [0, 1, 30, 2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 15];

/** Whether {@link dequantize} supports the type. */
export function canDequantize(type: number): boolean {
  return DEQUANTIZABLE_TYPES.includes(type);
}

/**
 * Bytes taken by `elements` values of `type`, or undefined when the type is unknown or
 * `elements` is not a whole number of blocks.
 */
export function ggmlByteSize(type: number, elements: number): number | undefined {
  const l = LAYOUT[type];
  if (l === undefined || elements % l[0] !== 0) return undefined;
  return (elements / l[0]) * l[1];
}

/** Thrown for a type whose layout is known but that this reader cannot dequantise. */
export class UnsupportedGgmlTypeError extends Error {
  constructor(readonly type: number) {
    super(`cannot dequantise GGML type ${ggmlTypeName(type)}`);
    this.name = "UnsupportedGgmlTypeError";
  }
}

/**
 * Dequantises `elements` values of `type` from `bytes` (exactly `ggmlByteSize(type, elements)`
 * bytes) into a new Float32Array. Throws UnsupportedGgmlTypeError for types not in
 * {@link DEQUANTIZABLE_TYPES} and RangeError when the byte count does not match.
 */
export function dequantize(type: number, bytes: Uint8Array, elements: number): Float32Array {
  const size = ggmlByteSize(type, elements);
  if (size === undefined || size !== bytes.length) {
    throw new RangeError(`${ggmlTypeName(type)}: ${bytes.length} bytes do not hold ${elements} elements`);
  }
  switch (type) {
    case GgmlType.F32:
      return f32BytesToFloat32(bytes);
    case GgmlType.F16:
      return f16BytesToFloat32(bytes);
    case GgmlType.BF16:
      return bf16BytesToFloat32(bytes);
  }
  const out = new Float32Array(elements);
  const blocks = elements / LAYOUT[type][0];
  const ts = LAYOUT[type][1];
  const fn = BLOCK_FNS[type];
  if (fn === undefined) throw new UnsupportedGgmlTypeError(type);
  for (let b = 0; b < blocks; b++) fn(bytes, b * ts, out, b * LAYOUT[type][0]);
  return out;
}

type BlockFn = (x: Uint8Array, o: number, y: Float32Array, yo: number) => void;

const h16 = (x: Uint8Array, o: number): number => halfToFloat(x[o] | (x[o + 1] << 8));
const i8 = (v: number): number => (v << 24) >> 24;
const f32view = new Float32Array(1);
const u8view = new Uint8Array(f32view.buffer);
const fround = Math.fround;

// block_q4_0 { half d; uint8 qs[16]; }: y = (nibble - 8) * d, low nibbles first.
function q4_0(x: Uint8Array, o: number, y: Float32Array, yo: number): void {
  const d = h16(x, o);
  for (let j = 0; j < 16; j++) {
    const q = x[o + 2 + j];
    y[yo + j] = ((q & 0xf) - 8) * d;
    y[yo + j + 16] = ((q >> 4) - 8) * d;
  }
}

// block_q4_1 { half d; half m; uint8 qs[16]; }: y = nibble * d + m.
function q4_1(x: Uint8Array, o: number, y: Float32Array, yo: number): void {
  const d = h16(x, o);
  const m = h16(x, o + 2);
  for (let j = 0; j < 16; j++) {
    const q = x[o + 4 + j];
    y[yo + j] = fround((q & 0xf) * d) + m;
    y[yo + j + 16] = fround((q >> 4) * d) + m;
  }
}

// block_q5_0 { half d; uint8 qh[4]; uint8 qs[16]; }: the fifth bit of value j is bit j of qh.
function q5_0(x: Uint8Array, o: number, y: Float32Array, yo: number): void {
  const d = h16(x, o);
  const qh = (x[o + 2] | (x[o + 3] << 8) | (x[o + 4] << 16) | (x[o + 5] << 24)) >>> 0;
  for (let j = 0; j < 16; j++) {
    const q = x[o + 6 + j];
    const xh0 = ((qh >>> j) << 4) & 0x10;
    const xh1 = (qh >>> (j + 12)) & 0x10;
    y[yo + j] = (((q & 0xf) | xh0) - 16) * d;
    y[yo + j + 16] = (((q >> 4) | xh1) - 16) * d;
  }
}

// block_q5_1 { half d; half m; uint8 qh[4]; uint8 qs[16]; }
function q5_1(x: Uint8Array, o: number, y: Float32Array, yo: number): void {
  const d = h16(x, o);
  const m = h16(x, o + 2);
  const qh = (x[o + 4] | (x[o + 5] << 8) | (x[o + 6] << 16) | (x[o + 7] << 24)) >>> 0;
  for (let j = 0; j < 16; j++) {
    const q = x[o + 8 + j];
    const xh0 = ((qh >>> j) << 4) & 0x10;
    const xh1 = (qh >>> (j + 12)) & 0x10;
    y[yo + j] = fround(((q & 0xf) | xh0) * d) + m;
    y[yo + j + 16] = fround(((q >> 4) | xh1) * d) + m;
  }
}

// block_q8_0 { half d; int8 qs[32]; }
function q8_0(x: Uint8Array, o: number, y: Float32Array, yo: number): void {
  const d = h16(x, o);
  for (let j = 0; j < 32; j++) y[yo + j] = i8(x[o + 2 + j]) * d;
}

// block_q2_K { uint8 scales[16]; uint8 qs[64]; half d; half dmin; }
function q2_K(x: Uint8Array, o: number, y: Float32Array, yo: number): void {
  const d = h16(x, o + 80);
  const min = h16(x, o + 82);
  let q = o + 16;
  let is = 0;
  let k = yo;
  for (let n = 0; n < QK_K; n += 128) {
    let shift = 0;
    for (let j = 0; j < 4; j++) {
      let sc = x[o + is++];
      let dl = fround(d * (sc & 0xf));
      let ml = fround(min * (sc >> 4));
      for (let l = 0; l < 16; l++) y[k++] = fround(dl * ((x[q + l] >> shift) & 3)) - ml;
      sc = x[o + is++];
      dl = fround(d * (sc & 0xf));
      ml = fround(min * (sc >> 4));
      for (let l = 0; l < 16; l++) y[k++] = fround(dl * ((x[q + l + 16] >> shift) & 3)) - ml;
      shift += 2;
    }
    q += 32;
  }
}

// block_q3_K { uint8 hmask[32]; uint8 qs[64]; uint8 scales[12]; half d; }: 6-bit scales packed in 12 bytes.
function q3_K(x: Uint8Array, o: number, y: Float32Array, yo: number): void {
  const dAll = h16(x, o + 108);
  const s = o + 96;
  const rd = (i: number) => (x[s + i] | (x[s + i + 1] << 8) | (x[s + i + 2] << 16) | (x[s + i + 3] << 24)) >>> 0;
  const a0 = rd(0);
  const a1 = rd(4);
  const tmp = rd(8);
  const km1 = 0x03030303;
  const km2 = 0x0f0f0f0f;
  const aux = [
    (a0 & km2) | (((tmp >>> 0) & km1) << 4),
    (a1 & km2) | (((tmp >>> 2) & km1) << 4),
    ((a0 >>> 4) & km2) | (((tmp >>> 4) & km1) << 4),
    ((a1 >>> 4) & km2) | (((tmp >>> 6) & km1) << 4),
  ];
  const scales = new Int8Array(16);
  for (let i = 0; i < 16; i++) scales[i] = (aux[i >> 2] >>> (8 * (i & 3))) & 0xff;
  let q = o + 32;
  const hm = o;
  let m = 1;
  let is = 0;
  let k = yo;
  for (let n = 0; n < QK_K; n += 128) {
    let shift = 0;
    for (let j = 0; j < 4; j++) {
      let dl = fround(dAll * (scales[is++] - 32));
      for (let l = 0; l < 16; l++) y[k++] = dl * (((x[q + l] >> shift) & 3) - (x[hm + l] & m ? 0 : 4));
      dl = fround(dAll * (scales[is++] - 32));
      for (let l = 0; l < 16; l++) y[k++] = dl * (((x[q + l + 16] >> shift) & 3) - (x[hm + l + 16] & m ? 0 : 4));
      shift += 2;
      m <<= 1;
    }
    q += 32;
  }
}

// get_scale_min_k4: scale and min j (0..7) from the 12 packed bytes at s.
function scaleMin(x: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [x[s + j] & 63, x[s + j + 4] & 63];
  return [(x[s + j + 4] & 0xf) | ((x[s + j - 4] >> 6) << 4), (x[s + j + 4] >> 4) | ((x[s + j] >> 6) << 4)];
}

/** The scales and mins of sub-blocks `is` and `is + 1` of a K-quant block with super-scales d and dmin: [d1, m1, d2, m2]. */
function subBlockPair(x: Uint8Array, scales: number, is: number, d: number, dmin: number): [number, number, number, number] {
  const [sc1, m1s] = scaleMin(x, scales, is);
  const [sc2, m2s] = scaleMin(x, scales, is + 1);
  return [fround(d * sc1), fround(dmin * m1s), fround(d * sc2), fround(dmin * m2s)];
}

// block_q4_K { half d; half dmin; uint8 scales[12]; uint8 qs[128]; }
function q4_K(x: Uint8Array, o: number, y: Float32Array, yo: number): void {
  const d = h16(x, o);
  const min = h16(x, o + 2);
  let q = o + 16;
  let is = 0;
  let k = yo;
  for (let j = 0; j < QK_K; j += 64) {
    const [d1, m1, d2, m2] = subBlockPair(x, o + 4, is, d, min);
    for (let l = 0; l < 32; l++) y[k++] = fround(d1 * (x[q + l] & 0xf)) - m1;
    for (let l = 0; l < 32; l++) y[k++] = fround(d2 * (x[q + l] >> 4)) - m2;
    q += 32;
    is += 2;
  }
}

// block_q5_K { half d; half dmin; uint8 scales[12]; uint8 qh[32]; uint8 qs[128]; }
function q5_K(x: Uint8Array, o: number, y: Float32Array, yo: number): void {
  const d = h16(x, o);
  const min = h16(x, o + 2);
  const qh = o + 16;
  let ql = o + 48;
  let is = 0;
  let u1 = 1;
  let u2 = 2;
  let k = yo;
  for (let j = 0; j < QK_K; j += 64) {
    const [d1, m1, d2, m2] = subBlockPair(x, o + 4, is, d, min);
    for (let l = 0; l < 32; l++) y[k++] = fround(d1 * ((x[ql + l] & 0xf) + (x[qh + l] & u1 ? 16 : 0))) - m1;
    for (let l = 0; l < 32; l++) y[k++] = fround(d2 * ((x[ql + l] >> 4) + (x[qh + l] & u2 ? 16 : 0))) - m2;
    ql += 32;
    is += 2;
    u1 <<= 2;
    u2 <<= 2;
  }
}

// block_q6_K { uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d; }
function q6_K(x: Uint8Array, o: number, y: Float32Array, yo: number): void {
  const d = h16(x, o + 208);
  let ql = o;
  let qh = o + 128;
  let sc = o + 192;
  let k = yo;
  for (let n = 0; n < QK_K; n += 128) {
    for (let l = 0; l < 32; l++) {
      const is = l >> 4;
      const h = x[qh + l];
      const q1 = ((x[ql + l] & 0xf) | ((h & 3) << 4)) - 32;
      const q2 = ((x[ql + l + 32] & 0xf) | (((h >> 2) & 3) << 4)) - 32;
      const q3 = ((x[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
      const q4 = ((x[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
      y[k + l] = fround(d * i8(x[sc + is])) * q1;
      y[k + l + 32] = fround(d * i8(x[sc + is + 2])) * q2;
      y[k + l + 64] = fround(d * i8(x[sc + is + 4])) * q3;
      y[k + l + 96] = fround(d * i8(x[sc + is + 6])) * q4;
    }
    k += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

// block_q8_K { float d; int8 qs[256]; int16 bsums[16]; }
function q8_K(x: Uint8Array, o: number, y: Float32Array, yo: number): void {
  for (let i = 0; i < 4; i++) u8view[i] = x[o + i];
  const d = f32view[0];
  for (let j = 0; j < QK_K; j++) y[yo + j] = d * i8(x[o + 4 + j]);
}

const BLOCK_FNS: Record<number, BlockFn> = {
  2: q4_0,
  3: q4_1,
  6: q5_0,
  7: q5_1,
  8: q8_0,
  10: q2_K,
  11: q3_K,
  12: q4_K,
  13: q5_K,
  14: q6_K,
  15: q8_K,
};
