import type { JsonSchema, JsonValue } from "../tools/types.js";
import { RequestFieldError } from "./errors.js";

/**
 * Validation of request bodies. Each check names the offending field (`messages[2].role`) in a
 * 400, and the numeric bounds (max_tokens, max_steps) come from the server's limits.
 */

/** Bounds the server enforces on requests. */
export interface RequestLimits {
  /** Largest `max_tokens` accepted. Default 2048. */
  maxTokens: number;
  /** Largest `max_steps` accepted by /v1/agent/run. Default 16. */
  maxSteps: number;
  /** Most messages in one chat request. Default 256. */
  maxMessages: number;
  /** Most tools in one chat request. Default 64. */
  maxTools: number;
  /** Longest agent query, in characters. Default 4000. */
  maxQueryChars: number;
}

export const DEFAULT_LIMITS: RequestLimits = { maxTokens: 2048, maxSteps: 16, maxMessages: 256, maxTools: 64, maxQueryChars: 4000 };

/** A message of an OpenAI chat request, as accepted. */
export type RequestMessage =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string | null; tool_calls?: RequestToolCall[] }
  | { role: "tool"; content: string; tool_call_id: string };

export interface RequestToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface RequestTool {
  name: string;
  description: string;
  parameters: JsonSchema;
}

/** A validated `POST /v1/chat/completions` body (the fields the server uses). */
export interface ChatCompletionRequest {
  model?: string;
  messages: RequestMessage[];
  tools?: RequestTool[];
  toolChoice: "auto" | "none";
  stream: boolean;
  includeUsage: boolean;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  stop?: string[];
}

/** A validated `POST /v1/agent/run` body. */
export interface AgentRunRequest {
  query: string;
  maxSteps?: number;
  maxTokens?: number;
  seed?: number;
  /** Names of the configured tools to offer; default all. */
  tools?: string[];
  /** Which model runs it when the server has a base model beside the adapter. */
  variant: "adapter" | "base";
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalNumber(body: Obj, field: string, min: number, max: number, integer: boolean): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) throw new RequestFieldError(field, `must be a number, got ${describe(value)}`);
  if (integer && !Number.isInteger(value)) throw new RequestFieldError(field, `must be an integer, got ${value}`);
  if (value < min || value > max) throw new RequestFieldError(field, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? "a string" : typeof value;
}

/** Message content: a string, or OpenAI's array of `{type: "text", text}` parts (joined). */
function contentText(value: unknown, field: string, nullable: boolean): string | null {
  if (typeof value === "string") return value;
  if ((value === null || value === undefined) && nullable) return null;
  if (Array.isArray(value)) {
    return value
      .map((part, i) => {
        if (!isObject(part) || part.type !== "text" || typeof part.text !== "string") {
          throw new RequestFieldError(`${field}[${i}]`, 'only {"type": "text", "text": "…"} parts are supported');
        }
        return part.text;
      })
      .join("");
  }
  throw new RequestFieldError(field, `must be a string, got ${describe(value)}`);
}

function parseMessage(value: unknown, i: number): RequestMessage {
  const at = `messages[${i}]`;
  if (!isObject(value)) throw new RequestFieldError(at, `must be an object, got ${describe(value)}`);
  const role = value.role;
  if (role === "system" || role === "developer" || role === "user") {
    return { role: role === "developer" ? "system" : role, content: contentText(value.content, `${at}.content`, false) as string };
  }
  if (role === "tool") {
    if (typeof value.tool_call_id !== "string" || value.tool_call_id === "") {
      throw new RequestFieldError(`${at}.tool_call_id`, "a tool message needs the id of the call it answers");
    }
    return { role, content: contentText(value.content, `${at}.content`, false) as string, tool_call_id: value.tool_call_id };
  }
  if (role === "assistant") {
    const content = contentText(value.content, `${at}.content`, true);
    if (value.tool_calls === undefined || value.tool_calls === null) return { role, content };
    if (!Array.isArray(value.tool_calls)) throw new RequestFieldError(`${at}.tool_calls`, "must be an array");
    const calls = value.tool_calls.map((call, j): RequestToolCall => {
      const f = `${at}.tool_calls[${j}]`;
      if (!isObject(call) || !isObject(call.function)) throw new RequestFieldError(f, 'must be {"id", "type": "function", "function": {"name", "arguments"}}');
      if (typeof call.id !== "string") throw new RequestFieldError(`${f}.id`, "must be a string");
      if (typeof call.function.name !== "string" || call.function.name === "") throw new RequestFieldError(`${f}.function.name`, "must be a non-empty string");
      if (typeof call.function.arguments !== "string") throw new RequestFieldError(`${f}.function.arguments`, "must be a JSON string");
      return { id: call.id, type: "function", function: { name: call.function.name, arguments: call.function.arguments } };
    });
    return { role, content, tool_calls: calls };
  }
  throw new RequestFieldError(`${at}.role`, `must be one of system, user, assistant, tool; got ${JSON.stringify(role ?? null)}`);
}

function parseTool(value: unknown, i: number): RequestTool {
  const at = `tools[${i}]`;
  if (!isObject(value) || value.type !== "function" || !isObject(value.function)) {
    throw new RequestFieldError(at, 'must be {"type": "function", "function": {"name", "description", "parameters"}}');
  }
  const f = value.function;
  if (typeof f.name !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(f.name)) {
    throw new RequestFieldError(`${at}.function.name`, "must be 1-64 letters, digits, _ . or -");
  }
  if (f.description !== undefined && typeof f.description !== "string") throw new RequestFieldError(`${at}.function.description`, "must be a string");
  if (f.parameters !== undefined && !isObject(f.parameters)) throw new RequestFieldError(`${at}.function.parameters`, "must be a JSON Schema object");
  return { name: f.name, description: (f.description as string | undefined) ?? "", parameters: (f.parameters as JsonSchema | undefined) ?? { type: "object", properties: {} } };
}

