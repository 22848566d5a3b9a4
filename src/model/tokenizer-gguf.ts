// GGUF tokenizer metadata (`tokenizer.ggml.*`, llama.cpp's names) → a Hugging Face tokenizer.json
// object, so both sources go through one tokenizer implementation. The recipes follow
// transformers' GGUF loader (integrations/gguf/gguf_tokenizer_mapping.py) and, where the GGUF
// names a pre-tokenizer that loader does not know, the model's own tokenizer.json:
// - "gpt2": byte-level BPE with the file's merges; the split regex picked by `tokenizer.ggml.pre`.
// - "llama": SentencePiece vocabulary as BPE with byte fallback, merges rebuilt from the
//   vocabulary (ranked by score, or by position for Gemma, whose scores do not follow its merges).
// Control tokens (type 3) become special added tokens, user-defined ones (type 4) plain added tokens.

import { FileFormatError } from "../errors.js";
import type { GgufValue } from "./gguf-values.js";

/** Token types of `tokenizer.ggml.token_type` (llama.cpp's llama_token_type). */
const TOKEN_CONTROL = 3;
const TOKEN_USER_DEFINED = 4;

/** A tokenizer.json `added_tokens` entry. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** What a GGUF says beside the tokenizer itself: special ids, BOS flag, chat template. */
export interface GgufTokenizerInfo {
  /** The tokenizer.json object (model, added_tokens, normalizer, pre_tokenizer, post_processor, decoder). */
  json: Record<string, unknown>;
  bosId: number | undefined;
  eosId: number | undefined;
  /** `tokenizer.ggml.eot_token_id` (end of turn), when it differs from EOS. */
  eotId: number | undefined;
  padId: number | undefined;
  unkId: number | undefined;
  addBos: boolean;
  addEos: boolean;
  chatTemplate: string | undefined;
}

// The split regexes of transformers' GGUF loader and the models' tokenizer.json files, by
// `tokenizer.ggml.pre`. Oniguruma syntax, as tokenizer.json stores it.
const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const SPLITS: Record<string, string> = {
  llama3: LLAMA3_SPLIT,
  "llama-v3": LLAMA3_SPLIT,
  "llama-bpe": LLAMA3_SPLIT,
  "smaug-bpe": LLAMA3_SPLIT,
  qwen2: QWEN2_SPLIT,
  "deepseek-r1-qwen": QWEN2_SPLIT,
};
// Python's str.isspace() characters (JS's \s differs: it has U+FEFF and lacks U+001C–U+001F, U+0085).
const PY_WHITESPACE = /^[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/;
const byteLevel = (useRegex: boolean) => ({ type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: useRegex });

function preTokenizerFor(pre: string | undefined): Record<string, unknown> {
  const split = pre === undefined ? undefined : SPLITS[pre];
  if (split !== undefined)
    return { type: "Sequence", pretokenizers: [{ type: "Split", pattern: { Regex: split }, behavior: "Isolated", invert: false }, byteLevel(false)] };
  // SmolLM2 / StarCoder: digits one by one, then GPT-2's split (their tokenizer.json).
  if (pre === "smollm" || pre === "starcoder" || pre === "refact")
    return { type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: true }, byteLevel(true)] };
  return byteLevel(true);
}

let byteSpelling: string[] | undefined;
/** GPT-2's bytes_to_unicode: each byte as the printable character byte-level vocabularies spell it with. */
export function bytesToUnicode(): readonly string[] {
  if (byteSpelling) return byteSpelling;
  const out: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    out[b] = String.fromCodePoint(printable ? b : 256 + n++);
  }
  byteSpelling = out;
  return out;
}

function postProcessor(bos: string | undefined, bosId: number | undefined, addBos: boolean, eos: string | undefined, eosId: number | undefined, addEos: boolean) {
  const single: unknown[] = [];
  const special: Record<string, unknown> = {};
  if (addBos && bos !== undefined && bosId !== undefined) {
    single.push({ SpecialToken: { id: bos, type_id: 0 } });
    special[bos] = { id: bos, ids: [bosId], tokens: [bos] };
  }
  single.push({ Sequence: { id: "A", type_id: 0 } });
  if (addEos && eos !== undefined && eosId !== undefined) {
    single.push({ SpecialToken: { id: eos, type_id: 0 } });
    special[eos] = { id: eos, ids: [eosId], tokens: [eos] };
  }
  return { type: "TemplateProcessing", single, pair: single, special_tokens: special };
}

