// Incremental decoding for generation. A token may end inside a UTF-8 character (byte-level BPE
// spells bytes, SentencePiece falls back to <0xNN> tokens), and some decoders treat the first
// token of a text differently (a leading "▁" stripped). So each step decodes a short window of
// ids before the new ones plus the new ones, and returns what the new ones add, holding it back
// while it ends in U+FFFD (an incomplete character) — the approach of text-generation-inference.

import type { DecodeOptions } from "./tokenizer.js";

/** What the stream decoder needs of a tokenizer. */
export interface IdsDecoder {
  decode(ids: readonly number[], options?: DecodeOptions): string;
}

const REPLACEMENT = "\uFFFD";

/**
 * Turns ids pushed one at a time into text pieces that are always whole characters; the pieces
 * concatenated equal `decode(allIds)` (a U+FFFD that the full decode would also hold comes out at
 * `flush()` or with the next piece).
 */
export class TokenStreamDecoder {
  private readonly ids: number[] = [];
  private prefix = 0; // start of the context window
  private read = 0; // ids before this one have been returned as text

  constructor(
    private readonly tokenizer: IdsDecoder,
    private readonly options: DecodeOptions = {},
  ) {}

  /** Adds one id; returns the text it completes ("" while a character is still incomplete). */
  push(id: number): string {
    this.ids.push(id);
    return this.step(false);
  }

  /** Returns whatever is still held back (an incomplete character decodes as U+FFFD). */
  flush(): string {
    return this.step(true);
  }

  /** All ids pushed so far. */
  get tokens(): readonly number[] {
    return this.ids;
  }

  private step(final: boolean): string {
    if (this.read >= this.ids.length) return "";
    const window = this.ids.slice(this.prefix);
    const before = this.tokenizer.decode(window.slice(0, this.read - this.prefix), this.options);
    const after = this.tokenizer.decode(window, this.options);
    if (!final && (after.length <= before.length || after.endsWith(REPLACEMENT))) return "";
    if (!after.startsWith(before)) {
      // The context decodes differently once followed by more text; start a fresh window.
      this.prefix = this.read;
      return this.step(final);
    }
    this.prefix = this.read;
    this.read = this.ids.length;
    return after.slice(before.length);
  }
}
