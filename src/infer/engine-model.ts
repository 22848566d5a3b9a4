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
import { type FinishReason, ReplyState, type TokenDecoder } from "./generate.js";
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
  /** Replies computed together, each with its own KV cache. Default 4. */
  maxBatch?: number;
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
  /** Replies computed together, each with its own KV cache (allocated as concurrent calls need them). Default 4. */
  maxBatch?: number;
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
const DEFAULT_MAX_BATCH = 4;

/** A call waiting for a cache: its prompt, its reply, and whom to tell. */
interface WaitingJob {
  prompt: Int32Array;
  options: GenerateOptions;
  reply: ReplyState;
  onPiece(piece: string): void;
  settle(result: GenerateResult | Error): void;
}

/** A call in flight on its cache. */
interface Job extends WaitingJob {
  cache: KvCache;
  /** Next prompt position to run; the prompt's last token runs with the reply's first step. */
  at: number;
  /** The token to feed next once the reply has begun. */
  next?: number;
}

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
 * KV caches are kept across calls: an agent loop re-sends a growing conversation, so the part of
 * the new prompt that matches a cache's ids is kept and only the rest is computed. Calls made at
 * once are computed together, up to `maxBatch` of them, each on its own cache (the one sharing
 * the longest prefix with its prompt): every step runs one token of each reply, or a prefill chunk,
 * through the decoder in one pass (`Decoder.forwardSegments`), so the weights are read once for all.
 * Further calls wait for a free cache.
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
  readonly maxBatch: number;
  /** One cache per reply computed at once, created as concurrent calls need them. */
  private readonly caches: KvCache[] = [];
  private readonly active: Job[] = [];
  private readonly waiting: WaitingJob[] = [];
  private pumping: Promise<void> | undefined;
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
    this.maxBatch = parts.maxBatch ?? DEFAULT_MAX_BATCH;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) throw new InvalidInputError(`maxBatch must be an integer of at least 1, got ${this.maxBatch}`, { field: "maxBatch" });
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
      ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
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
    return new Promise((resolve, reject) => {
      this.submit(messages, options, () => {}, (r) => (r instanceof Error ? reject(r) : resolve(r)));
    });
  }

  /**
   * Streams the reply's text pieces (their concatenation equals `generate`'s text). Stopping the
   * iteration early (break, `return()`) ends the reply at its next step.
   */
  async *stream(messages: ChatMessage[], options: GenerateOptions = {}): AsyncIterable<string> {
    const pieces: string[] = [];
    let outcome: GenerateResult | Error | undefined;
    let wake: () => void = () => {};
    const stopped = new AbortController();
    const signal = options.signal === undefined ? stopped.signal : AbortSignal.any([options.signal, stopped.signal]);
    this.submit(
      messages,
      { ...options, signal },
      (piece) => {
        pieces.push(piece);
        wake();
      },
      (r) => {
        outcome = r;
        wake();
      },
    );
    try {
      for (;;) {
        while (pieces.length > 0) yield pieces.shift() as string;
        if (outcome instanceof Error) throw outcome;
        if (outcome !== undefined) return;
        await new Promise<void>((r) => {
          wake = r;
        });
      }
    } finally {
      if (outcome === undefined) stopped.abort();
    }
  }

  /** Refuses further calls, waits for those in flight, and frees the KV caches. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.pumping;
    for (const c of this.caches) c.dispose();
    this.caches.length = 0;
  }

  /** Checks and queues one call; `settle` gets its result or its error. */
  private submit(messages: ChatMessage[], o: GenerateOptions, onPiece: (piece: string) => void, settle: (r: GenerateResult | Error) => void): void {
    try {
      if (this.disposed) throw new ModelDisposedError(this.id);
      const prompt = this.encodePrompt(messages);
      if (prompt.length === 0) throw new InvalidInputError("the chat template rendered an empty prompt", { hint: "check the model's chat template" });
      if (prompt.length >= this.contextSize) throw new ContextLengthError(prompt.length, this.contextSize);
      const reply = new ReplyState(this.text, this.generationOptions(o), this.eosIds);
      // the cache is chosen when the call starts (one that frees up by then may share more of the prompt)
      this.waiting.push({ prompt, options: o, reply, onPiece, settle });
      this.pumping ??= this.pump().finally(() => {
        this.pumping = undefined;
      });
    } catch (error) {
      settle(error as Error);
    }
  }

  private generationOptions(o: GenerateOptions) {
    return {
      maxTokens: o.maxTokens ?? 256,
      stop: replyStops(o.stop, this.chatmlFallback),
      eosIds: this.eosIds,
      temperature: o.temperature ?? 0,
      ...(o.topP === undefined ? {} : { topP: o.topP }),
      seed: o.seed ?? 0,
      ...(o.signal === undefined ? {} : { signal: o.signal }),
    };
  }

  /** Starts waiting calls on free caches: the one sharing the longest prefix, or a new one. */
  private admit(): void {
    while (this.waiting.length > 0) {
      const busy = new Set(this.active.map((j) => j.cache));
      const free = this.caches.filter((c) => !busy.has(c));
      if (free.length === 0 && this.caches.length >= this.maxBatch) return;
      const waiting = this.waiting.shift() as WaitingJob;
      const prompt = waiting.prompt;
      // Keep the longest common prefix of a cache's ids and the prompt, but leave at least the
      // prompt's last token to run: its logits choose the first token of the reply.
      const shared = (c: KvCache) => {
        const limit = Math.min(c.length, prompt.length - 1);
        let keep = 0;
        while (keep < limit && c.ids[keep] === prompt[keep]) keep++;
        return keep;
      };
      let best: { cache: KvCache; keep: number } | undefined;
      for (const cache of free) {
        const keep = shared(cache);
        if (best === undefined || keep > best.keep) best = { cache, keep };
      }
      if (best === undefined || (best.keep === 0 && this.caches.length < this.maxBatch)) {
        best = { cache: this.decoder.createCache(this.contextSize), keep: 0 };
        this.caches.push(best.cache);
      }
      const { cache, keep } = best;
      cache.truncate(keep);
      this.lastCacheStats = { reusedTokens: keep, prefilledTokens: prompt.length - keep };
      this.active.push({ ...waiting, cache, at: keep });
    }
  }

  /** Runs steps while calls are in flight: each active call's next prefill chunk or reply token, all in one pass. */
  private async pump(): Promise<void> {
    const usage = (job: Job) => ({ promptTokens: job.prompt.length, completionTokens: job.reply.tokens.length });
    const done = (job: Job, result: GenerateResult | Error) => {
      this.active.splice(this.active.indexOf(job), 1);
      job.settle(result);
    };
    for (;;) {
      this.admit();
      if (this.active.length === 0) return;
      // A call aborted before its reply began ends with no text.
      for (const job of [...this.active]) {
        if (job.next === undefined && job.options.signal?.aborted) done(job, { text: "", finishReason: "abort", usage: usage(job) });
      }
      if (this.active.length === 0) continue;
      const jobs = [...this.active];
      const segments = jobs.map((job) => {
        const last = job.prompt.length - 1;
        if (job.next !== undefined) return { ids: Int32Array.of(job.next), cache: job.cache };
        if (job.at < last) return { ids: job.prompt.subarray(job.at, Math.min(job.at + PREFILL_CHUNK, last)), cache: job.cache };
        return { ids: job.prompt.subarray(last), cache: job.cache };
      });
      let logits: Float32Array[];
      try {
        logits = this.decoder.forwardSegments(segments);
      } catch (error) {
        // the caches of this pass may be half written: drop what they hold
        for (const job of jobs) {
          job.cache.truncate(0);
          done(job, error as Error);
        }
        continue;
      }
      jobs.forEach((job, i) => {
        const last = job.prompt.length - 1;
        if (job.next === undefined && job.at < last) {
          job.at += (segments[i] as { ids: Int32Array }).ids.length;
          return;
        }
        const { piece, next } = job.reply.step(logits[i] as Float32Array, job.cache.length < job.cache.maxTokens);
        if (piece.length > 0) job.onPiece(piece);
        if (next === undefined) {
          const r = job.reply.result();
          done(job, { text: r.text, finishReason: finishReason(r.finishReason), usage: usage(job) });
        } else {
          job.next = next;
        }
      });
      // Let other work (new calls, abort handlers, stream readers) run between steps.
      await new Promise<void>((r) => setImmediate(r));
    }
  }
}

function finishReason(r: FinishReason): GenerateResult["finishReason"] {
  return r === "length" ? "length" : r === "aborted" ? "abort" : "stop";
}