/**
 * The merges a SentencePiece vocabulary implies (transformers' `generate_merges`): every split of
 * a token into two tokens, the best-ranked merged token first (higher `rank`), ties by longer
 * left piece, then longer right piece, then vocabulary order (Python's stable sort). Lengths
 * count code points. A repeated token keeps its first position and its last id and rank, as a
 * Python dict built from the list does.
 */
function mergesFromVocab(tokens: readonly string[], vocab: Map<string, number>, rank: Map<string, number>): [string, string][] {
  type Entry = { l: string; r: string; score: number; ll: number; rl: number; order: number };
  const entries: Entry[] = [];
  const seen = new Set<string>();
  for (const token of tokens) {
    if (seen.has(token)) continue;
    seen.add(token);
    const chars = Array.from(token);
    if (chars.length < 2) continue;
    const score = rank.get(token) as number;
    const local: (Entry & { li: number; ri: number })[] = [];
    let left = "";
    for (let k = 1; k < chars.length; k++) {
      left += chars[k - 1];
      const right = token.slice(left.length);
      const li = vocab.get(left);
      const ri = vocab.get(right);
      if (li !== undefined && ri !== undefined) local.push({ l: left, r: right, score, ll: k, rl: chars.length - k, order: 0, li, ri });
    }
    local.sort((a, b) => a.li - b.li || a.ri - b.ri);
    for (const e of local) {
      e.order = entries.length;
      entries.push(e);
    }
  }
  entries.sort((a, b) => b.score - a.score || b.ll - a.ll || b.rl - a.rl || a.order - b.order);
  return entries.map((e) => [e.l, e.r]);
}

function stringArray(md: Readonly<Record<string, GgufValue>>, key: string, file: string): string[] {
  const v = md[key];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new FileFormatError({ file, location: key, problem: "is missing or not an array of strings" });
  return v as string[];
}

function numberArray(md: Readonly<Record<string, GgufValue>>, key: string, length: number, file: string): number[] | undefined {
  const v = md[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length !== length || v.some((x) => typeof x !== "number"))
    throw new FileFormatError({ file, location: key, problem: `is not an array of ${length} numbers (one per token)` });
  return v as number[];
}

function optionalId(md: Readonly<Record<string, GgufValue>>, key: string, size: number, file: string): number | undefined {
  const v = md[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= size) throw new FileFormatError({ file, location: key, problem: `${String(v)} is not a token id below ${size}` });
  return v;
}

/**
 * Builds the tokenizer.json object and the special ids a GGUF's metadata describes. `file` names
 * the source in errors. Throws FileFormatError for missing or malformed keys, and for a
 * `tokenizer.ggml.model` other than "gpt2" and "llama".
 */
