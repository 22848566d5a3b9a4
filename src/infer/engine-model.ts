// Our own engine as a ChatModel: a GGUF file or a Hugging Face folder loaded as f32 on the CPU
// backend (optionally with a PEFT LoRA adapter merged in), prompted through the model's own chat
// template exactly as LlamaCppModel prompts node-llama-cpp, so both engines see the same text.

import { statSync } from "node:fs";
import type { ChatMessage, ChatModel, GenerateOptions, GenerateResult } from "../agent/chat-model.js";
import type { Backend } from "../engine/backend.js";
import { createCpuBackend } from "../engine/cpu/backend.js";
import { AgentTuneError, InvalidInputError } from "../errors.js";
import { CHATML_TEMPLATE, renderChatTemplate, replyStops } from "../model/chat-template.js";
import type { ModelConfig } from "../model/config.js";
import { Decoder, type HostWeight, type KvCache } from "../model/decoder.js";
import { type ModelLocation, readHostModel, readModelText } from "../model/locate.js";
import type { Tokenizer } from "../model/tokenizer.js";
import { readGgufLora } from "../train/export-gguf-lora.js";
import { type FinishReason, generateStream, type TokenDecoder } from "./generate.js";
import { mergeLora, readMergeableAdapter } from "./merge-lora.js";

export { CHATML_TEMPLATE };

/** The prompt does not fit the KV cache. */
export class ContextLengthError extends AgentTuneError {
  constructor(promptTokens: number, contextSize: number) {
    super(`the prompt is ${promptTokens} tokens; the context holds ${contextSize} (prompt and reply together)`, {
      hint: "shorten the conversation (fewer steps or tools), or load the model with a larger contextSize",
    });
  }
}

/** The model was used after dispose(). */
export class ModelDisposedError extends AgentTuneError {
  constructor(id: string) {
    super(`the model ${id} has been disposed`, { hint: "load it again" });
  }
}

/** Options of `EngineChatModel.load`. */
export interface EngineModelOptions {
  /** A `.gguf` file or a Hugging Face model folder (config.json, tokenizer.json, safetensors). */
  model: string;
  /** A PEFT LoRA adapter folder, merged into the f32 weights at load: W + (alpha/r)·B·A. */
  adapter?: string;
  /** KV cache size in tokens, prompt and reply together. Default: the model's max positions, at most 4096. */
  contextSize?: number;
  /** Default: a new CPU backend. */
  backend?: Backend;
}

/** What an EngineChatModel runs on, for callers that build the parts themselves. */
export interface EngineModelParts {
  decoder: Decoder;
  tokenizer: Tokenizer;
  /** Jinja chat template; default the tokenizer's, else ChatML. */
  chatTemplate?: string;
  /** Ids that end a reply; default the config's EOS ids and the tokenizer's EOS / end-of-turn ids. */
  eosIds?: readonly number[];
  id?: string;
  contextSize?: number;
}

/** How the last call used the KV cache. */
export interface CacheStats {
  /** Prompt tokens whose keys and values were already cached (a shared prefix with the previous call). */
  reusedTokens: number;
  /** Prompt tokens run through the model on this call. */
  prefilledTokens: number;
}

// Prefill runs in chunks of this many tokens with a turn of the event loop between them, so an
// abort (Ctrl-C) is seen within one chunk rather than after a whole long prompt.
const PREFILL_CHUNK = 64;
const DEFAULT_CONTEXT = 4096;

/** Whether the model path is a file (a GGUF) rather than a folder; a typed error when it is neither. */
function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch (error) {
    throw new InvalidInputError(`model ${path} does not exist`, { field: "model", hint: "pass a .gguf file or a Hugging Face model folder", cause: error });
  }
}

/**
 * A ChatModel on the engine's own decoder (f32, CPU backend by default).
 *
 * The prompt is the model's chat template rendered with `add_generation_prompt`, `tool` messages
 * passed as user messages (observations come back as user `Observation: {json}` messages, see
 * README), BOS prepended when the tokenizer asks for it and the template did not write it.
 * One KV cache is kept across calls: an agent loop re-sends a growing conversation, so the part
 * of the new prompt that matches the cached ids is kept and only the rest is computed. Calls run
 * one at a time (one decoder, one cache).
 */
