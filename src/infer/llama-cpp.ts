import { availableParallelism } from "node:os";
import { Template } from "@huggingface/jinja";
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import type { ChatMessage, ChatModel, GenerateOptions, GenerateResult } from "../agent/chat-model.js";
import { AgentTuneError } from "../errors.js";
import { CHATML_TEMPLATE, replyStops } from "../model/chat-template.js";
import { openGguf } from "../model/gguf.js";

export interface LlamaCppOptions {
  /** Path of a GGUF file. */
  modelPath: string;
  /** A LoRA adapter GGUF applied on top of the model. */
  loraPath?: string;
  /** Context length in tokens (default 4096). */
  contextSize?: number;
  /** "auto" lets node-llama-cpp use a GPU when a prebuilt binary for it exists (default false: CPU). */
  gpu?: false | "auto";
  /** CPU threads (default: the cores this process may use). */
  threads?: number;
}

/** node-llama-cpp could not load the model or generate. */
export class LlamaCppError extends AgentTuneError {}


/**
 * A ChatModel over node-llama-cpp v3 for a GGUF file, on the CPU by default.
 *
 * The prompt is rendered with the GGUF's own Jinja chat template (`tokenizer.chat_template`,
 * through @huggingface/jinja) and run as a raw completion, rather than through node-llama-cpp's
 * LlamaChat: that keeps the exact ReAct turns (no function-calling wrapper, no history
 * rewriting) and renders the same prompt text our own engine and the dataset builder use.
 * The model loads once; each call takes the context's one sequence, so calls run one at a time.
 */
export class LlamaCppModel implements ChatModel {
  readonly id: string;
  private loaded: Promise<{ llama: Llama; model: LlamaModel; context: LlamaContext; sequence: LlamaContextSequence; template: Template; chatmlFallback: boolean }> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: LlamaCppOptions) {
    this.id = options.modelPath;
  }

  private load() {
    this.loaded ??= (async () => {
      // our own reader first: a truncated or foreign file gets an error naming what is wrong with
      // it (node-llama-cpp says only "Failed to load model", or worse)
      for (const file of [this.options.modelPath, this.options.loraPath]) if (file !== undefined) openGguf(file).close();
      try {
        const { getLlama } = await import("node-llama-cpp");
        const llama = await getLlama({ gpu: this.options.gpu ?? false, build: "never" });
        const model = await llama.loadModel({ modelPath: this.options.modelPath });
        const context = await model.createContext({
          contextSize: this.options.contextSize ?? 4096,
          sequences: 1,
          // node-llama-cpp's default asks for more threads than a small machine has cores, which
          // oversubscribes it (601 prompt tokens: 7.8 s with its default of 4 threads on 2 cores, 2.4 s with 2)
          threads: this.options.threads ?? availableParallelism(),
          ...(this.options.loraPath ? { lora: this.options.loraPath } : {}),
        });
        const source = model.fileInfo.metadata.tokenizer?.chat_template;
        const chatmlFallback = !(typeof source === "string" && source);
        const template = new Template(chatmlFallback ? CHATML_TEMPLATE : (source as string));
        // One sequence for the model's life: each call evaluates only the tokens past the prefix
        // it shares with the last (an agent's growing conversation, the same system prompt).
        const sequence = context.getSequence();
        return { llama, model, context, sequence, template, chatmlFallback };
      } catch (error) {
        throw new LlamaCppError(`cannot load ${this.options.modelPath}: ${(error as Error).message}`, {
          hint: "check the GGUF path (and the LoRA path); node-llama-cpp needs a prebuilt binary for this platform",
          cause: error,
        });
      }
    })();
    return this.loaded;
  }

  /** The prompt text for these messages, rendered with the model's chat template. */
  async renderPrompt(messages: ChatMessage[]): Promise<string> {
    const { model, template } = await this.load();
    const tokenText = (t: number | null) => (t === null ? "" : model.detokenize([t as never], true));
    return template.render({
      messages: messages.map((m) => ({ role: m.role === "tool" ? "user" : m.role, content: m.content })),
      add_generation_prompt: true,
      bos_token: tokenText(model.tokens.bos),
      eos_token: tokenText(model.tokens.eos),
    });
  }

  private async run(messages: ChatMessage[], o: GenerateOptions, onText?: (t: string) => void): Promise<GenerateResult> {
    const { model, sequence, chatmlFallback } = await this.load();
    const prompt = await this.renderPrompt(messages);
    let tokens = model.tokenize(prompt, true);
    const bos = model.tokens.bos;
    if (bos !== null && model.tokens.shouldPrependBosToken && tokens[0] !== bos) tokens = [bos, ...tokens];
    const { LlamaCompletion } = await import("node-llama-cpp");
    const completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
    try {
      const stop = replyStops(o.stop, chatmlFallback);
      const temperature = o.temperature ?? 0;
      const res = await completion.generateCompletionWithMeta(tokens, {
        maxTokens: o.maxTokens ?? 256,
        temperature,
        ...(temperature > 0 && o.topP !== undefined ? { topP: o.topP } : {}),
        ...(temperature > 0 && o.seed !== undefined ? { seed: o.seed } : {}),
        ...(stop.length ? { customStopTriggers: stop } : {}),
        ...(o.signal ? { signal: o.signal, stopOnAbortSignal: true } : {}),
        ...(onText ? { onTextChunk: onText } : {}),
      });
      const reason = res.metadata.stopReason;
      return {
        text: res.response,
        finishReason: reason === "maxTokens" ? "length" : reason === "abort" ? "abort" : "stop",
      };
    } finally {
      completion.dispose({ disposeSequence: false });
    }
  }

  /** Runs calls one after another: the context has one sequence. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  generate(messages: ChatMessage[], options: GenerateOptions = {}): Promise<GenerateResult> {
    return this.serial(() => this.run(messages, options));
  }

  async *stream(messages: ChatMessage[], options: GenerateOptions = {}): AsyncIterable<string> {
    const pieces: string[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    let failure: unknown;
    const done = this.serial(() =>
      this.run(messages, options, (t) => {
        pieces.push(t);
        wake?.();
      }),
    ).then(
      () => {
        finished = true;
        wake?.();
      },
      (e) => {
        failure = e;
        finished = true;
        wake?.();
      },
    );
    while (true) {
      if (pieces.length) {
        yield pieces.shift() as string;
        continue;
      }
      if (finished) break;
      await new Promise<void>((r) => {
        wake = r;
      });
      wake = undefined;
    }
    await done;
    if (failure) throw failure;
  }

  async dispose(): Promise<void> {
    if (!this.loaded) return;
    const loaded = this.loaded;
    this.loaded = undefined;
    let parts: Awaited<typeof loaded>;
    try {
      parts = await loaded;
    } catch {
      return; // a load that failed holds nothing to free
    }
    const { llama, model, context, sequence } = parts;
    sequence.dispose();
    await context.dispose();
    await model.dispose();
    await llama.dispose();
  }
}
