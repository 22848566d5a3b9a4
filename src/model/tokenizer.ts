// The tokenizer of a model, from its tokenizer.json (Hugging Face) or its GGUF metadata. Both go
// through @huggingface/tokenizers (the pure TypeScript port of HF tokenizers used by
// transformers.js), the GGUF by way of a tokenizer.json built from `tokenizer.ggml.*`
// (tokenizer-gguf.ts). Parity with the Python reference is tested on a committed corpus.

import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { FileFormatError, InvalidInputError } from "../errors.js";
import type { GgufValue } from "./gguf-values.js";
import { ggufTokenizerInfo } from "./tokenizer-gguf.js";
import { adaptTokenizerJson } from "./tokenizer-json.js";
import { TokenStreamDecoder } from "./tokenizer-stream.js";

/** Options of `Tokenizer.encode`. */
export interface EncodeOptions {
  /**
   * Add what the tokenizer's post-processor adds around a text (BOS for Gemma and Llama; nothing
   * for SmolLM2 and Qwen). Default false — unlike transformers — because AgentTune encodes text
   * rendered by a chat template, which writes its special tokens itself.
   */
  addSpecialTokens?: boolean;
}

/** Options of `Tokenizer.decode`. */
export interface DecodeOptions {
  /** Leave out special tokens (BOS, EOS, `<|im_start|>`, …). Default false. */
  skipSpecialTokens?: boolean;
}

/** What a tokenizer knows beside its vocabulary. */
export interface TokenizerInfo {
  bosId?: number | undefined;
  eosId?: number | undefined;
  /** More ids that end a generation besides EOS (Gemma's `<end_of_turn>`). */
  extraStopIds?: readonly number[];
  padId?: number | undefined;
  /** Whether encode({addSpecialTokens: true}) starts with BOS (informational). */
  addBos?: boolean;
  chatTemplate?: string | undefined;
  /** tokenizer_config.json values the implementation reads (clean_up_tokenization_spaces, …). */
  config?: Record<string, unknown>;
  /** Where it came from, for error messages. */
  source?: string;
}

/**
 * A model's tokenizer: text ↔ token ids, special ids, the chat template.
 * Build one with `loadTokenizerJson` or `tokenizerFromGguf`.
 */
export class Tokenizer {
  /** Number of ids: the highest id of the vocabulary or the added tokens, plus one. */
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly padId: number | undefined;
  /** Ids that end a generation: EOS and end-of-turn tokens. */
  readonly stopIds: readonly number[];
  /** Whether encode({addSpecialTokens: true}) starts with BOS. */
  readonly addBos: boolean;
  /** The Jinja chat template, when the model has one. */
  readonly chatTemplate: string | undefined;
  /** Where it came from (a path, or "tokenizer.json object"). */
  readonly source: string;
  private readonly hf: HfTokenizer;
  private readonly special: ReadonlySet<number>;

  constructor(json: Record<string, unknown>, info: TokenizerInfo = {}) {
    this.source = info.source ?? "tokenizer.json object";
    const config = { ...(info.config ?? {}) };
    config.clean_up_tokenization_spaces ??= false;
    try {
      this.hf = new HfTokenizer(adaptTokenizerJson(json), config);
      fixByteFallback(this.hf.decoder);
    } catch (error) {
      if (error instanceof FileFormatError) throw error;
      throw new FileFormatError({
        file: this.source,
        problem: `cannot build the tokenizer: ${error instanceof Error ? error.message : String(error)}`,
        hint: "the tokenizer.json uses a component @huggingface/tokenizers does not implement, or is malformed",
        cause: error,
      });
    }
    let size = 0;
    for (const id of this.hf.get_vocab(true).values()) size = Math.max(size, id + 1);
    this.vocabSize = size;
    const special = new Set<number>();
    for (const [id, t] of this.hf.get_added_tokens_decoder()) if (t.special) special.add(id);
    this.special = special;
    this.bosId = info.bosId;
    this.eosId = info.eosId;
    this.padId = info.padId;
    this.stopIds = [...new Set([...(info.eosId === undefined ? [] : [info.eosId]), ...(info.extraStopIds ?? [])])];
    this.addBos = info.addBos ?? false;
    this.chatTemplate = info.chatTemplate;
  }

