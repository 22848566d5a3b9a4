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
 * One reply, a token at a time: give it the logits of the last position, it samples the next
 * token, checks EOS, stop strings and the length limit, and says which text became final. The
 * step `generateStream` loops over, and the batched engine runs for many replies at once.
 */
export class ReplyState {
  readonly tokens: number[] = [];
  finishReason: FinishReason = "length";
  done = false;
  private text = "";
  private emitted = 0;
  private readonly maxTokens: number;
  private readonly stops: string[];
  private readonly eos: Set<number>;
  private readonly random: () => number;

  constructor(
    private readonly tokenizer: TokenDecoder,
    private readonly o: GenerationOptions,
    defaultEosIds: readonly number[],
  ) {
    this.maxTokens = o.maxTokens ?? 256;
    this.stops = (o.stop ?? []).filter((s) => s.length > 0);
    this.eos = new Set(o.eosIds ?? defaultEosIds);
    this.random = seededRandom(o.seed ?? 0);
  }

  /**
   * Takes the logits [vocab] of the reply's last position; `room` says whether the cache can take
   * one more token. Returns the text that became final (maybe "") and, unless the reply ended,
   * the token to feed next.
   */
  step(logits: Float32Array, room: boolean): { piece: string; next?: number } {
    if (this.done) throw new Error("ReplyState.step after the reply ended");
    if (this.tokens.length >= this.maxTokens) return { piece: this.finish("length") };
    if (this.o.signal?.aborted) return { piece: this.finish("aborted") };
    const id = sampleToken(logits, this.o, this.random);
    if (this.eos.has(id)) return { piece: this.finish("eos") };
    this.tokens.push(id);
    this.text = this.tokenizer.decode(this.tokens);
    let cut = -1;
    for (const s of this.stops) {
      const at = this.text.indexOf(s);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.text = this.text.slice(0, cut);
      return { piece: this.finish("stop") };
    }
    // Text ending in U+FFFD is an incomplete UTF-8 sequence: wait for the next token.
    const ready = this.text.endsWith("\uFFFD") ? this.emitted : this.text.length - heldBack(this.text, this.stops);
    let piece = "";
    if (ready > this.emitted) {
      piece = this.text.slice(this.emitted, ready);
      this.emitted = ready;
    }
    if (this.tokens.length >= this.maxTokens || !room) return { piece: piece + this.finish("length") };
    return { piece, next: id };
  }

  /** Ends the reply; returns the text not yet given out. */
  finish(reason: FinishReason): string {
    this.done = true;
    this.finishReason = reason;
    if (reason !== "stop" && reason !== "aborted") this.text = this.tokenizer.decode(this.tokens);
    const rest = this.text.length > this.emitted ? this.text.slice(this.emitted) : "";
    this.emitted = this.text.length;
    return rest;
  }

  result(): GenerationResult {
    return { text: this.text, tokens: this.tokens, finishReason: this.finishReason };
  }
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
  const reply = new ReplyState(tokenizer, o, model.config.eosTokenIds);
  let logits = model.forward(prompt, cache);
  for (;;) {
    const { piece, next } = reply.step(logits, cache.length < cache.maxTokens);
    if (piece.length > 0) yield piece;
    if (next === undefined) break;
    logits = model.forward(Int32Array.of(next), cache);
    // Let other work (and abort handlers) run between tokens.
    await new Promise<void>((r) => setImmediate(r));
  }
  return reply.result();
}

/** Generates to the end and returns the result (no streaming). */
export async function generate(model: Decoder, cache: KvCache, prompt: Int32Array, tokenizer: TokenDecoder, o: GenerationOptions = {}): Promise<GenerationResult> {
  const it = generateStream(model, cache, prompt, tokenizer, o);
  for (;;) {
    const r = await it.next();
    if (r.done === true) return r.value;
  }
}
