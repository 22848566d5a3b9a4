import type { ChatMessage, ChatModel, GenerateOptions, GenerateResult } from "../agent/chat-model.js";
import { AgentTuneError } from "../errors.js";

/** A chat server answered with an error, bad JSON, or not at all, after the last try. */
export class ModelServerError extends AgentTuneError {
  /** HTTP status, or undefined for network errors and timeouts. */
  readonly status: number | undefined;
  readonly url: string;
  /** The first characters of the response body, if any. */
  readonly bodyExcerpt: string;
  constructor(options: { url: string; status?: number; body?: string; problem: string; hint?: string; cause?: unknown }) {
    const excerpt = (options.body ?? "").slice(0, 300);
    const status = options.status === undefined ? "" : ` (HTTP ${options.status})`;
    super(`${options.url}${status}: ${options.problem}${excerpt ? ` — ${excerpt}` : ""}`, {
      hint: options.hint ?? "check --base-url, --api-key and that the server is running",
      cause: options.cause,
    });
    this.status = options.status;
    this.url = options.url;
    this.bodyExcerpt = excerpt;
  }
}

export interface OpenAICompatibleOptions {
  /** e.g. "http://127.0.0.1:8000/v1" (the "/chat/completions" path is appended). */
  baseURL: string;
  /** Server-side model name. */
  model: string;
  /** Defaults to $OPENAI_API_KEY; omitted from requests when absent. */
  apiKey?: string;
  /** Milliseconds for one whole request (default 120000). */
  timeoutMs?: number;
  /** Tries in all, including the first (default 4). */
  maxTries?: number;
  /** Base back-off in ms (default 500); doubles per try, with jitter. */
  backoffMs?: number;
}

/** Cuts `text` before the earliest stop string; returns undefined when none occurs. */
function cutAtStop(text: string, stop: string[]): string | undefined {
  let best = -1;
  for (const s of stop) {
    if (!s) continue;
    const i = text.indexOf(s);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best < 0 ? undefined : text.slice(0, best);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });

/**
 * A ChatModel over any OpenAI-compatible `/v1/chat/completions` server, with plain fetch.
 * Stop strings go to the server and are also enforced here, since servers differ.
 */
export class OpenAICompatibleModel implements ChatModel {
  readonly id: string;
  private readonly url: string;
  private readonly apiKey: string | undefined;

  constructor(private readonly options: OpenAICompatibleOptions) {
    this.url = `${options.baseURL.replace(/\/+$/, "")}/chat/completions`;
    this.apiKey = options.apiKey ?? process.env.OPENAI_API_KEY;
    this.id = `openai:${options.model}`;
  }

  private body(messages: ChatMessage[], o: GenerateOptions, stream: boolean): string {
    const stop = (o.stop ?? []).filter((s) => s).slice(0, 4);
    return JSON.stringify({
      model: this.options.model,
      messages,
      stream,
      ...(stop.length ? { stop } : {}),
      ...(o.maxTokens !== undefined ? { max_tokens: o.maxTokens } : {}),
      ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
      ...(o.topP !== undefined ? { top_p: o.topP } : {}),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
    });
  }

  /** POSTs with retries on 429/5xx/network errors; returns the first OK response. */
  private async post(body: string, signal: AbortSignal | undefined): Promise<Response> {
    const tries = this.options.maxTries ?? 4;
    const base = this.options.backoffMs ?? 500;
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 120_000);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let last: ModelServerError | undefined;
    for (let attempt = 0; attempt < tries; attempt++) {
      let wait = base * 2 ** attempt * (0.5 + Math.random() / 2);
      try {
        const res = await fetch(this.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
          },
          body,
          signal: combined,
        });
        if (res.ok) return res;
        const text = await res.text().catch(() => "");
        last = new ModelServerError({ url: this.url, status: res.status, body: text, problem: "request failed" });
        if (res.status !== 429 && res.status < 500) throw last;
        const ra = Number(res.headers.get("retry-after"));
        if (Number.isFinite(ra) && ra >= 0 && res.headers.get("retry-after") !== null) wait = ra * 1000;
      } catch (e) {
        if (e instanceof ModelServerError) throw e;
        if (signal?.aborted) throw signal.reason;
        if (timeout.aborted)
          throw new ModelServerError({ url: this.url, problem: "timed out", hint: "raise the timeout or check the server", cause: e });
        last = new ModelServerError({ url: this.url, problem: `network error: ${(e as Error).message}`, cause: e });
      }
      if (attempt + 1 < tries) await sleep(wait, combined);
    }
    throw last as ModelServerError;
  }

  async generate(messages: ChatMessage[], options: GenerateOptions = {}): Promise<GenerateResult> {
    const res = await this.post(this.body(messages, options, false), options.signal);
    const raw = await res.text();
    let json: {
      choices?: { message?: { content?: string }; finish_reason?: string }[];
      usage?: { prompt_tokens: number; completion_tokens: number };
    };
    try {
      json = JSON.parse(raw);
    } catch (e) {
      throw new ModelServerError({ url: this.url, status: res.status, body: raw, problem: "response is not JSON", cause: e });
    }
    const choice = json.choices?.[0];
    if (typeof choice?.message?.content !== "string")
      throw new ModelServerError({ url: this.url, status: res.status, body: raw, problem: "no choices[0].message.content" });
    const cut = cutAtStop(choice.message.content, options.stop ?? []);
    return {
      text: cut ?? choice.message.content,
      finishReason: cut !== undefined || choice.finish_reason !== "length" ? "stop" : "length",
      ...(json.usage ? { usage: { promptTokens: json.usage.prompt_tokens, completionTokens: json.usage.completion_tokens } } : {}),
    };
  }

  async *stream(messages: ChatMessage[], options: GenerateOptions = {}): AsyncIterable<string> {
    const res = await this.post(this.body(messages, options, true), options.signal);
    if (!res.body) throw new ModelServerError({ url: this.url, status: res.status, problem: "empty stream" });
    const stop = options.stop ?? [];
    const hold = Math.max(0, ...stop.map((s) => s.length - 1));
    const decoder = new TextDecoder();
    let lineBuf = "";
    let text = "";
    let emitted = 0;
    for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
      lineBuf += decoder.decode(bytes, { stream: true });
      const lines = lineBuf.split("\n");
      lineBuf = lines.pop() ?? "";
      for (const line of lines) {
        const l = line.trim();
        if (!l.startsWith("data:")) continue;
        const data = l.slice(5).trim();
        if (data === "[DONE]") {
          if (emitted < text.length) yield text.slice(emitted);
          return;
        }
        let piece: string | undefined;
        try {
          piece = JSON.parse(data).choices?.[0]?.delta?.content;
        } catch (e) {
          throw new ModelServerError({ url: this.url, body: data, problem: "bad JSON in stream", cause: e });
        }
        if (!piece) continue;
        text += piece;
        const cut = cutAtStop(text, stop);
        if (cut !== undefined) {
          if (emitted < cut.length) yield cut.slice(emitted);
          return;
        }
        // Hold back a tail that could be the start of a stop string.
        const safe = text.length - hold;
        if (safe > emitted) {
          yield text.slice(emitted, safe);
          emitted = safe;
        }
      }
    }
    if (emitted < text.length) yield text.slice(emitted);
  }
}