  /** Text → token ids. Special tokens written in the text (`<|im_end|>`) become their ids. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.hf.encode(text, { add_special_tokens: options.addSpecialTokens ?? false }).ids;
  }

  /** Token ids → text. Throws InvalidInputError for an id outside the vocabulary. */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const kept: number[] = [];
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.hf.id_to_token(id) === undefined)
        throw new InvalidInputError(`token id ${id} is not in the vocabulary (${this.vocabSize} ids)`, { hint: "the ids come from a different tokenizer or model" });
      if (!(options.skipSpecialTokens && this.special.has(id))) kept.push(id);
    }
    return kept.length === 0 ? "" : this.hf.decode(kept);
  }

  /** A decoder for generation: it takes ids one at a time and returns text only at whole characters. */
  streamDecoder(options: DecodeOptions = {}): TokenStreamDecoder {
    return new TokenStreamDecoder(this, options);
  }

  /** The id of a token as the vocabulary spells it (`"Ġthe"`, `"<|im_end|>"`), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  /** The vocabulary's spelling of an id, or undefined. */
  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  /** Whether the id is a special token (skipped by decode({skipSpecialTokens: true})). */
  isSpecial(id: number): boolean {
    return this.special.has(id);
  }
}

// @huggingface/tokenizers 0.2's ByteFallback decoder turns a run of <0xNN> tokens into text with a
// default TextDecoder: it drops a U+FEFF at the start of the run and writes one U+FFFD per invalid
// sequence. The Rust crate keeps U+FEFF and, when the run is not valid UTF-8, writes one U+FFFD per
// byte token. Give its decoder instances a text decoder that does the latter.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const byteRunDecoder = {
  decode(bytes: Uint8Array): string {
    try {
      return strictUtf8.decode(bytes);
    } catch {
      return "\uFFFD".repeat(bytes.length);
    }
  },
};
function fixByteFallback(decoder: unknown): void {
  const d = decoder as { config?: { type?: unknown }; decoders?: unknown[]; text_decoder?: unknown } | null;
  if (d === null || (typeof d !== "object" && typeof d !== "function")) return; // the library's components are callable objects
  if (d.config?.type === "ByteFallback") d.text_decoder = byteRunDecoder;
  if (Array.isArray(d.decoders)) for (const inner of d.decoders) fixByteFallback(inner);
}

