import { hashUniform } from "./cpu/dropout.js";
import { InvalidInputError } from "../errors.js";

/*
 * NEFTune (Jain et al., 2023; TRL's `neftune_noise_alpha`): while training, uniform noise in
 * [−m, m) is added to the input embeddings, m = alpha / √(tokens · hidden) with `tokens` the
 * batch's padded length, as the transformers hook computes it. It regularises fine-tuning on few
 * samples. The noise is a stateless hash of (seed, element), so the CPU and the GPU draw the same
 * values and the backward pass stores nothing (the embeddings are frozen; the noise only shifts the
 * layers' inputs). Evaluation and generation never add it.
 */

/** The noise's half-width for a batch padded to `tokens` over `hidden` channels. */
export function neftuneMagnitude(alpha: number, tokens: number, hidden: number): number {
  return alpha / Math.sqrt(tokens * hidden);
}

/** The seed of the noise in forward call `call` of a run seeded `seed` (apart from every LoRA dropout seed). */
export function neftuneSeed(seed: number, call: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(call + 1, 0x85ebca77) ^ 0x27d4eb2f) | 0;
}

/** The noise of `n` elements: (2u − 1)·magnitude, u = hashUniform(seed, i). */
export function neftuneNoise(seed: number, n: number, magnitude: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * hashUniform(seed, i) - 1) * magnitude;
  return out;
}

/** Checks a NEFTune alpha (0 = off). */
export function checkNeftuneAlpha(alpha: number): void {
  if (!(alpha >= 0 && Number.isFinite(alpha))) {
    throw new InvalidInputError(`the NEFTune noise alpha must be a number ≥ 0, got ${alpha}`, { field: "neftune-alpha", hint: "the NEFTune paper uses 5 to 15; 0 turns it off" });
  }
}
