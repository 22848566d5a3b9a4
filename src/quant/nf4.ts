import { InvalidInputError } from "../errors.js";
import { DYNAMIC_MAP } from "./dynamic-map.js";

/**
 * The 16 NF4 levels (QLoRA paper, Appendix E; bitsandbytes' table), as float32.
 * Code i is the 4-bit value stored for level i.
 */
export const NF4_LEVELS = Float32Array.of(
  -1, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1,
);

/** Midpoints between neighbouring levels (float32): a value goes to the first level whose upper midpoint is ≥ it. */
const NF4_BOUNDS = Float32Array.from({ length: 15 }, (_, i) => Math.fround(Math.fround(NF4_LEVELS[i] + NF4_LEVELS[i + 1]) / 2));
const DYNAMIC_BOUNDS = Float32Array.from({ length: 255 }, (_, i) =>
  Math.fround(Math.fround(DYNAMIC_MAP[i] + DYNAMIC_MAP[i + 1]) / 2),
);

/**
 * A weight matrix [rows, cols] (row-major; a Linear weight is [out, in]) in NF4 with double
 * quantisation, laid out as bitsandbytes does:
 * - `packed`: ceil(n/2) bytes, two 4-bit codes a byte, the first element in the high nibble;
 * - one absmax per block of `blockSize` (64) weights, stored as an 8-bit code of the dynamic map
 *   (`absmaxCodes`), after subtracting `absmaxOffset` (their mean), with one fp32 scale per
 *   block of `absmaxBlockSize` (256) absmaxes (`absmaxScales`).
 * Storage: 4 + 8/64 + 32/(64·256) ≈ 4.127 bits a weight.
 */
export interface Nf4Tensor {
  rows: number;
  cols: number;
  blockSize: number;
  absmaxBlockSize: number;
  packed: Uint8Array;
  absmaxCodes: Uint8Array;
  absmaxScales: Float32Array;
  absmaxOffset: number;
}

/** Number of bounds strictly below x: torch.bucketize(x, bounds, right=False). */
function bucketize(x: number, bounds: Float32Array): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bounds[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Blockwise absmax quantisation against a sorted code (bitsandbytes' `quantize_blockwise` and
 * the 4-bit variant share it): per block, absmax = max |x|; scaled = clamp(x · (1/absmax), -1, 1)
 * in float32 (a partial last block divides instead, as bitsandbytes does); code = bucketize.
 */
function quantizeBlocks(values: Float32Array, blockSize: number, bounds: Float32Array, codes: Uint8Array): Float32Array {
  const n = values.length;
  const blocks = Math.ceil(n / blockSize);
  const absmax = new Float32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    const start = b * blockSize;
    const end = Math.min(start + blockSize, n);
    let m = 0;
    for (let i = start; i < end; i++) m = Math.max(m, Math.abs(values[i]));
    absmax[b] = m;
    const safe = Math.max(m, 1e-38);
    const full = end - start === blockSize;
    const inverse = Math.fround(1 / safe);
    for (let i = start; i < end; i++) {
      const scaled = full ? Math.fround(values[i] * inverse) : Math.fround(values[i] / safe);
      codes[i] = bucketize(Math.min(1, Math.max(-1, scaled)), bounds);
    }
  }
  return absmax;
}