export function ggufTokenizerInfo(md: Readonly<Record<string, GgufValue>>, file = "GGUF metadata"): GgufTokenizerInfo {
  const model = md["tokenizer.ggml.model"];
  const tokens = stringArray(md, "tokenizer.ggml.tokens", file);
  const types = numberArray(md, "tokenizer.ggml.token_type", tokens.length, file);
  const size = tokens.length;
  const bosId = optionalId(md, "tokenizer.ggml.bos_token_id", size, file);
  const eosId = optionalId(md, "tokenizer.ggml.eos_token_id", size, file);
  const eot = optionalId(md, "tokenizer.ggml.eot_token_id", size, file);
  const padId = optionalId(md, "tokenizer.ggml.padding_token_id", size, file);
  const unkId = optionalId(md, "tokenizer.ggml.unknown_token_id", size, file);
  const flag = (key: string) => (typeof md[key] === "boolean" ? (md[key] as boolean) : undefined);
  const template = md["tokenizer.chat_template"];
  const arch = typeof md["general.architecture"] === "string" ? (md["general.architecture"] as string) : "";
  const pre = typeof md["tokenizer.ggml.pre"] === "string" ? (md["tokenizer.ggml.pre"] as string) : undefined;

  let vocabTokens = tokens;
  let json: Record<string, unknown>;
  let addBos: boolean;
  if (model === "gpt2") {
    // Tokens outside the byte alphabet (rare mislabels) are respelled byte by byte.
    const spelling = bytesToUnicode();
    const alphabet = new Set(spelling);
    const encoder = new TextEncoder();
    const inAlphabet = (t: string) => Array.from(t).every((c) => alphabet.has(c));
    vocabTokens = tokens.map((t) => (inAlphabet(t) ? t : Array.from(encoder.encode(t), (b) => spelling[b]).join("")));
    const merges = stringArray(md, "tokenizer.ggml.merges", file).map((m, i): [string, string] => {
      const parts = m.split(" ");
      if (parts.length !== 2) throw new FileFormatError({ file, location: `tokenizer.ggml.merges[${i}]`, problem: `${JSON.stringify(m)} is not two tokens separated by one space` });
      return parts as [string, string];
    });
    addBos = flag("tokenizer.ggml.add_bos_token") ?? false;
    json = {
      normalizer: pre === "qwen2" ? { type: "NFC" } : null,
      pre_tokenizer: preTokenizerFor(pre),
      model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, ignore_merges: pre?.startsWith("llama") ?? false, vocab: vocabObject(vocabTokens), merges },
      decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    };
  } else if (model === "llama") {
    const gemma = arch.startsWith("gemma");
    const scores = gemma ? undefined : numberArray(md, "tokenizer.ggml.scores", size, file);
    if (!gemma && scores === undefined)
      throw new FileFormatError({ file, location: "tokenizer.ggml.scores", problem: "is missing (a SentencePiece vocabulary needs its scores)" });
    // Gemma stores runs of spaces as spaces, but looks them up as "▁" runs.
    if (gemma) vocabTokens = tokens.map((t) => (t.includes(" ") && PY_WHITESPACE.test(t) ? "\u2581".repeat(Array.from(t).length) : t));
    const vocab = new Map<string, number>();
    // Gemma's merges follow the vocabulary order, not its scores.
    const rank = new Map<string, number>();
    vocabTokens.forEach((t, i) => {
      vocab.set(t, i);
      rank.set(t, scores === undefined ? -i : (scores[i] as number));
    });
    const merges = mergesFromVocab(vocabTokens, vocab, rank);
    const unk = unkId === undefined ? "<unk>" : vocabTokens[unkId];
    const bpe = { type: "BPE", dropout: null, unk_token: unk, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab: vocabObject(vocabTokens), merges };
    addBos = flag("tokenizer.ggml.add_bos_token") ?? true;
    const decoders: unknown[] = [{ type: "Replace", pattern: { String: "\u2581" }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" }];
    if (gemma) {
      json = { normalizer: { type: "Replace", pattern: { String: " " }, content: "\u2581" }, pre_tokenizer: null, model: bpe, decoder: { type: "Sequence", decoders } };
    } else {
      const prefix = flag("tokenizer.ggml.add_space_prefix") ?? true;
      if (prefix) decoders.push({ type: "Strip", content: " ", start: 1, stop: 0 });
      json = {
        normalizer: null,
        pre_tokenizer: { type: "Metaspace", replacement: "\u2581", prepend_scheme: prefix ? "first" : "never", split: false },
        model: bpe,
        decoder: { type: "Sequence", decoders },
      };
    }
  } else {
    throw new FileFormatError({
      file,
      location: "tokenizer.ggml.model",
      problem: `tokenizer ${JSON.stringify(model)} is not supported`,
      hint: 'supported: "gpt2" (byte-level BPE: Qwen, Llama 3, SmolLM2) and "llama" (SentencePiece: Gemma)',
    });
  }
  const addEos = flag("tokenizer.ggml.add_eos_token") ?? false;
  const added: AddedTokenJson[] = [];
  if (types !== undefined) {
    const alphabet = model === "gpt2" ? new Set(bytesToUnicode()) : undefined;
    for (let i = 0; i < size; i++) {
      const t = vocabTokens[i] as string;
      // A control token outside the byte alphabet is a mislabel in byte-level files (transformers skips it too).
      if (types[i] === TOKEN_CONTROL && (alphabet === undefined || Array.from(t).every((c) => alphabet.has(c))))
        added.push({ id: i, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    }
    for (let i = 0; i < size; i++)
      if (types[i] === TOKEN_USER_DEFINED) added.push({ id: i, content: vocabTokens[i] as string, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false });
  }
  const name = (id: number | undefined) => (id === undefined ? undefined : vocabTokens[id]);
  json.post_processor = postProcessor(name(bosId), bosId, addBos, name(eosId), eosId, addEos);
  json.added_tokens = added;
  return {
    json,
    bosId,
    eosId,
    eotId: eot !== undefined && eot !== eosId ? eot : undefined,
    padId,
    unkId,
    addBos,
    addEos,
    chatTemplate: typeof template === "string" ? template : undefined,
  };
}

/** tokenizer.json's `model.vocab`: token → id, on a prototype-less object (tokens such as "__proto__" exist). */
function vocabObject(tokens: readonly string[]): Record<string, number> {
  const vocab: Record<string, number> = Object.create(null);
  tokens.forEach((t, i) => {
    vocab[t] = i;
  });
  return vocab;
}
