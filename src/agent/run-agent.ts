import { canonicalJson } from "../react/json.js";
import { observationIndex, parseReply } from "../react/parse.js";
import { buildSystemPrompt } from "../react/prompt.js";
import { REACT_STOP, renderObservation, renderReply } from "../react/render.js";
import type { FailureKind, ReActStep } from "../react/types.js";
import type { JsonValue, ToolCall, ToolDefinition } from "../tools/types.js";
import type { ChatMessage, ChatModel, GenerateOptions } from "./chat-model.js";
import { ModelCallError } from "./errors.js";
import { type AgentTools, toAgentTools } from "./tools.js";
import type { AgentEvent, AgentResult, AgentStatus } from "./types.js";

/**
 * The ReAct runtime: model + tools → a stream of events and a trajectory.
 *
 * Each step renders the conversation (system prompt, query, one assistant message per reply,
 * `Observation: {json}` user messages; see src/react/render.ts), asks the model for one reply
 * (stopping at `\nObservation:`), parses it, and either ends with the Answer or executes the call
 * and appends its Observation. A reply that parsed goes back into the conversation re-rendered
 * in the canonical format, so the model always conditions on the format it is trained on and the
 * messages equal `renderMessages(result.trajectory)`; a reply that did not parse goes back as
 * written (cut before any `Observation:` it wrote).
 *
 * Failures (SPECS §1), and what the runtime does about them:
 * - malformed_action, unknown_tool, invalid_arguments, tool_error: reported back to the model as
 *   `Observation: {"error": "…"}`; the episode goes on (an `error` event with `recovered: true`).
 *   A call that failed this way is still a step of the trajectory, with that error observation.
 * - loop: a reply repeats the call (same name, same arguments in any key order) of the reply just
 *   before it: the second identical back-to-back call ends the episode, without executing it.
 * - no_answer: a reply with neither an Action nor an Answer ends the episode.
 * - step_limit: `maxSteps` replies passed without an Answer.
 * - aborted: `signal` fired; the model and the tool in flight get the signal.
 * - a model that throws or runs past `modelTimeoutMs` is not an agent failure: `ModelCallError`
 *   propagates, carrying the episode so far.
 */
export interface AgentOptions {
  model: ChatModel;
  /** A tool registry, or a plain list of tool definitions. */
  tools: AgentTools | readonly ToolDefinition[];
  query: string;
  /** Model replies allowed before the episode ends with `step_limit`. Default 8. */
  maxSteps?: number;
  /** Seed of the tool simulators. Default 0. */
  seed?: number;
  signal?: AbortSignal;
  /** Time allowed for one model reply, in ms. Default: none. */
  modelTimeoutMs?: number;
  /** Time allowed for one tool call, in ms; past it the call is a tool_error. Default: none. */
  toolTimeoutMs?: number;
  /** Generation settings. Defaults: temperature 0, maxTokens 256; the ReAct stop string is always added. */
  generate?: Omit<GenerateOptions, "signal">;
  /** Replaces the system prompt built from the tools (`buildSystemPrompt`). */
  systemPrompt?: string;
}

/** `runAgent`'s options: `AgentOptions` plus a callback for each event as it happens. */
export interface RunAgentOptions extends AgentOptions {
  onEvent?: (event: AgentEvent) => void;
}

/** Default generation settings of the runtime. */
export const DEFAULT_AGENT_GENERATE: Readonly<Omit<GenerateOptions, "signal">> = { temperature: 0, maxTokens: 256 };

const DEFAULT_MAX_STEPS = 8;

/** Runs one episode and returns its result; `onEvent` sees every event in order. */
export async function runAgent(options: RunAgentOptions): Promise<AgentResult> {
  for await (const event of streamAgent(options)) {
    options.onEvent?.(event);
    if (event.type === "done") return event.result;
  }
  // streamAgent always ends with a done event; this line is only reached if that breaks.
  throw new Error("streamAgent ended without a done event");
}

/**
 * Runs one episode as a stream of events; the last one is `done` with the result. Throws
 * `ModelCallError` when the model fails (see above); never throws on what the model writes.
 */
