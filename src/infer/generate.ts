// Token-by-token generation over the engine's Decoder: sampling, EOS ids, stop strings checked
// on the decoded text (the stop string itself is not returned; a partial match is held back
// while streaming), max tokens, AbortSignal, and text pieces only at whole UTF-8 characters.

import type { Decoder, KvCache } from "../model/decoder.js";
import { type SamplingOptions, sampleToken, seededRandom } from "./sampling.js";

/** Turns token ids into text (a Tokenizer's decode). */
export interface TokenDecoder {
  decode(ids: readonly number[]): string;
}

/** Options of one generation. */
export interface GenerationOptions extends SamplingOptions {
  maxTokens?: number;
  /** Generation stops before the first of these strings. */
  stop?: readonly string[];
  /** Token ids that end generation (not part of the text). */
  eosIds?: readonly number[];
  signal?: AbortSignal;
}

/** Why generation ended. */
export type FinishReason = "stop" | "eos" | "length" | "aborted";

/** The outcome of one generation. */
export interface GenerationResult {
  text: string;
  /** Generated ids (the EOS id excluded). */
  tokens: number[];
  finishReason: FinishReason;
}

/** Length of the longest suffix of text that is a proper prefix of some stop string. */
function heldBack(text: string, stops: readonly string[]): number {
  let hold = 0;
  for (const s of stops)
    for (let k = Math.min(s.length - 1, text.length); k > hold; k--)
      if (text.endsWith(s.slice(0, k))) {
        hold = k;
        break;
      }
  return hold;
}

/**
 * Generates after the prompt ids (appended to the cache, which may already hold a prefix of
 * the conversation). Yields text pieces as they become final; returns the whole result.
 */
export async function* generateStream(
  model: Decoder,
  cache: KvCache,
  prompt: Int32Array,
  tokenizer: TokenDecoder,
  o: GenerationOptions = {},
): AsyncGenerator<string, GenerationResult> {
  const maxTokens = o.maxTokens ?? 256;
  const stops = (o.stop ?? []).filter((s) => s.length > 0);
  const eos = new Set(o.eosIds ?? model.config.eosTokenIds);
  const random = seededRandom(o.seed ?? 0);
  const tokens: number[] = [];
  let emitted = 0;
  let finishReason: FinishReason = "length";
  let text = "";
  let logits = model.forward(prompt, cache);
  while (tokens.length < maxTokens) {
    if (o.signal?.aborted) {
      finishReason = "aborted";
      break;
    }
    const id = sampleToken(logits, o, random);
    if (eos.has(id)) {
      finishReason = "eos";
      break;
    }
    tokens.push(id);
    text = tokenizer.decode(tokens);
    let cut = -1;
    for (const s of stops) {
      const at = text.indexOf(s);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      text = text.slice(0, cut);
      finishReason = "stop";
      break;
    }
    // Text ending in U+FFFD is an incomplete UTF-8 sequence: wait for the next token.
    const ready = text.endsWith("\uFFFD") ? emitted : text.length - heldBack(text, stops);
    if (ready > emitted) {
      yield text.slice(emitted, ready);
      emitted = ready;
    }
    if (tokens.length >= maxTokens || cache.length >= cache.maxTokens) break;
    logits = model.forward(Int32Array.of(id), cache);
    // Let other work (and abort handlers) run between tokens.
    await new Promise<void>((r) => setImmediate(r));
  }
  if (finishReason !== "stop" && finishReason !== "aborted") text = tokenizer.decode(tokens);
  if (text.length > emitted) yield text.slice(emitted);
  return { text, tokens, finishReason };
}

/** Generates to the end and returns the result (no streaming). */
export async function generate(model: Decoder, cache: KvCache, prompt: Int32Array, tokenizer: TokenDecoder, o: GenerationOptions = {}): Promise<GenerationResult> {
  const it = generateStream(model, cache, prompt, tokenizer, o);
  for (;;) {
    const r = await it.next();
    if (r.done === true) return r.value;
  }
}
