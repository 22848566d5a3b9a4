import { type IncomingMessage, type Server, type ServerResponse, createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile } from "node:fs/promises";
import { timingSafeEqual } from "node:crypto";
import type { ChatMessage, ChatModel, GenerateOptions, GenerateResult } from "../agent/chat-model.js";
import { ModelCallError } from "../agent/errors.js";
import { streamAgent } from "../agent/run-agent.js";
import { type AgentTools, toAgentTools } from "../agent/tools.js";
import { REACT_STOP } from "../react/render.js";
import type { JsonValue, ToolDefinition } from "../tools/types.js";
import { type MappedReply, estimateTokens, mapReply, toPlainMessages, toReActMessages, toolCallId } from "./chat-mapping.js";
import { HttpError, RequestFieldError, ServerBusyError } from "./errors.js";
import { ModelQueue } from "./queue.js";
import { sendEvent, startEventStream } from "./sse.js";
import { readStatic } from "./static-files.js";
import { type ChatCompletionRequest, DEFAULT_LIMITS, type RequestLimits, parseAgentRunRequest, parseChatCompletionRequest } from "./validate.js";

/** What `createServer` serves. */
export interface ServeOptions {
  /** The served model (with its adapter, when one is given). */
  model: ChatModel;
  /** The name clients see in /v1/models; default the model's id. */
  modelName?: string;
  /** The adapter in use, shown by the demo. */
  adapter?: string;
  /** The base model without the adapter, for the demo's side-by-side comparison. */
  baseModel?: ChatModel;
  /** Tools of /v1/agent/run (a registry or a list of definitions). Default none. */
  tools?: AgentTools | readonly ToolDefinition[];
  /** When set, /v1/* requires `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Requests the model runs at once. Default 1. */
  maxConcurrency?: number;
  /** Requests that may wait for the model; past that a request gets 429. Default 16. */
  maxQueue?: number;
  /** Largest request body, in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  limits?: Partial<RequestLimits>;
  /** Serve the demo page at `/`. Default false. */
  demo?: boolean;
  /** An HTML report served at /report and linked from the demo. */
  reportFile?: string;
  /** Example queries the demo offers. */
  examples?: string[];
  /** The engine name shown by the demo ("llama", "openai", "own"). */
  engine?: string;
  /** Time allowed for one tool call of an agent run, in ms. Default 10 000. */
  toolTimeoutMs?: number;
}

/** A running (or ready) server. */
export interface AgentServer {
  readonly server: Server;
  readonly queue: ModelQueue;
  /** Starts listening; host defaults to 127.0.0.1, port 0 picks a free one. Resolves to the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  /**
   * Stops accepting connections, lets requests in flight finish for up to `graceMs` (default
   * 5000), then aborts the rest and closes every connection.
   */
  close(graceMs?: number): Promise<void>;
}

/** The demo's example queries; the first is the reference's Tokyo question. */
export const DEFAULT_EXAMPLES = [
  "What's the weather in Tokyo? If it's cold, recommend a ramen place.",
  "Convert 250 US dollars to euros.",
  "What is 17% of 2,340?",
  "Book a flight to the moon for tomorrow.",
];

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };
const SECURITY_HEADERS = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" };
const PAGE_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";
const REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'";

/**
 * An OpenAI-compatible server over one ChatModel (Node's own `http`): `GET /v1/models`,
 * `POST /v1/chat/completions` (ReAct Actions come back as `tool_calls`; `stream: true` as
 * server-sent chunks), `POST /v1/agent/run` (the whole agent loop, its events as SSE), and with
 * `demo` the web page at `/`. Every model call goes through one bounded queue; a client that
 * disconnects aborts its generation.
 */
