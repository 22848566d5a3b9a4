import type { FailureKind, Trajectory } from "../react/types.js";
import type { JsonValue, ToolCall } from "../tools/types.js";
import type { ChatMessage } from "./chat-model.js";

/**
 * What the runtime emits while an episode runs, in order. `step` counts model replies from 1.
 * A failure that ends the episode is an `error` event followed by `done`; a failure the
 * runtime recovers from (e.g. invalid arguments, reported back to the model as an
 * Observation) is an `error` event with `recovered: true`.
 */
export type AgentEvent =
  | { type: "thought"; step: number; text: string }
  | { type: "action"; step: number; call: ToolCall }
  | { type: "observation"; step: number; call: ToolCall; observation: JsonValue; elapsedMs: number }
  | { type: "answer"; step: number; text: string }
  | { type: "error"; step: number; kind: FailureKind; message: string; raw?: string; recovered: boolean }
  | { type: "done"; result: AgentResult };

/** How an episode ended: with an Answer, or with the failure that stopped it. */
export type AgentStatus = "answered" | FailureKind | "aborted";

export interface AgentResult {
  status: AgentStatus;
  /** The final answer text when status is "answered". */
  answer?: string;
  /** The well-formed steps taken (the last is the answer step when answered). */
  trajectory: Trajectory;
  /** Every tool call the model made that named a known tool, in order (including ones whose arguments failed). */
  toolCalls: ToolCall[];
  /** Every failure met on the way, recovered or not. */
  failures: { kind: FailureKind; step: number; message: string }[];
  /** Model replies made. */
  steps: number;
  /** The full conversation as sent to the model, ending with its last reply. */
  messages: ChatMessage[];
  /** Raw model replies, one per step. */
  rawReplies: string[];
  elapsedMs: number;
}
