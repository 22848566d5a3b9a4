// Next-token choice from logits: greedy, or temperature / top-k / top-p sampling driven by a
// seeded PRNG so a run is reproducible.

import { mulberry32 } from "../random.js";

/** How the next token is chosen. temperature 0 (the default) = greedy. */
export interface SamplingOptions {
  temperature?: number;
  /** Keep only the k most likely tokens (0 or absent = all). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 or absent = all). */
  topP?: number;
  /** Seed of the PRNG (default 0). */
  seed?: number;
}

/** A seeded PRNG (mulberry32): floats in [0, 1). */
export const seededRandom: (seed: number) => () => number = mulberry32;

/** The index of the largest logit (the first on ties). */
export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if ((logits[i] as number) > (logits[best] as number)) best = i;
  return best;
}

/** Picks the next token id from logits: [vocab]. */
export function sampleToken(logits: Float32Array, o: SamplingOptions, random: () => number): number {
  const temp = o.temperature ?? 0;
  if (!(temp > 0)) return argmax(logits);
  // Candidates sorted by logit, cut by top-k.
  let idx = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => (logits[b] as number) - (logits[a] as number));
  if (o.topK !== undefined && o.topK > 0) idx = idx.slice(0, o.topK);
  const mx = logits[idx[0] as number] as number;
  let probs = idx.map((i) => Math.exp(((logits[i] as number) - mx) / temp));
  let sum = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / sum);
  const topP = o.topP ?? 1;
  if (topP < 1) {
    let acc = 0;
    let keep = 0;
    while (keep < probs.length && acc < topP) acc += probs[keep++] as number;
    idx = idx.slice(0, Math.max(1, keep));
    probs = probs.slice(0, idx.length);
    sum = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / sum);
  }
  let r = random();
  for (let i = 0; i < idx.length; i++) {
    r -= probs[i] as number;
    if (r < 0) return idx[i] as number;
  }
  return idx[idx.length - 1] as number;
}