export function createServer(options: ServeOptions): AgentServer {
  const limits: RequestLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const queue = new ModelQueue({ concurrency: options.maxConcurrency ?? 1, maxWaiting: options.maxQueue ?? 16 });
  const tools = toAgentTools(options.tools ?? []);
  const modelName = options.modelName ?? options.model.id;
  const baseName = options.baseModel === undefined ? undefined : `${modelName}:base`;
  const inFlight = new Set<AbortController>();
  const created = Math.floor(Date.now() / 1000);

  const server = createHttpServer({ requestTimeout: 0, headersTimeout: 30_000 }, (req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const controller = new AbortController();
    inFlight.add(controller);
    // The response closing before it finished means the client went away: stop its work.
    res.on("close", () => {
      inFlight.delete(controller);
      if (!res.writableFinished) controller.abort(new Error("client disconnected"));
    });
    handle(req, res, controller.signal).catch((error) => sendError(res, error));
  });

  async function handle(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    if (path.startsWith("/v1/")) checkKey(req);
    const route = `${req.method} ${path}`;
    switch (route) {
      case "GET /health":
        return sendJson(res, 200, { status: "ok", running: queue.running, queued: queue.queued });
      case "GET /v1/models":
        return sendJson(res, 200, {
          object: "list",
          data: [modelName, ...(baseName === undefined ? [] : [baseName])].map((id) => ({ id, object: "model", created, owned_by: "agenttune" })),
        });
      case "GET /v1/demo/info":
        return sendJson(res, 200, info());
      case "POST /v1/chat/completions":
        return chatCompletions(parseChatCompletionRequest(await readJson(req, maxBodyBytes), limits), res, signal);
      case "POST /v1/agent/run":
        return agentRun(await readJson(req, maxBodyBytes), res, signal);
    }
    if (path.startsWith("/v1/")) throw new HttpError(404, `no route ${req.method} ${path}`, { type: "not_found_error" });
    if (req.method === "GET" && path === "/report" && options.reportFile !== undefined) {
      const body = await readFile(options.reportFile);
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-security-policy": REPORT_CSP });
      res.end(body);
      return;
    }
    if (options.demo === true && (req.method === "GET" || req.method === "HEAD")) {
      const file = await readStatic(path);
      if (file !== undefined) {
        res.writeHead(200, { "content-type": file.type, "content-security-policy": PAGE_CSP, "cache-control": "no-cache" });
        res.end(req.method === "HEAD" ? undefined : file.body);
        return;
      }
    }
    throw new HttpError(404, `no route ${req.method} ${path}`, { type: "not_found_error" });
  }

  function info() {
    return {
      model: modelName,
      modelId: options.model.id,
      adapter: options.adapter ?? null,
      base: baseName ?? null,
      engine: options.engine ?? null,
      report: options.reportFile === undefined ? null : "/report",
      examples: options.examples ?? DEFAULT_EXAMPLES,
      limits: { maxSteps: limits.maxSteps, maxTokens: limits.maxTokens },
      tools: tools.list().map((t) => ({ name: t.name, description: t.description, parameters: t.parameters as JsonValue })),
    };
  }

  function checkKey(req: IncomingMessage): void {
    if (options.apiKey === undefined) return;
    const header = req.headers.authorization ?? "";
    const given = Buffer.from(header.startsWith("Bearer ") ? header.slice(7) : "");
    const wanted = Buffer.from(options.apiKey);
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      throw new HttpError(401, "missing or wrong API key", { type: "authentication_error", hint: "send Authorization: Bearer <key>" });
    }
  }

  function pickModel(name: string | undefined): ChatModel {
    return name !== undefined && name === baseName && options.baseModel !== undefined ? options.baseModel : options.model;
  }

  async function chatCompletions(request: ChatCompletionRequest, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const model = pickModel(request.model);
    const withTools = request.tools !== undefined && request.toolChoice !== "none";
    const messages: ChatMessage[] = withTools ? toReActMessages(request.messages, request.tools ?? []) : toPlainMessages(request.messages);
    const generate: GenerateOptions = {
      maxTokens: request.maxTokens ?? Math.min(512, limits.maxTokens),
      temperature: request.temperature ?? 0,
      ...(request.topP === undefined ? {} : { topP: request.topP }),
      ...(request.seed === undefined ? {} : { seed: request.seed }),
      stop: [...(withTools ? REACT_STOP : []), ...(request.stop ?? [])],
      signal,
    };
    const id = `chatcmpl-${toolCallId().slice(5)}`;
    const base = { id, created: Math.floor(Date.now() / 1000), model: request.model ?? modelName };
    const release = await queue.acquire(signal);
    try {
      if (request.stream && !withTools) {
        // Plain chat streams live, piece by piece.
        startEventStream(res);
        const chunk = (delta: Record<string, unknown>, finish: string | null) =>
          sendEvent(res, { ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
        chunk({ role: "assistant", content: "" }, null);
        let text = "";
        let pieces = 0;
        for await (const piece of model.stream(messages, generate)) {
          if (signal.aborted) return;
          text += piece;
          pieces++;
          chunk({ content: piece }, null);
        }
        if (signal.aborted) return;
        const finish = pieces >= (generate.maxTokens ?? Number.POSITIVE_INFINITY) ? "length" : "stop";
        chunk({}, finish);
        if (request.includeUsage) sendEvent(res, { ...base, object: "chat.completion.chunk", choices: [], usage: usage(messages, text, { promptTokens: estimateTokens(messages), completionTokens: pieces }) });
        sendEvent(res, "[DONE]");
        res.end();
        return;
      }
      const result = await model.generate(messages, generate);
      if (signal.aborted || result.finishReason === "abort") return;
      const mapped: MappedReply = withTools ? mapReply(result.text, request.tools ?? []) : { kind: "content", content: result.text };
      const finish = mapped.kind === "tool_call" ? "tool_calls" : result.finishReason === "length" ? "length" : "stop";
      const toolCalls =
        mapped.kind === "tool_call" ? [{ id: toolCallId(), type: "function" as const, function: mapped.call }] : undefined;
      const counts = usage(messages, result.text, result.usage);
      if (!request.stream) {
        return sendJson(res, 200, {
          ...base,
          object: "chat.completion",
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: mapped.content, refusal: null, ...(toolCalls === undefined ? {} : { tool_calls: toolCalls }) },
              logprobs: null,
              finish_reason: finish,
            },
          ],
          usage: counts,
        });
      }
      // A tool-calling reply is known only once complete; it is then sent as OpenAI's chunks.
      startEventStream(res);
      const chunk = (delta: Record<string, unknown>, finishReason: string | null) =>
        sendEvent(res, { ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] });
      chunk({ role: "assistant", content: "" }, null);
      if (mapped.content !== null && mapped.content !== "") chunk({ content: mapped.content }, null);
      if (toolCalls !== undefined) {
        const call = toolCalls[0];
        chunk({ tool_calls: [{ index: 0, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } }] }, null);
        for (let i = 0; i < call.function.arguments.length; i += 32) {
          chunk({ tool_calls: [{ index: 0, function: { arguments: call.function.arguments.slice(i, i + 32) } }] }, null);
        }
      }
      chunk({}, finish);
      if (request.includeUsage) sendEvent(res, { ...base, object: "chat.completion.chunk", choices: [], usage: counts });
      sendEvent(res, "[DONE]");
      res.end();
    } finally {
      release();
    }
  }

  async function agentRun(body: unknown, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const request = parseAgentRunRequest(body, limits);
    if (request.variant === "base" && options.baseModel === undefined) {
      throw new RequestFieldError("variant", "this server has no base model to compare with (start it with an adapter)");
    }
    let offered: AgentTools = tools;
    if (request.tools !== undefined) {
      request.tools.forEach((name, i) => {
        if (!tools.has(name)) throw new RequestFieldError(`tools[${i}]`, `unknown tool "${name}"`);
      });
      const wanted = new Set(request.tools);
      offered = { list: () => tools.list().filter((t) => wanted.has(t.name)), has: (n) => wanted.has(n), execute: (c, o) => tools.execute(c, o) };
    }
    const model = request.variant === "base" ? (options.baseModel as ChatModel) : options.model;
    // A full queue answers 429 before the stream starts.
    if (queue.full) throw new ServerBusyError(queue.retryAfter());
    let release = queue.tryAcquire();
    startEventStream(res);
    const started = performance.now();
    if (release === undefined) {
      sendEvent(res, { type: "queued", position: queue.queued + 1 });
      try {
        release = await queue.acquire(signal);
      } catch {
        res.end();
        return;
      }
    }
    try {
      const queuedMs = performance.now() - started;
      const t0 = performance.now();
      sendEvent(res, {
        type: "start",
        variant: request.variant,
        model: request.variant === "base" ? (baseName ?? modelName) : modelName,
        adapter: request.variant === "base" ? null : (options.adapter ?? null),
        tools: offered.list().map((t) => t.name),
        queuedMs,
        t: 0,
      });
      try {
        for await (const event of streamAgent({
          model,
          tools: offered,
          query: request.query,
          signal,
          toolTimeoutMs: options.toolTimeoutMs ?? 10_000,
          ...(request.maxSteps === undefined ? {} : { maxSteps: request.maxSteps }),
          ...(request.seed === undefined ? {} : { seed: request.seed }),
          ...(request.maxTokens === undefined ? {} : { generate: { maxTokens: request.maxTokens, temperature: 0 } }),
        })) {
          sendEvent(res, { ...event, t: performance.now() - t0 });
        }
      } catch (error) {
        const message = error instanceof ModelCallError ? error.message : error instanceof Error ? error.message : String(error);
        sendEvent(res, { type: "fatal", message, t: performance.now() - t0 });
      }
      sendEvent(res, "[DONE]");
      res.end();
    } finally {
      release();
    }
  }

  return {
    server,
    queue,
    listen(port = 0, host = "127.0.0.1") {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          const address = server.address() as AddressInfo;
          const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
          resolve(`http://${shown}:${address.port}`);
        });
      });
    },
    async close(graceMs = 5000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const controller of inFlight) controller.abort(new Error("server shutting down"));
      server.closeAllConnections();
      await closed;
      await Promise.all([options.model.dispose?.(), options.baseModel?.dispose?.()]);
    },
  };
}