export async function* streamAgent(options: AgentOptions): AsyncGenerator<AgentEvent, void, undefined> {
  const started = performance.now();
  const tools = toAgentTools(options.tools);
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  const seed = options.seed ?? 0;
  const signal = options.signal;
  const generate: GenerateOptions = {
    ...DEFAULT_AGENT_GENERATE,
    ...options.generate,
    stop: [...REACT_STOP, ...(options.generate?.stop ?? []).filter((s) => !REACT_STOP.includes(s))],
  };
  const systemPrompt = options.systemPrompt ?? buildSystemPrompt(tools.list());
  const messages: ChatMessage[] = [
    { role: "system", content: systemPrompt },
    { role: "user", content: options.query },
  ];
  const steps: ReActStep[] = [];
  const toolCalls: ToolCall[] = [];
  const failures: AgentResult["failures"] = [];
  const rawReplies: string[] = [];
  let replies = 0;

  const result = (status: AgentStatus, answer?: string): AgentResult => ({
    status,
    ...(answer === undefined ? {} : { answer }),
    trajectory: { query: options.query, steps: [...steps] },
    toolCalls: [...toolCalls],
    failures: [...failures],
    steps: replies,
    messages: messages.map((m) => ({ ...m })),
    rawReplies: [...rawReplies],
    elapsedMs: performance.now() - started,
  });
  const failure = (kind: FailureKind, step: number, message: string, recovered: boolean, raw?: string): AgentEvent => {
    failures.push({ kind, step, message });
    return { type: "error", step, kind, message, recovered, ...(raw === undefined ? {} : { raw }) };
  };

  let previousCall: string | undefined;
  for (let step = 1; step <= maxSteps; step++) {
    if (signal?.aborted) {
      yield { type: "done", result: result("aborted") };
      return;
    }
    const reply = await callModel(options.model, messages, generate, signal, options.modelTimeoutMs);
    if (reply.kind === "aborted") {
      yield { type: "done", result: result("aborted") };
      return;
    }
    if (reply.kind !== "text") {
      throw new ModelCallError({
        modelId: options.model.id,
        step,
        timedOut: reply.kind === "timeout",
        timeoutMs: options.modelTimeoutMs,
        partial: result("aborted"),
        cause: reply.kind === "error" ? reply.error : undefined,
      });
    }
    replies = step;
    rawReplies.push(reply.text);
    const parsed = parseReply(reply.text);
    if (parsed.thought !== "") yield { type: "thought", step, text: parsed.thought };

    if (!parsed.ok) {
      messages.push({ role: "assistant", content: cleanReply(reply.text) });
      if (parsed.kind === "no_answer") {
        yield failure("no_answer", step, parsed.message, false, reply.text);
        yield { type: "done", result: result("no_answer") };
        return;
      }
      yield failure("malformed_action", step, parsed.message, true, reply.text);
      messages.push({ role: "user", content: renderObservation({ error: parsed.message }) });
      previousCall = undefined;
      continue;
    }

    if (parsed.kind === "answer") {
      const answerStep: ReActStep = { kind: "answer", thought: parsed.thought, answer: parsed.answer };
      steps.push(answerStep);
      messages.push({ role: "assistant", content: renderReply(answerStep) });
      yield { type: "answer", step, text: parsed.answer };
      yield { type: "done", result: result("answered", parsed.answer) };
      return;
    }

    const call = parsed.action;
    const known = tools.has(call.name);
    if (known) toolCalls.push(call);
    yield { type: "action", step, call };
    const key = `${call.name}\u0000${canonicalJson(call.arguments)}`;
    if (key === previousCall) {
      messages.push({ role: "assistant", content: renderReply({ kind: "action", thought: parsed.thought, action: call, observation: null }) });
      yield failure("loop", step, `the call ${call.name} repeats the previous step's call with the same arguments`, false);
      yield { type: "done", result: result("loop") };
      return;
    }
    previousCall = key;

    const toolStarted = performance.now();
    const outcome = known
      ? await callTool(tools, call, { seed, signal, timeoutMs: options.toolTimeoutMs })
      : ({ kind: "failed", failure: "unknown_tool", message: unknownToolMessage(call.name, tools) } as const);
    if (outcome.kind === "aborted") {
      messages.push({ role: "assistant", content: renderReply({ kind: "action", thought: parsed.thought, action: call, observation: null }) });
      yield { type: "done", result: result("aborted") };
      return;
    }
    const observation = observationOf(outcome);
    const actionStep: ReActStep = { kind: "action", thought: parsed.thought, action: call, observation };
    steps.push(actionStep);
    messages.push({ role: "assistant", content: renderReply(actionStep) });
    messages.push({ role: "user", content: renderObservation(observation) });
    if (outcome.kind === "ok") {
      yield { type: "observation", step, call, observation, elapsedMs: performance.now() - toolStarted };
    } else {
      yield failure(outcome.failure, step, outcome.message, true);
    }
  }
  yield failure("step_limit", replies, `no Answer after ${maxSteps} model replies`, false);
  yield { type: "done", result: result("step_limit") };
}

/** The reply as it goes back into the conversation when it did not parse. */
function cleanReply(text: string): string {
  const at = observationIndex(text);
  return (at >= 0 ? text.slice(0, at) : text).trimEnd();
}

function unknownToolMessage(name: string, tools: AgentTools): string {
  const names = tools.list().map((t) => t.name);
  return names.length === 0
    ? `unknown tool "${name}": no tools are available`
    : `unknown tool "${name}"; the available tools are: ${names.join(", ")}`;
}