/** Quantises a float32 matrix [rows, cols] to NF4 with double quantisation. */
export function quantizeNf4(weights: Float32Array, rows: number, cols: number, blockSize = 64, absmaxBlockSize = 256): Nf4Tensor {
  const n = rows * cols;
  if (weights.length !== n) {
    throw new InvalidInputError(`NF4: ${weights.length} weights do not fill [${rows}, ${cols}]`);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(weights[i])) throw new InvalidInputError(`NF4: weight ${i} is ${weights[i]}; a finite matrix is needed`);
  }
  const codes = new Uint8Array(n + (n % 2)); // a padded last code is 0 (level -1 · absmax), never read back
  const absmax = quantizeBlocks(weights, blockSize, NF4_BOUNDS, codes);
  if (n % 2) codes[n] = bucketize(0, NF4_BOUNDS);
  const packed = new Uint8Array(codes.length / 2);
  for (let i = 0; i < packed.length; i++) packed[i] = (codes[2 * i] << 4) | codes[2 * i + 1];

  // Double quantisation: the absmaxes minus their mean, 8-bit dynamic codes in blocks of 256.
  let sum = 0;
  for (let i = 0; i < absmax.length; i++) sum += absmax[i];
  const offset = Math.fround(sum / absmax.length);
  const centred = absmax.map((a) => Math.fround(a - offset));
  const absmaxCodes = new Uint8Array(absmax.length);
  const absmaxScales = quantizeBlocks(centred, absmaxBlockSize, DYNAMIC_BOUNDS, absmaxCodes);
  return { rows, cols, blockSize, absmaxBlockSize, packed, absmaxCodes, absmaxScales, absmaxOffset: offset };
}

/** The fp32 absmax of every 64-weight block: dynamicMap[code] · scale + offset, in float32. */
export function nf4BlockAbsmax(t: Nf4Tensor): Float32Array {
  const out = new Float32Array(t.absmaxCodes.length);
  for (let b = 0; b < out.length; b++) {
    const scale = t.absmaxScales[Math.floor(b / t.absmaxBlockSize)];
    out[b] = Math.fround(Math.fround(DYNAMIC_MAP[t.absmaxCodes[b]] * scale) + t.absmaxOffset);
  }
  return out;
}

/**
 * Dequantises rows [rowStart, rowEnd) into `out` ([rowEnd - rowStart, cols], float32).
 * `absmax` can be passed in (from nf4BlockAbsmax) to avoid recomputing it per call.
 */
export function dequantizeNf4Rows(
  t: Nf4Tensor,
  rowStart: number,
  rowEnd: number,
  out: Float32Array,
  absmax: Float32Array = nf4BlockAbsmax(t),
): Float32Array {
  const begin = rowStart * t.cols;
  const end = rowEnd * t.cols;
  const bs = t.blockSize;
  if (begin % bs === 0 && end % bs === 0 && bs % 2 === 0) {
    // Block by block: the 16 levels scaled by the block's absmax once, then two codes a byte.
    const scaled = new Float32Array(16);
    const packed = t.packed;
    for (let b0 = begin; b0 < end; b0 += bs) {
      const a = absmax[b0 / bs] as number;
      for (let k = 0; k < 16; k++) scaled[k] = (NF4_LEVELS[k] as number) * a;
      let o = b0 - begin;
      for (let j = b0 >> 1, jEnd = (b0 + bs) >> 1; j < jEnd; j++) {
        const byte = packed[j] as number;
        out[o++] = scaled[byte >> 4] as number;
        out[o++] = scaled[byte & 0x0f] as number;
      }
    }
    return out;
  }
  for (let i = begin; i < end; i++) {
    const byte = t.packed[i >> 1];
    const code = i & 1 ? byte & 0x0f : byte >> 4;
    out[i - begin] = Math.fround(NF4_LEVELS[code] * absmax[Math.floor(i / t.blockSize)]);
  }
  return out;
}

/** Dequantises the whole matrix to float32 [rows, cols]. */
export function dequantizeNf4(t: Nf4Tensor): Float32Array {
  return dequantizeNf4Rows(t, 0, t.rows, new Float32Array(t.rows * t.cols));
}

/** Bits of storage a weight, counting codes, 8-bit absmaxes, their fp32 scales and the offset. */
export function nf4BitsPerWeight(t: Nf4Tensor): number {
  const n = t.rows * t.cols;
  const bytes = t.packed.length + t.absmaxCodes.length + 4 * t.absmaxScales.length + 4;
  return (8 * bytes) / n;
}