export class EngineChatModel implements ChatModel {
  readonly id: string;
  readonly decoder: Decoder;
  readonly tokenizer: Tokenizer;
  /** The Jinja chat template the prompts are rendered with. */
  readonly chatTemplate: string;
  readonly eosIds: readonly number[];
  readonly contextSize: number;
  /** True when the model carries no chat template and is prompted with ChatML (replies then also stop at its end-of-turn text). */
  readonly chatmlFallback: boolean;
  /** How the last call used the cache. */
  lastCacheStats: CacheStats = { reusedTokens: 0, prefilledTokens: 0 };
  private cache: KvCache | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private readonly text: TokenDecoder;

  constructor(parts: EngineModelParts) {
    this.decoder = parts.decoder;
    this.tokenizer = parts.tokenizer;
    this.id = parts.id ?? "engine";
    this.chatTemplate = parts.chatTemplate ?? parts.tokenizer.chatTemplate ?? CHATML_TEMPLATE;
    this.chatmlFallback = parts.chatTemplate === undefined && parts.tokenizer.chatTemplate === undefined;
    this.eosIds = parts.eosIds ?? [...new Set([...parts.decoder.config.eosTokenIds, ...parts.tokenizer.stopIds])];
    const max = parts.decoder.config.maxPositions;
    this.contextSize = parts.contextSize ?? Math.min(max, DEFAULT_CONTEXT);
    if (!Number.isInteger(this.contextSize) || this.contextSize < 2) throw new InvalidInputError(`contextSize must be an integer of at least 2, got ${this.contextSize}`);
    const vocab = parts.tokenizer.vocabSize;
    // Some models' embedding tables are padded past the tokenizer's vocabulary (Qwen2.5); an id in
    // the padding has no text, so it decodes to nothing rather than failing the call.
    this.text = { decode: (ids) => this.tokenizer.decode(ids.some((id) => id >= vocab) ? ids.filter((id) => id < vocab) : ids) };
  }

  /**
   * Loads a `.gguf` file or a Hugging Face folder, tokenizer and chat template from the model's own
   * files, and merges `adapter` (a PEFT folder) into the projections. Throws FileFormatError,
   * UnsupportedModelError, or AdapterMismatchError naming the adapter key that does not fit.
   */
  static load(options: EngineModelOptions): EngineChatModel {
    const backend = options.backend ?? createCpuBackend();
    // a PEFT folder is read before the weights (a bad one fails fast); a GGUF LoRA file needs the
    // model's head counts to be read back, so it waits for the config
    const path = options.adapter;
    const folderAdapter = path !== undefined && !isFile(path) ? readMergeableAdapter(path) : undefined;
    const withAdapter = (weights: Map<string, HostWeight>, config: ModelConfig) => {
      if (path === undefined) return weights;
      let adapter = folderAdapter;
      if (adapter === undefined) {
        const lora = readGgufLora(path, { architecture: config.family, heads: config.numHeads, kvHeads: config.numKvHeads });
        adapter = { adapter: lora, scale: lora.alpha / lora.rank };
      }
      return mergeLora(weights, adapter.adapter, { scale: adapter.scale, source: path });
    };
    const loc: ModelLocation = { kind: isFile(options.model) ? "gguf" : "hf", path: options.model };
    const { tokenizer, chatTemplate, eosTokenIds } = readModelText(loc);
    const host = readHostModel(loc);
    const decoder = Decoder.fromWeights(backend, host.config, withAdapter(host.weights, host.config));
    host.weights.clear();
    const eosIds = [...host.config.eosTokenIds, ...eosTokenIds, ...tokenizer.stopIds];
    return new EngineChatModel({
      decoder,
      tokenizer,
      ...(chatTemplate === undefined ? {} : { chatTemplate }),
      eosIds: [...new Set(eosIds)],
      id: options.model,
      ...(options.contextSize === undefined ? {} : { contextSize: options.contextSize }),
    });
  }

  /** The prompt text for these messages (what LlamaCppModel.renderPrompt gives for the same model). */
  renderPrompt(messages: readonly ChatMessage[]): string {
    const t = this.tokenizer;
    const tokenText = (id: number | undefined) => (id === undefined ? "" : (t.idToToken(id) ?? ""));
    return renderChatTemplate(this.chatTemplate, {
      messages: messages.map((m) => ({ role: m.role === "tool" ? "user" : m.role, content: m.content })),
      add_generation_prompt: true,
      bos_token: tokenText(t.bosId),
      eos_token: tokenText(t.eosId),
    });
  }

