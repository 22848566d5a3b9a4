import type { FailureKind, ReActStep } from "../react/types.js";
import type { ToolCall } from "../tools/types.js";
import type { Aggregates, EvalStatus, TaskScore } from "./metrics.js";

/**
 * The JSON an evaluation writes (`eval.json`): what was run, how, and every run's record
 * with its score, plus the aggregates. `compareRuns` and `formatEvalReport` read it back.
 */

/** The settings an evaluation ran with, recorded so a result can be reproduced. */
export interface EvalSettings {
  /** Where the tasks came from, when read from a file. */
  tasksFile?: string;
  tasks: number;
  concurrency: number;
  maxSteps: number;
  /** Added to every task's simulator seed. */
  seedOffset: number;
  /** Runs a task (pass^k when > 1). */
  k: number;
  temperature: number;
  maxTokens?: number;
  /** Per-run time limit in ms. */
  timeoutMs: number;
  /** The engine that ran the model, e.g. "llama", "openai", "own". */
  engine?: string;
}

/** One run of one task, kept compact: the steps, the raw replies (cut), the failures, the score. */
export interface TaskRecord {
  id: string;
  category: string;
  /** Which of the k runs (0-based). */
  run: number;
  query: string;
  /** The task's expected tool names, for reading failures without the task file. */
  expectedTools: string[];
  /** Simulator seed used. */
  seed: number;
  status: EvalStatus;
  answer?: string;
  steps: number;
  toolCalls: ToolCall[];
  failures: { kind: FailureKind; step: number; message: string }[];
  /** The well-formed steps (thought, action, observation / answer). */
  trajectory: ReActStep[];
  /** The model's raw replies, each cut to a few thousand characters. */
  rawReplies: string[];
  /** Why the runner could not finish the run (crash or timeout). */
  error?: string;
  elapsedMs: number;
  score: TaskScore;
}

export interface EvalResult {
  /** Format version of this JSON. */
  version: 1;
  /** The model's id (a path, a server model name). */
  model: string;
  adapter?: string;
  /** ISO date and time the evaluation started. */
  date: string;
  settings: EvalSettings;
  /** False when the run was cancelled before every task ran. */
  complete: boolean;
  wallMs: number;
  records: TaskRecord[];
  aggregates: Aggregates;
}
