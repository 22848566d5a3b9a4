import type { ChatMessage } from "../agent/chat-model.js";

/** Text → token ids, with no special tokens added (the chat template writes those as text). */
export type TokenizeFn = (text: string) => number[];

/** One piece of a rendered chat: the text, and whether the loss falls on its tokens. */
export interface TemplateSegment {
  text: string;
  /** True for an assistant message's content and its end-of-turn marker. */
  train: boolean;
  /** The message this piece belongs to (-1 for text outside any message). */
  message: number;
}

/** Whether the loss falls on a message: an assistant message not marked `weight: 0`. */
export function trainsOn(message: ChatMessage): boolean {
  return message.role === "assistant" && message.weight !== 0;
}

/** Renders chat messages as ordered segments; the concatenated texts are the model's input. */
export type ChatTemplateFn = (messages: readonly ChatMessage[]) => TemplateSegment[];

/**
 * The ChatML template (SmolLM2, Qwen2): `<|im_start|>role\ncontent<|im_end|>\n`. The loss
 * covers an assistant message's content and its `<|im_end|>` (unless it has `weight: 0`: then
 * the same text is context); headers and the newline after the end marker are context. Tool
 * messages are rendered with role `user` (observations).
 */
export const chatmlTemplate: ChatTemplateFn = (messages) => {
  const out: TemplateSegment[] = [];
  messages.forEach((m, i) => {
    const role = m.role === "tool" ? "user" : m.role;
    const train = trainsOn(m);
    out.push({ text: `<|im_start|>${role}\n`, train: false, message: i });
    out.push({ text: m.content, train, message: i });
    out.push({ text: "<|im_end|>", train, message: i });
    out.push({ text: "\n", train: false, message: i });
  });
  return out;
};

/** One example as token ids with its loss mask (1 where the loss falls on that token). */
export interface TokenizedExample {
  ids: Int32Array;
  /** [ids.length]: 1 on trained assistant content and end-of-turn tokens, 0 elsewhere. */
  mask: Uint8Array;
  /** Messages kept after truncation. */
  messages: number;
  truncated: boolean;
}

export interface TokenizeOptions {
  tokenize: TokenizeFn;
  template: ChatTemplateFn;
  /** Longest sequence in tokens; default 2048. */
  maxLength?: number;
}

/** The result of tokenizing a dataset: the examples that fit and the count of those skipped. */
export interface TokenizedDataset {
  examples: TokenizedExample[];
  /** Examples whose first assistant turn does not fit in `maxLength`. */
  skippedTooLong: number;
  /** Examples with no trained assistant message (nothing to learn). */
  skippedNoAssistant: number;
  /** Examples shortened by dropping whole trailing steps. */
  truncated: number;
}

/** Default maximum sequence length in tokens (SPECS §6). */
export const DEFAULT_MAX_LENGTH = 2048;

/**
 * Tokenizes one conversation with its loss mask. When it is longer than `maxLength`, whole
 * trailing steps are dropped: the kept prefix always ends right after a trained assistant turn,
 * so no Action is ever cut. Returns undefined when even the first trained assistant turn does not
 * fit, or when there is none (a `weight: 0` turn alone teaches nothing).
 */
export function tokenizeMessages(messages: readonly ChatMessage[], options: TokenizeOptions): TokenizedExample | undefined {
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
  const segments = options.template(messages);
  const ids: number[] = [];
  const mask: number[] = [];
  // End offset (in tokens) of each message's last segment.
  const messageEnd = new Map<number, number>();
  for (const s of segments) {
    if (s.text.length === 0) continue;
    const t = options.tokenize(s.text);
    for (const id of t) {
      ids.push(id);
      mask.push(s.train ? 1 : 0);
    }
    if (s.message >= 0) messageEnd.set(s.message, ids.length);
  }
  const assistantEnds = messages.flatMap((m, i) => (trainsOn(m) ? [i] : []));
  if (assistantEnds.length === 0) return undefined;
  const fullEnd = ids.length;
  let cut = -1;
  let kept = messages.length;
  if (fullEnd <= maxLength) {
    cut = fullEnd;
  } else {
    for (let k = assistantEnds.length - 1; k >= 0; k--) {
      const end = messageEnd.get(assistantEnds[k]) ?? 0;
      // A message's end includes everything its template writes (end marker and newline).
      if (end <= maxLength) {
        cut = end;
        kept = assistantEnds[k] + 1;
        break;
      }
    }
    if (cut < 0) return undefined;
  }
  return {
    ids: Int32Array.from(ids.slice(0, cut)),
    mask: Uint8Array.from(mask.slice(0, cut)),
    messages: kept,
    truncated: cut < fullEnd,
  };
}

/** Tokenizes many conversations, counting those skipped or truncated. */
export function tokenizeDataset(conversations: Iterable<readonly ChatMessage[]>, options: TokenizeOptions): TokenizedDataset {
  const result: TokenizedDataset = { examples: [], skippedTooLong: 0, skippedNoAssistant: 0, truncated: 0 };
  for (const messages of conversations) {
    if (!messages.some(trainsOn)) {
      result.skippedNoAssistant++;
      continue;
    }
    const ex = tokenizeMessages(messages, options);
    if (ex === undefined) {
      result.skippedTooLong++;
      continue;
    }
    if (ex.truncated) result.truncated++;
    result.examples.push(ex);
  }
  return result;
}