type ModelReply = { kind: "text"; text: string } | { kind: "aborted" } | { kind: "timeout" } | { kind: "error"; error: unknown };

/**
 * One model reply, streamed and collected. Stops reading at an `Observation:` line (in case the
 * model ignores the stop string), after `timeoutMs`, or when `signal` fires; the model's call gets
 * a signal that fires in both cases, and the runtime does not wait for a model that ignores it.
 */
async function callModel(
  model: ChatModel,
  messages: ChatMessage[],
  generate: GenerateOptions,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
): Promise<ModelReply> {
  const bound = boundSignal(signal, timeoutMs);
  let iterator: AsyncIterator<string> | undefined;
  let text = "";
  try {
    if (bound.signal.aborted) return bound.timedOut() ? { kind: "timeout" } : { kind: "aborted" };
    iterator = model.stream(messages.map((m) => ({ ...m })), { ...generate, signal: bound.signal })[Symbol.asyncIterator]();
    for (;;) {
      const next = await Promise.race([iterator.next(), bound.fired]);
      if (next === ABORTED) break;
      if (next.done) break;
      text += next.value;
      if (observationIndex(text) >= 0) break;
    }
  } catch (error) {
    if (!bound.signal.aborted) return { kind: "error", error };
  } finally {
    bound.dispose();
    // Tell the model to stop generating; a hung iterator must not hold the runtime.
    try {
      iterator?.return?.().catch(() => {});
    } catch {
      // a model whose iterator cannot be closed is simply left behind
    }
  }
  if (bound.signal.aborted) return bound.timedOut() ? { kind: "timeout" } : { kind: "aborted" };
  return { kind: "text", text };
}

/** How one tool call ended. */
export type ToolOutcome =
  | { kind: "ok"; observation: JsonValue }
  | { kind: "failed"; failure: "unknown_tool" | "invalid_arguments" | "tool_error"; message: string }
  | { kind: "aborted" };

/**
 * The Observation the runtime shows the model after a call that ran or failed: the tool's value,
 * or `{"error": message}` (the data builder's recovery trajectories take their error text here).
 */
export function observationOf(outcome: Exclude<ToolOutcome, { kind: "aborted" }>): JsonValue {
  return outcome.kind === "ok" ? outcome.observation : { error: outcome.message };
}

/** Executes one call with the seed, the run's signal and the per-call timeout. */
export async function callTool(
  tools: AgentTools,
  call: ToolCall,
  options: { seed: number; signal: AbortSignal | undefined; timeoutMs: number | undefined },
): Promise<ToolOutcome> {
  const bound = boundSignal(options.signal, options.timeoutMs);
  try {
    const run = tools.execute(call, { seed: options.seed, signal: bound.signal, timeoutMs: options.timeoutMs });
    const value = await Promise.race([run, bound.fired]);
    if (value !== ABORTED) return { kind: "ok", observation: value };
  } catch (error) {
    // A tool that throws because the signal fired is handled below like one that ignored it.
    if (!bound.signal.aborted) {
      return { kind: "failed", failure: classifyToolError(error), message: error instanceof Error ? error.message : String(error) };
    }
  } finally {
    bound.dispose();
  }
  if (options.signal?.aborted) return { kind: "aborted" };
  return { kind: "failed", failure: "tool_error", message: `tool ${call.name} timed out after ${options.timeoutMs} ms` };
}

/** Maps the registry's errors onto failure kinds by their class name. */
function classifyToolError(error: unknown): "unknown_tool" | "invalid_arguments" | "tool_error" {
  const name = error instanceof Error ? error.name : "";
  if (name === "UnknownToolError") return "unknown_tool";
  if (name === "ToolArgumentsError") return "invalid_arguments";
  return "tool_error";
}

const ABORTED: unique symbol = Symbol("aborted");

/**
 * A signal that fires when `outer` fires or `timeoutMs` passes, and a promise that resolves to
 * ABORTED at that moment (to race against work that ignores signals).
 */
function boundSignal(outer: AbortSignal | undefined, timeoutMs: number | undefined) {
  const controller = new AbortController();
  let timedOut = false;
  let resolveFired: (v: typeof ABORTED) => void = () => {};
  const fired = new Promise<typeof ABORTED>((resolve) => {
    resolveFired = resolve;
  });
  const onAbort = () => {
    controller.abort(outer?.reason);
    resolveFired(ABORTED);
  };
  if (outer?.aborted) onAbort();
  else outer?.addEventListener("abort", onAbort, { once: true });
  const timer =
    timeoutMs === undefined || controller.signal.aborted
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, "TimeoutError"));
          resolveFired(ABORTED);
        }, timeoutMs);
  return {
    signal: controller.signal,
    fired,
    timedOut: () => timedOut && !outer?.aborted,
    dispose: () => {
      if (timer !== undefined) clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    },
  };
}
