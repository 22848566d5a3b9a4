import type { ChatMessage } from "../agent/chat-model.js";
import { parseReply } from "../react/parse.js";
import { buildSystemPrompt } from "../react/prompt.js";
import { renderObservation, renderReply } from "../react/render.js";
import type { ToolCall } from "../tools/types.js";
import { RequestFieldError } from "./errors.js";
import { type RequestMessage, type RequestTool, observationValue } from "./validate.js";

/**
 * The mapping between OpenAI's tool-calling chat and our ReAct format:
 * - the request's tools become the ReAct system prompt (a request's own system message becomes
 *   its first line);
 * - an assistant message with `tool_calls` becomes one `Thought: …\nAction: {json}` reply per call;
 * - a `tool` message becomes the user message `Observation: {json}`;
 * - the model's reply is parsed: an Action comes back as a `tool_calls` entry, an Answer as the
 *   assistant content.
 */

/** The ReAct conversation for a request with tools. */
export function toReActMessages(messages: readonly RequestMessage[], tools: readonly RequestTool[]): ChatMessage[] {
  const system = messages.filter((m) => m.role === "system").map((m) => m.content as string);
  const out: ChatMessage[] = [
    { role: "system", content: buildSystemPrompt(tools, system.length > 0 ? { intro: system.join("\n") } : {}) },
  ];
  // Calls announced by the last assistant message, waiting for their tool results in order.
  let pending: { id: string; thought: string; call: ToolCall }[] = [];
  const emitCall = (entry: { thought: string; call: ToolCall }) => {
    out.push({ role: "assistant", content: renderReply({ kind: "action", thought: entry.thought, action: entry.call, observation: null }) });
  };
  messages.forEach((m, i) => {
    if (m.role === "system") return;
    if (m.role !== "assistant" && m.role !== "tool") {
      out.push({ role: "user", content: m.content });
      return;
    }
    if (m.role === "assistant") {
      const thought = (m.content ?? "").trim();
      if (m.tool_calls === undefined || m.tool_calls.length === 0) {
        out.push({ role: "assistant", content: renderReply({ kind: "answer", thought: "", answer: thought }) });
        pending = [];
        return;
      }
      pending = m.tool_calls.map((c, j) => ({ id: c.id, thought: j === 0 ? thought : "", call: toCall(c.function, `messages[${i}].tool_calls[${j}].function.arguments`) }));
      emitCall(pending[0]);
      return;
    }
    // A tool result: the Observation of the call it answers (the next pending one when ids do not match).
    // ReAct has one call per reply, so results are taken in the order of the calls.
    const at = pending.findIndex((p) => p.id === m.tool_call_id);
    if (pending.length > 0) pending.splice(Math.max(0, at), 1);
    out.push({ role: "user", content: renderObservation(observationValue(m.content)) });
    if (pending.length > 0) emitCall(pending[0]);
  });
  return out;
}

function toCall(fn: { name: string; arguments: string }, field: string): ToolCall {
  let args: unknown;
  try {
    args = fn.arguments.trim() === "" ? {} : JSON.parse(fn.arguments);
  } catch {
    throw new RequestFieldError(field, "must be a JSON object string");
  }
  if (typeof args !== "object" || args === null || Array.isArray(args)) throw new RequestFieldError(field, "must be a JSON object string");
  return { name: fn.name, arguments: args as ToolCall["arguments"] };
}

/** The plain conversation for a request without tools (tool messages, if any, read as user text). */
export function toPlainMessages(messages: readonly RequestMessage[]): ChatMessage[] {
  return messages.map((m) => {
    if (m.role === "tool") return { role: "user", content: m.content };
    if (m.role === "assistant") {
      const calls = (m.tool_calls ?? []).map((c) => `${c.function.name}(${c.function.arguments})`).join("\n");
      return { role: "assistant", content: [m.content ?? "", calls].filter((s) => s !== "").join("\n") };
    }
    return { role: m.role, content: m.content };
  });
}

/** What a model reply means to an OpenAI client. */
export type MappedReply =
  | { kind: "tool_call"; content: string | null; call: { name: string; arguments: string } }
  | { kind: "content"; content: string };

/**
 * Reads one ReAct reply: an Action that names one of the request's tools becomes a tool call
 * (its Thought the content); an Answer becomes the content; anything else is returned as written.
 */
export function mapReply(text: string, tools: readonly RequestTool[]): MappedReply {
  const parsed = parseReply(text);
  if (parsed.ok && parsed.kind === "answer") return { kind: "content", content: parsed.answer };
  if (parsed.ok && parsed.kind === "action" && tools.some((t) => t.name === parsed.action.name)) {
    return {
      kind: "tool_call",
      content: parsed.thought === "" ? null : parsed.thought,
      call: { name: parsed.action.name, arguments: JSON.stringify(parsed.action.arguments) },
    };
  }
  return { kind: "content", content: text.trim() };
}

/** A fresh tool call id in OpenAI's style. */
export function toolCallId(): string {
  return `call_${Math.random().toString(36).slice(2, 12)}${Date.now().toString(36).slice(-4)}`;
}

/** A rough token count for usage when the engine reports none: about 4 characters a token. */
export function estimateTokens(messages: readonly ChatMessage[] | string): number {
  const text = typeof messages === "string" ? messages : messages.map((m) => m.content).join("\n");
  return Math.ceil(text.length / 4);
}
