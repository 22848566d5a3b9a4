// IEEE half (F16) and bfloat16 (BF16) ↔ float32, shared by the GGUF and safetensors readers.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** F16 lookup: all 65536 half bit patterns → their float value (built once, 256 KB). */
const HALF_TABLE: Float32Array = (() => {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) table[h] = sign * frac * 2 ** -24;
    else if (exp === 31) table[h] = frac === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
    else table[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return table;
})();

/** One F16 bit pattern → its value. */
export function halfToFloat(h: number): number {
  return HALF_TABLE[h & 0xffff];
}

/** One BF16 bit pattern → its value (the high 16 bits of a float32). */
export function bf16ToFloat(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/** A float → the nearest F16 bit pattern (round to nearest even, overflow to ±inf). */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

/** A float → BF16 bit pattern (round to nearest even; NaN stays NaN). */
export function floatToBf16(value: number): number {
  f32[0] = value;
  const x = u32[0];
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Little-endian F16 bytes → Float32Array. `bytes.length` must be even. */
export function f16BytesToFloat32(bytes: Uint8Array): Float32Array {
  const n = bytes.length >>> 1;
  const out = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = HALF_TABLE[bytes[j] | (bytes[j + 1] << 8)];
  return out;
}

/** Little-endian BF16 bytes → Float32Array. */
export function bf16BytesToFloat32(bytes: Uint8Array): Float32Array {
  const n = bytes.length >>> 1;
  const out = new Float32Array(n);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0, j = 0; i < n; i++, j += 2) bits[i] = (bytes[j] | (bytes[j + 1] << 8)) << 16;
  return out;
}

/** Little-endian F32 bytes → Float32Array (a copy, so it is aligned and owned). */
export function f32BytesToFloat32(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length >>> 2);
  new Uint8Array(out.buffer).set(bytes.subarray(0, out.length * 4));
  return out;
}

/** Float32Array → little-endian F16 bytes. */
export function float32ToF16Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  for (let i = 0; i < values.length; i++) {
    const h = floatToHalf(values[i]);
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >>> 8;
  }
  return out;
}

/** Float32Array → little-endian BF16 bytes. */
export function float32ToBf16Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  for (let i = 0; i < values.length; i++) {
    const h = floatToBf16(values[i]);
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >>> 8;
  }
  return out;
}
