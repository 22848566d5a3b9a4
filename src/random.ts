/**
 * mulberry32: the project's one small seeded generator (32-bit state, floats in [0, 1)). The
 * simulators, the data builder, batch order and sampling all draw from it, so a seed gives the
 * same values on every machine and Node version (Math.random is never used).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