function tokenContent(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v !== null && typeof v === "object" && typeof (v as { content?: unknown }).content === "string") return (v as { content: string }).content;
  return undefined;
}

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new FileFormatError({ file, problem: "cannot be read", cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new FileFormatError({ file, problem: `is not valid JSON: ${error instanceof Error ? error.message : String(error)}`, cause: error });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new FileFormatError({ file, problem: "is not a JSON object" });
  return value as Record<string, unknown>;
}

function templateOf(config: Record<string, unknown>): string | undefined {
  const t = config.chat_template;
  if (typeof t === "string") return t;
  if (Array.isArray(t)) {
    const named = t.find((x) => x !== null && typeof x === "object" && (x as { name?: unknown }).name === "default") ?? t[0];
    const template = (named as { template?: unknown } | undefined)?.template;
    if (typeof template === "string") return template;
  }
  return undefined;
}

/** Options of `loadTokenizerJson`. */
export interface LoadTokenizerOptions {
  /** tokenizer_config.json (object or path). Default: the one beside a tokenizer.json path, if any. */
  config?: Record<string, unknown> | string;
  /** Overrides the chat template of the config (and of chat_template.jinja beside the file). */
  chatTemplate?: string;
}

/**
 * A tokenizer from a Hugging Face tokenizer.json: a path to the file, a model folder holding it,
 * or the parsed object. BOS/EOS/PAD and the chat template come from tokenizer_config.json
 * (beside the file, or `options.config`), and `chat_template.jinja` beside it when present.
 */
export function loadTokenizerJson(pathOrObject: string | Record<string, unknown>, options: LoadTokenizerOptions = {}): Tokenizer {
  let json: Record<string, unknown>;
  let folder: string | undefined;
  let source = "tokenizer.json object";
  if (typeof pathOrObject === "string") {
    let file = pathOrObject;
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "tokenizer.json");
    json = readJson(file);
    folder = dirname(file);
    source = file;
  } else {
    json = pathOrObject;
  }
  let config: Record<string, unknown> = {};
  if (typeof options.config === "string") config = readJson(options.config);
  else if (options.config !== undefined) config = options.config;
  else if (folder !== undefined && existsSync(join(folder, "tokenizer_config.json"))) config = readJson(join(folder, "tokenizer_config.json"));
  let chatTemplate = options.chatTemplate;
  if (chatTemplate === undefined && folder !== undefined && existsSync(join(folder, "chat_template.jinja"))) chatTemplate = readFileSync(join(folder, "chat_template.jinja"), "utf8");
  chatTemplate ??= templateOf(config);
  const id = (key: string) => {
    const content = tokenContent(config[key]);
    return content === undefined ? undefined : idOf(json, content);
  };
  const addBos = typeof config.add_bos_token === "boolean" ? config.add_bos_token : bosInPostProcessor(json);
  return new Tokenizer(json, { config, chatTemplate, source, bosId: id("bos_token"), eosId: id("eos_token"), padId: id("pad_token"), addBos });
}

/** The id of a token in a tokenizer.json: an added token's, else the model vocabulary's. */
function idOf(json: Record<string, unknown>, content: string): number | undefined {
  const added = Array.isArray(json.added_tokens) ? (json.added_tokens as { id?: unknown; content?: unknown }[]) : [];
  const hit = added.find((t) => t.content === content);
  if (typeof hit?.id === "number") return hit.id;
  const vocab = (json.model as { vocab?: unknown } | undefined)?.vocab;
  if (Array.isArray(vocab)) {
    const i = vocab.findIndex((e) => Array.isArray(e) && e[0] === content);
    return i < 0 ? undefined : i;
  }
  if (vocab !== null && typeof vocab === "object" && Object.hasOwn(vocab, content)) {
    const v = (vocab as Record<string, unknown>)[content];
    return typeof v === "number" ? v : undefined;
  }
  return undefined;
}

/** Whether the post-processor's single-sequence template starts with a special token. */
function bosInPostProcessor(json: Record<string, unknown>): boolean {
  const pp = json.post_processor as { type?: unknown; single?: unknown } | null | undefined;
  return pp?.type === "TemplateProcessing" && Array.isArray(pp.single) && pp.single.length > 0 && "SpecialToken" in (pp.single[0] as object);
}

/**
 * A tokenizer from GGUF metadata (`openGguf(path).metadata`): `tokenizer.ggml.model` "gpt2"
 * (byte-level BPE with merges) or "llama" (SentencePiece with scores, as Gemma stores it), the
 * special ids, `add_bos_token` and `tokenizer.chat_template`. `file` names the source in errors.
 */
export function tokenizerFromGguf(metadata: Readonly<Record<string, GgufValue>>, file = "GGUF metadata"): Tokenizer {
  const info = ggufTokenizerInfo(metadata, file);
  return new Tokenizer(info.json, {
    source: file,
    bosId: info.bosId,
    eosId: info.eosId,
    extraStopIds: info.eotId === undefined ? [] : [info.eotId],
    padId: info.padId,
    addBos: info.addBos,
    chatTemplate: info.chatTemplate,
  });
}