/** Validates a chat completion body; throws `RequestFieldError` naming the first bad field. */
export function parseChatCompletionRequest(body: unknown, limits: RequestLimits = DEFAULT_LIMITS): ChatCompletionRequest {
  if (!isObject(body)) throw new RequestFieldError("body", `must be a JSON object, got ${describe(body)}`);
  if (body.model !== undefined && typeof body.model !== "string") throw new RequestFieldError("model", "must be a string");
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw new RequestFieldError("messages", "must be a non-empty array");
  if (body.messages.length > limits.maxMessages) throw new RequestFieldError("messages", `at most ${limits.maxMessages} messages`);
  const messages = body.messages.map(parseMessage);
  let tools: RequestTool[] | undefined;
  if (body.tools !== undefined && body.tools !== null) {
    if (!Array.isArray(body.tools)) throw new RequestFieldError("tools", "must be an array");
    if (body.tools.length > limits.maxTools) throw new RequestFieldError("tools", `at most ${limits.maxTools} tools`);
    tools = body.tools.map(parseTool);
    if (tools.length === 0) tools = undefined;
  }
  let toolChoice: "auto" | "none" = "auto";
  if (body.tool_choice !== undefined && body.tool_choice !== null) {
    if (body.tool_choice === "none" || body.tool_choice === "auto" || body.tool_choice === "required") toolChoice = body.tool_choice === "none" ? "none" : "auto";
    else if (!isObject(body.tool_choice)) throw new RequestFieldError("tool_choice", 'must be "auto", "none", "required" or an object');
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") throw new RequestFieldError("stream", "must be a boolean");
  let includeUsage = false;
  if (body.stream_options !== undefined && body.stream_options !== null) {
    if (!isObject(body.stream_options)) throw new RequestFieldError("stream_options", "must be an object");
    includeUsage = body.stream_options.include_usage === true;
  }
  const maxTokens = optionalNumber(body, "max_completion_tokens", 1, limits.maxTokens, true) ?? optionalNumber(body, "max_tokens", 1, limits.maxTokens, true);
  const temperature = optionalNumber(body, "temperature", 0, 2, false);
  const topP = optionalNumber(body, "top_p", 0, 1, false);
  const seed = optionalNumber(body, "seed", -(2 ** 53), 2 ** 53, true);
  let stop: string[] | undefined;
  if (body.stop !== undefined && body.stop !== null) {
    const list = typeof body.stop === "string" ? [body.stop] : body.stop;
    if (!Array.isArray(list) || list.length > 4 || !list.every((s) => typeof s === "string" && s !== "")) {
      throw new RequestFieldError("stop", "must be a string or up to 4 non-empty strings");
    }
    stop = list as string[];
  }
  const n = optionalNumber(body, "n", 1, 1, true);
  void n;
  return {
    ...(body.model === undefined ? {} : { model: body.model as string }),
    messages,
    ...(tools === undefined ? {} : { tools }),
    toolChoice,
    stream: body.stream === true,
    includeUsage,
    ...(maxTokens === undefined ? {} : { maxTokens }),
    ...(temperature === undefined ? {} : { temperature }),
    ...(topP === undefined ? {} : { topP }),
    ...(seed === undefined ? {} : { seed }),
    ...(stop === undefined ? {} : { stop }),
  };
}

/** Validates an agent run body. */
export function parseAgentRunRequest(body: unknown, limits: RequestLimits = DEFAULT_LIMITS): AgentRunRequest {
  if (!isObject(body)) throw new RequestFieldError("body", `must be a JSON object, got ${describe(body)}`);
  if (typeof body.query !== "string" || body.query.trim() === "") throw new RequestFieldError("query", "must be a non-empty string");
  if (body.query.length > limits.maxQueryChars) throw new RequestFieldError("query", `at most ${limits.maxQueryChars} characters`);
  const maxSteps = optionalNumber(body, "max_steps", 1, limits.maxSteps, true);
  const maxTokens = optionalNumber(body, "max_tokens", 1, limits.maxTokens, true);
  const seed = optionalNumber(body, "seed", 0, 2 ** 31, true);
  let tools: string[] | undefined;
  if (body.tools !== undefined && body.tools !== null) {
    if (!Array.isArray(body.tools) || !body.tools.every((t) => typeof t === "string")) throw new RequestFieldError("tools", "must be an array of tool names");
    tools = body.tools as string[];
  }
  const variant = body.variant ?? "adapter";
  if (variant !== "adapter" && variant !== "base") throw new RequestFieldError("variant", 'must be "adapter" or "base"');
  return {
    query: body.query,
    ...(maxSteps === undefined ? {} : { maxSteps }),
    ...(maxTokens === undefined ? {} : { maxTokens }),
    ...(seed === undefined ? {} : { seed }),
    ...(tools === undefined ? {} : { tools }),
    variant,
  };
}

/** Parses a tool message's content: JSON when it is JSON, else the text itself. */
export function observationValue(content: string): JsonValue {
  try {
    return JSON.parse(content) as JsonValue;
  } catch {
    return content;
  }
}