function usage(messages: ChatMessage[], text: string, counted: GenerateResult["usage"]) {
  const prompt = counted?.promptTokens ?? estimateTokens(messages);
  const completion = counted?.completionTokens ?? estimateTokens(text);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { ...JSON_HEADERS, "content-length": String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, error: unknown): void {
  if (res.destroyed) return;
  if (res.headersSent) {
    // Mid-stream: say what happened as an event and end the stream.
    sendEvent(res, { error: { message: error instanceof Error ? error.message : String(error), type: "server_error" } });
    res.end();
    return;
  }
  const http =
    error instanceof HttpError
      ? error
      : new HttpError(500, error instanceof Error ? error.message : String(error), { type: "server_error" });
  sendJson(res, http.status, http.toBody(), http.headers);
}

/** Reads a JSON body of at most `limit` bytes; 413 past it, 400 when it is not JSON. */
async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new HttpError(413, `the request body is ${declared} bytes; at most ${limit} are accepted`, { param: "body", headers: { connection: "close" } });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw new HttpError(413, `the request body exceeds ${limit} bytes`, { param: "body", headers: { connection: "close" } });
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") throw new RequestFieldError("body", "is empty; send a JSON object");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RequestFieldError("body", `is not valid JSON (${(error as Error).message})`);
  }
}
