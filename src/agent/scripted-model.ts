import { AgentTuneError } from "../errors.js";
import type { ChatMessage, ChatModel, GenerateOptions, GenerateResult } from "./chat-model.js";

/** What the scripted model does on one call: reply with text, hang, or fail. */
export type ScriptedTurn =
  | string
  | { reply: string }
  /**
   * Streams `partial` (if any), then produces nothing more; ends only when the call's signal
   * aborts (never, with `ignoreSignal`).
   */
  | { hang: true; partial?: string; ignoreSignal?: boolean }
  /** Streams `partial` (if any), then throws `error`. */
  | { error: Error; partial?: string };

export interface ScriptedModelOptions {
  /** One turn per call, in order, or a function of the messages and the 0-based call index. */
  script: readonly ScriptedTurn[] | ((messages: ChatMessage[], call: number) => ScriptedTurn);
  id?: string;
  /** Characters per streamed piece; one piece counts as one token for `maxTokens`. Default 4. */
  chunkSize?: number;
}

/** One call the scripted model received. */
export interface ScriptedCall {
  messages: ChatMessage[];
  options: GenerateOptions;
}

/** The scripted model was called more times than it has turns. */
export class ScriptExhaustedError extends AgentTuneError {
  constructor(calls: number) {
    super(`the scripted model has no turn left for call ${calls + 1}`, {
      hint: "give the ScriptedModel one turn per model call the test makes",
    });
  }
}

/**
 * A `ChatModel` for tests: it replies from a script, honours stop strings (the reply is cut
 * before the first one, finish reason "stop") and `maxTokens` (counting one streamed piece of
 * `chunkSize` characters as a token, finish reason "length"), streams in small pieces with a
 * turn of the event loop between them (so cancellation mid-reply is observable), records every
 * call, and can hang or throw on cue.
 */
export class ScriptedModel implements ChatModel {
  readonly id: string;
  /** Every call received, in order (messages copied). */
  readonly calls: ScriptedCall[] = [];
  private readonly options: ScriptedModelOptions;

  constructor(options: ScriptedModelOptions | readonly ScriptedTurn[]) {
    this.options = Array.isArray(options) ? { script: options } : (options as ScriptedModelOptions);
    this.id = this.options.id ?? "scripted";
  }

  async generate(messages: ChatMessage[], options: GenerateOptions = {}): Promise<GenerateResult> {
    let text = "";
    let finishReason: GenerateResult["finishReason"] = "stop";
    const pieces = this.pieces(messages, options, (reason) => {
      finishReason = reason;
    });
    for await (const piece of pieces) text += piece;
    return { text, finishReason };
  }

  stream(messages: ChatMessage[], options: GenerateOptions = {}): AsyncIterable<string> {
    return this.pieces(messages, options, () => {});
  }

  private async *pieces(
    messages: ChatMessage[],
    options: GenerateOptions,
    finish: (reason: GenerateResult["finishReason"]) => void,
  ): AsyncGenerator<string> {
    const index = this.calls.length;
    this.calls.push({ messages: messages.map((m) => ({ ...m })), options: { ...options } });
    const script = this.options.script;
    let turn: ScriptedTurn | undefined;
    if (typeof script === "function") turn = script(messages, index);
    else turn = script[index];
    if (turn === undefined) throw new ScriptExhaustedError(index);
    const signal = options.signal;

    const size = Math.max(1, this.options.chunkSize ?? 4);
    if (typeof turn === "object" && "hang" in turn) {
      const partial = turn.partial ?? "";
      for (let i = 0; i < partial.length && !signal?.aborted; i += size) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        yield partial.slice(i, i + size);
      }
      await new Promise<void>((resolve) => {
        if (turn.ignoreSignal || signal === undefined) return;
        if (signal.aborted) resolve();
        else signal.addEventListener("abort", () => resolve(), { once: true });
      });
      finish("abort");
      return;
    }

    const full = typeof turn === "string" ? turn : "reply" in turn ? turn.reply : (turn.partial ?? "");
    let text = full;
    let reason: GenerateResult["finishReason"] = "stop";
    for (const stop of options.stop ?? []) {
      const at = stop === "" ? -1 : text.indexOf(stop);
      if (at >= 0) text = text.slice(0, at);
    }
    const maxTokens = options.maxTokens;
    if (maxTokens !== undefined && text.length > maxTokens * size) {
      text = text.slice(0, Math.max(0, maxTokens) * size);
      reason = "length";
    }
    for (let i = 0; i < text.length; i += size) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (signal?.aborted) {
        finish("abort");
        return;
      }
      yield text.slice(i, i + size);
    }
    if (typeof turn === "object" && "error" in turn) throw turn.error;
    finish(reason);
  }
}