  /** The prompt as token ids (special tokens written by the template become their ids). */
  encodePrompt(messages: readonly ChatMessage[]): Int32Array {
    const t = this.tokenizer;
    const ids = t.encode(this.renderPrompt(messages));
    if (t.addBos && t.bosId !== undefined && ids[0] !== t.bosId) ids.unshift(t.bosId);
    return Int32Array.from(ids);
  }

  generate(messages: ChatMessage[], options: GenerateOptions = {}): Promise<GenerateResult> {
    return this.serial(async () => {
      const it = this.run(messages, options);
      for (;;) {
        const r = await it.next();
        if (r.done === true) return r.value;
      }
    });
  }

  /**
   * Streams the reply's text pieces (their concatenation equals `generate`'s text). The call holds
   * the model until the iteration ends; stopping early (break, `return()`) releases it.
   */
  async *stream(messages: ChatMessage[], options: GenerateOptions = {}): AsyncIterable<string> {
    const release = await this.acquire();
    try {
      const it = this.run(messages, options);
      for (;;) {
        const r = await it.next();
        if (r.done === true) return;
        yield r.value;
      }
    } finally {
      release();
    }
  }

  /** Drops the KV cache and refuses further calls. */
  async dispose(): Promise<void> {
    await this.serial(async () => {
      this.disposed = true;
      this.cache = undefined;
    });
  }

  /** One call: reuse the cached prefix, prefill the rest in chunks, then generate. Caller holds the lock. */
  private async *run(messages: ChatMessage[], o: GenerateOptions): AsyncGenerator<string, GenerateResult> {
    if (this.disposed) throw new ModelDisposedError(this.id);
    const prompt = this.encodePrompt(messages);
    if (prompt.length === 0) throw new InvalidInputError("the chat template rendered an empty prompt", { hint: "check the model's chat template" });
    if (prompt.length >= this.contextSize) throw new ContextLengthError(prompt.length, this.contextSize);
    this.cache ??= this.decoder.createCache(this.contextSize);
    const cache = this.cache;
    // Keep the longest common prefix of the cached ids and the prompt, but leave at least the
    // prompt's last token to run: its logits choose the first token of the reply.
    let keep = 0;
    const limit = Math.min(cache.length, prompt.length - 1);
    while (keep < limit && cache.ids[keep] === prompt[keep]) keep++;
    cache.truncate(keep);
    this.lastCacheStats = { reusedTokens: keep, prefilledTokens: prompt.length - keep };
    const usage = (completionTokens: number) => ({ promptTokens: prompt.length, completionTokens });
    for (let at = keep; at < prompt.length - 1; at += PREFILL_CHUNK) {
      if (o.signal?.aborted) return { text: "", finishReason: "abort", usage: usage(0) };
      this.decoder.forward(prompt.subarray(at, Math.min(at + PREFILL_CHUNK, prompt.length - 1)), cache);
      await new Promise<void>((r) => setImmediate(r));
    }
    const it = generateStream(this.decoder, cache, prompt.subarray(prompt.length - 1), this.text, {
      maxTokens: o.maxTokens ?? 256,
      stop: replyStops(o.stop, this.chatmlFallback),
      eosIds: this.eosIds,
      temperature: o.temperature ?? 0,
      ...(o.topP === undefined ? {} : { topP: o.topP }),
      seed: o.seed ?? 0,
      ...(o.signal === undefined ? {} : { signal: o.signal }),
    });
    for (;;) {
      const r = await it.next();
      if (r.done === true) return { text: r.value.text, finishReason: finishReason(r.value.finishReason), usage: usage(r.value.tokens.length) };
      yield r.value;
    }
  }

  /** Waits for the calls before this one; returns the release. */
  private acquire(): Promise<() => void> {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const turn = this.queue.then(() => release);
    this.queue = this.queue.then(() => held);
    return turn;
  }

  private async serial<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

function finishReason(r: FinishReason): GenerateResult["finishReason"] {
  return r === "length" ? "length" : r === "aborted" ? "abort" : "stop";
}
