/** Uniform in [0, 1) from (seed, index): a stateless hash, so a dropout mask needs no storage. */
export function hashUniform(seed: number, i: number): number {
  let h = (Math.imul(i, 0x9e3779b1) ^ Math.imul(seed | 0, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/**
 * The dropout mask as multipliers: (u ≥ p ? 1/(1−p) : 0), u = hashUniform(seed, index).
 * Other backends reproduce the same mask from this definition.
 */
export function dropoutMultiplier(seed: number, index: number, p: number): number {
  if (p <= 0) return 1;
  return hashUniform(seed, index) >= p ? 1 / (1 - p) : 0;
}

/**
 * The dropout seed of LoRA module `index` (modules counted layer by layer, q … down) in forward
 * call `call` of a run seeded `seed`: every backend draws the same masks from it.
 */
export function loraDropoutSeed(seed: number, call: number, index: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(call + 1, 0x85ebca77) ^ Math.imul(index + 1, 0xc2b2ae35)) | 0;
}
