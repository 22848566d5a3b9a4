import type { JsonValue, ToolCall } from "../tools/types.js";

/**
 * One step of a ReAct trajectory as the model writes it: a Thought, then either an Action
 * (one tool call, followed by the Observation the runtime appends) or the final Answer.
 * `weight: 0` marks a reply kept as context with no training loss (a recovery trajectory's
 * mistaken call); its assistant message carries `weight: 0` too.
 */
export type ReActStep =
  | { kind: "action"; thought: string; action: ToolCall; observation: JsonValue; weight?: 0 }
  | { kind: "answer"; thought: string; answer: string; weight?: 0 };

/** A whole episode: the user's query and the steps, the last of which is normally an answer. */
export interface Trajectory {
  query: string;
  steps: ReActStep[];
}

/**
 * The failure kinds of SPECS §1. Each is also a metric, so the names are stable identifiers.
 * - malformed_action: an `Action:` whose payload is not one JSON object `{"name", "arguments"}`
 * - unknown_tool: a tool name the registry does not have
 * - invalid_arguments: arguments that fail the tool's schema
 * - tool_error: the tool threw or timed out
 * - step_limit: the episode reached maxSteps without an Answer
 * - loop: the same call (name + arguments) repeated back to back
 * - no_answer: a reply with neither an Action nor an Answer
 */
export type FailureKind =
  | "malformed_action"
  | "unknown_tool"
  | "invalid_arguments"
  | "tool_error"
  | "step_limit"
  | "loop"
  | "no_answer";

export const FAILURE_KINDS: readonly FailureKind[] = [
  "malformed_action",
  "unknown_tool",
  "invalid_arguments",
  "tool_error",
  "step_limit",
  "loop",
  "no_answer",
];
