import type { ChatMessage } from "../agent/chat-model.js";
import type { JsonValue, ToolCall } from "../tools/types.js";
import { formatJson } from "./json.js";
import type { ReActStep, Trajectory } from "./types.js";

/**
 * Rendering of the ReAct format (SPECS §1), the one place that decides how a trajectory looks
 * to a model. Training data and the runtime both go through these functions, so what a model is
 * trained on is exactly what it sees at inference.
 *
 * The chat mapping (the project's documented choice):
 * - system message: the instructions and the tool list (see `buildSystemPrompt`);
 * - user message: the query;
 * - one assistant message per model reply: `Thought: …\nAction: {json}` or `Thought: …\nAnswer: …`;
 * - each observation: a user message `Observation: {json}`.
 */

/**
 * Generation stops here: the model writes up to and including one `Action:` line and the runtime
 * appends the Observation. (A reply that itself begins with `Observation:` is cut by the parser.)
 */
export const REACT_STOP: readonly string[] = ["\nObservation:"];

/** An Action's JSON: `{"name": "get_weather", "arguments": {"city": "Tokyo"}}`. */
export function renderAction(call: ToolCall): string {
  return formatJson({ name: call.name, arguments: call.arguments });
}

/** The line the runtime appends after an Action: `Observation: {"temperature": 8}`. */
export function renderObservation(observation: JsonValue): string {
  return `Observation: ${formatJson(observation)}`;
}

/**
 * One model reply, as the assistant message content: `Thought: …` then `Action: {…}` or
 * `Answer: …`. An empty thought is left out (the parser reads a missing Thought as "").
 */
export function renderReply(step: ReActStep): string {
  const body = step.kind === "action" ? `Action: ${renderAction(step.action)}` : `Answer: ${step.answer}`;
  return step.thought === "" ? body : `Thought: ${step.thought}\n${body}`;
}

/**
 * The whole trajectory as one text, as in SPECS §1 (the query is not part of it: it is the user
 * message). `parseTrajectoryText` reads it back.
 */
export function renderTrajectoryText(trajectory: Trajectory | readonly ReActStep[]): string {
  const steps = "steps" in trajectory ? trajectory.steps : trajectory;
  const lines: string[] = [];
  for (const step of steps) {
    lines.push(renderReply(step));
    if (step.kind === "action") lines.push(renderObservation(step.observation));
  }
  return lines.join("\n");
}

/**
 * A trajectory as chat messages (the mapping above). With `systemPrompt` the list starts with the
 * system message. An action step whose observation is still unknown is not expected here: every
 * action step carries its observation. A step with `weight: 0` gives an assistant message with
 * `weight: 0` (context, no training loss).
 */
export function renderMessages(trajectory: Trajectory, options: { systemPrompt?: string } = {}): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (options.systemPrompt !== undefined) messages.push({ role: "system", content: options.systemPrompt });
  messages.push({ role: "user", content: trajectory.query });
  for (const step of trajectory.steps) {
    messages.push(step.weight === 0 ? { role: "assistant", content: renderReply(step), weight: 0 } : { role: "assistant", content: renderReply(step) });
    if (step.kind === "action") messages.push({ role: "user", content: renderObservation(step.observation) });
  }
  return messages;
}

/**
 * The single-turn function-calling format (the reference's older task kind): the user asks, the
 * assistant's whole content is one JSON call `{"name": …, "arguments": {…}}` and nothing else.
 */
export function renderFunctionCallMessages(
  query: string,
  call: ToolCall,
  options: { systemPrompt?: string } = {},
): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (options.systemPrompt !== undefined) messages.push({ role: "system", content: options.systemPrompt });
  messages.push({ role: "user", content: query });
  messages.push({ role: "assistant", content: renderAction(call) });
  return messages;
}
