import type { ChatMessage } from "../agent/chat-model.js";
import type { ToolCall } from "../tools/types.js";
import type { ReActStep } from "../react/types.js";

/**
 * An evaluation task (SPECS §3), one JSON object a line in a `.jsonl` file.
 * Unknown fields are kept (in `extra` when read through the JSONL reader) and ignored.
 */
export interface Task {
  id: string;
  query: string;
  /** Ordered tool names a correct run calls; empty for a task that needs no tool (abstention). */
  expected_tools: string[];
  /** Optional: calls whose arguments are pinned (argument match metric). */
  expected_calls?: ToolCall[];
  min_steps?: number;
  max_steps?: number;
  /** Case-insensitive substrings a correct answer contains. */
  answer_contains?: string[];
  /** single | chain | conditional | arithmetic | abstention | missing_tool | function_call | … */
  category?: string;
  /**
   * Tool names offered to the model for this task; absent means every registry tool. The
   * missing-tool category offers a list without the needed tool.
   */
  tools?: string[];
  /** Seed of the tool simulators for this task, so every run sees the same observations. */
  seed?: number;
}

/** A training example: a task plus a full trajectory, as ReAct steps and/or rendered chat messages. */
export interface TrainingExample extends Task {
  steps?: ReActStep[];
  messages?: ChatMessage[];
  /** "react" (default) or "function_call": the reference's single-turn user → one JSON call format. */
  format?: "react" | "function_call";
}
