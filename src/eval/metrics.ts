import type { AgentResult, AgentStatus } from "../agent/types.js";
import type { Task } from "../data/task.js";
import { FAILURE_KINDS, type FailureKind } from "../react/types.js";
import type { JsonValue, ToolCall } from "../tools/types.js";

/**
 * The metrics of SPECS §4, scored per task run and then aggregated as counts.
 *
 * Conventions (documented here because reports quote them):
 * - A metric that does not apply to a task is `null` and leaves the denominator: abstention
 *   only over tasks whose `expected_tools` is empty, the tool metrics only over tasks with at
 *   least one expected tool, argument match only over tasks with `expected_calls`, step
 *   efficiency only over tasks with `min_steps` or `max_steps`.
 * - "Called tools" are the calls that named a known tool (`AgentResult.toolCalls`, including
 *   calls whose arguments failed the schema): a hallucinated tool name is not a call of an
 *   expected tool.
 * - Steps are model replies (`AgentResult.steps`); an episode that did not end in an Answer
 *   is never step-efficient.
 * - Abstention: the episode ends in an Answer and the model attempted no call at all (no
 *   known-tool call, no unknown tool, no malformed Action).
 */

/** How a run ended in an evaluation: the agent's status, or the runner's own verdict. */
export type EvalStatus = AgentStatus | "crashed" | "timeout";

/** What scoring needs from a run: the fields of AgentResult that metrics read. */
export interface ScorableResult {
  status: EvalStatus;
  answer?: string;
  toolCalls: readonly ToolCall[];
  failures: readonly { kind: FailureKind; step: number; message: string }[];
  steps: number;
}

/** The score of one run of one task. `null`: the metric does not apply to this task. */
export interface TaskScore {
  taskId: string;
  category: string;
  /** Which of the k runs (0-based). */
  run: number;
  status: EvalStatus;
  taskSuccess: boolean;
  answerCorrectness: boolean;
  toolSelection: boolean | null;
  exactToolMatch: boolean | null;
  orderedToolMatch: boolean | null;
  argumentMatch: boolean | null;
  /** Expected calls matched by an actual call, over expected calls. */
  argumentCalls: { matched: number; expected: number } | null;
  stepEfficiency: boolean | null;
  abstention: boolean | null;
  /** Occurrences of each failure kind in the run (a status that is a failure kind counts once at least). */
  failures: Record<FailureKind, number>;
}

/** A count and its rate; `rate` is null when nothing applied (denominator 0). */
export interface Rate {
  numerator: number;
  denominator: number;
  rate: number | null;
}

/** The per-task metrics, in the order reports show them (the reference's three first). */
export const METRICS = [
  { key: "toolSelection", label: "Tool selection", applies: "tasks with expected tools" },
  { key: "exactToolMatch", label: "Exact tool match", applies: "tasks with expected tools" },
  { key: "taskSuccess", label: "Task success", applies: "all tasks" },
  { key: "answerCorrectness", label: "Answer correctness", applies: "all tasks" },
  { key: "orderedToolMatch", label: "Ordered tool match", applies: "tasks with expected tools" },
  { key: "argumentMatch", label: "Argument match (tasks)", applies: "tasks with expected_calls" },
  { key: "argumentCalls", label: "Argument match (calls)", applies: "expected calls" },
  { key: "stepEfficiency", label: "Step efficiency", applies: "tasks with min_steps/max_steps" },
  { key: "abstention", label: "Abstention", applies: "tasks with no expected tool" },
] as const;

export type MetricKey = (typeof METRICS)[number]["key"];

/** A metric's name in reports. */
export function metricLabel(key: MetricKey): string {
  return METRICS.find((m) => m.key === key)?.label ?? key;
}

/** The name without the "(tasks)" of Argument match, for chart legends and narrow tables. */
export function shortMetricLabel(key: MetricKey): string {
  return metricLabel(key).replace(/ \(tasks\)$/, "");
}

/** Failure-kind labels for reports. */
export const FAILURE_LABELS: Record<FailureKind, string> = {
  malformed_action: "Malformed action",
  unknown_tool: "Unknown tool",
  invalid_arguments: "Invalid arguments",
  tool_error: "Tool error",
  loop: "Loop (repeated call)",
  step_limit: "Step limit",
  no_answer: "No answer",
};

/** Aggregates of a set of runs. */
export interface MetricSummary {
  /** Runs scored (tasks × k). */
  runs: number;
  metrics: Record<MetricKey, Rate>;
  /** Runs with at least one failure of each kind, over all runs. */
  failureRates: Record<FailureKind, Rate>;
  /** Total occurrences of each failure kind. */
  failureCounts: Record<FailureKind, number>;
  /** How runs ended: "answered", a failure kind, "aborted", "crashed", "timeout". */
  endings: Record<string, number>;
  /** With k > 1: tasks whose k runs all succeeded (and all answered correctly), over tasks with k runs. */
  passK?: { k: number; taskSuccess: Rate; answerCorrectness: Rate };
}

export interface Aggregates {
  overall: MetricSummary;
  /** Keyed by task category ("uncategorized" when a task has none). */
  byCategory: Record<string, MetricSummary>;
}

/** A rate from a count; `rate` is null over an empty denominator. */
export function rate(numerator: number, denominator: number): Rate {
  return { numerator, denominator, rate: denominator === 0 ? null : numerator / denominator };
}

function caseFold(text: string): string {
  return text.trim().normalize("NFKC").toLowerCase();
}

/**
 * AST-style equality of two argument values (the Berkeley function-calling leaderboard's
 * habit): same keys, same JSON types, numbers by value (`1` equals `1.0`), strings compared
 * trimmed and case-folded, arrays element by element in order, objects key by key.
 */
export function argumentsEqual(expected: JsonValue | undefined, actual: JsonValue | undefined): boolean {
  if (expected === undefined || actual === undefined) return expected === actual;
  if (expected === null || actual === null) return expected === actual;
  if (typeof expected === "number" || typeof actual === "number") {
    return typeof expected === "number" && typeof actual === "number" && expected === actual;
  }
  if (typeof expected === "string" || typeof actual === "string") {
    return typeof expected === "string" && typeof actual === "string" && caseFold(expected) === caseFold(actual);
  }
  if (typeof expected === "boolean" || typeof actual === "boolean") return expected === actual;
  if (Array.isArray(expected) || Array.isArray(actual)) {
    if (!Array.isArray(expected) || !Array.isArray(actual) || expected.length !== actual.length) return false;
    return expected.every((item, i) => argumentsEqual(item, actual[i]));
  }
  const expectedKeys = Object.keys(expected);
  const actualKeys = Object.keys(actual);
  if (expectedKeys.length !== actualKeys.length) return false;
  return expectedKeys.every((key) => Object.hasOwn(actual, key) && argumentsEqual(expected[key], actual[key]));
}

/** True when the call names the same tool and its arguments equal the expected ones (see argumentsEqual). */
export function callMatches(expected: ToolCall, actual: ToolCall): boolean {
  return expected.name === actual.name && argumentsEqual(expected.arguments, actual.arguments);
}

/**
 * How many expected calls an actual call matches, each actual call used at most once
 * (greedy in order, which is exact here: equality is an equivalence relation).
 */
export function matchCalls(expected: readonly ToolCall[], actual: readonly ToolCall[]): number {
  const used = new Array<boolean>(actual.length).fill(false);
  let matched = 0;
  for (const want of expected) {
    const i = actual.findIndex((call, j) => !used[j] && callMatches(want, call));
    if (i !== -1) {
      used[i] = true;
      matched++;
    }
  }
  return matched;
}

function sameMultiset(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const counts = new Map<string, number>();
  for (const x of a) counts.set(x, (counts.get(x) ?? 0) + 1);
  for (const x of b) {
    const left = counts.get(x);
    if (!left) return false;
    counts.set(x, left - 1);
  }
  return true;
}

function isFailureKind(status: EvalStatus): status is FailureKind {
  return (FAILURE_KINDS as readonly string[]).includes(status);
}

/** Scores one run of a task against the task's expectations (SPECS §4). */
export function scoreTask(task: Task, result: ScorableResult | AgentResult, run = 0): TaskScore {
  const status = result.status as EvalStatus;
  const success = status === "answered";
  const answer = caseFold(result.answer ?? "");
  const contains = task.answer_contains ?? [];
  const answerCorrectness = success && contains.every((piece) => answer.includes(caseFold(piece)));

  const expected = task.expected_tools ?? [];
  const called = result.toolCalls.map((call) => call.name);
  const hasTools = expected.length > 0;
  const calledSet = new Set(called);
  const toolSelection = hasTools ? expected.every((name) => calledSet.has(name)) : null;
  const exactToolMatch = hasTools ? sameMultiset(expected, called) : null;
  const orderedToolMatch = hasTools ? expected.length === called.length && expected.every((name, i) => called[i] === name) : null;

  const expectedCalls = task.expected_calls ?? [];
  let argumentCalls: TaskScore["argumentCalls"] = null;
  let argumentMatch: boolean | null = null;
  if (expectedCalls.length > 0) {
    const matched = matchCalls(expectedCalls, result.toolCalls);
    argumentCalls = { matched, expected: expectedCalls.length };
    argumentMatch = matched === expectedCalls.length;
  }

  let stepEfficiency: boolean | null = null;
  if (task.min_steps !== undefined || task.max_steps !== undefined) {
    const min = task.min_steps ?? 0;
    const max = task.max_steps ?? Number.POSITIVE_INFINITY;
    stepEfficiency = success && result.steps >= min && result.steps <= max;
  }

  const failures = Object.fromEntries(FAILURE_KINDS.map((kind) => [kind, 0])) as Record<FailureKind, number>;
  for (const failure of result.failures) failures[failure.kind]++;
  if (isFailureKind(status) && failures[status] === 0) failures[status] = 1;

  let abstention: boolean | null = null;
  if (!hasTools) {
    const attempted = result.toolCalls.length + failures.unknown_tool + failures.malformed_action;
    abstention = success && attempted === 0;
  }

  return {
    taskId: task.id,
    category: task.category ?? "uncategorized",
    run,
    status,
    taskSuccess: success,
    answerCorrectness,
    toolSelection,
    exactToolMatch,
    orderedToolMatch,
    argumentMatch,
    argumentCalls,
    stepEfficiency,
    abstention,
    failures,
  };
}

function summarize(scores: readonly TaskScore[], k: number): MetricSummary {
  const metrics = {} as Record<MetricKey, Rate>;
  for (const { key } of METRICS) {
    if (key === "argumentCalls") {
      let matched = 0;
      let expected = 0;
      for (const s of scores) {
        matched += s.argumentCalls?.matched ?? 0;
        expected += s.argumentCalls?.expected ?? 0;
      }
      metrics[key] = rate(matched, expected);
      continue;
    }
    const applicable = scores.filter((s) => s[key] !== null);
    metrics[key] = rate(applicable.filter((s) => s[key] === true).length, applicable.length);
  }
  const failureRates = {} as Record<FailureKind, Rate>;
  const failureCounts = {} as Record<FailureKind, number>;
  for (const kind of FAILURE_KINDS) {
    failureRates[kind] = rate(scores.filter((s) => s.failures[kind] > 0).length, scores.length);
    failureCounts[kind] = scores.reduce((sum, s) => sum + s.failures[kind], 0);
  }
  const endings: Record<string, number> = {};
  for (const s of scores) endings[s.status] = (endings[s.status] ?? 0) + 1;
  const summary: MetricSummary = { runs: scores.length, metrics, failureRates, failureCounts, endings };
  if (k > 1) {
    const byTask = new Map<string, TaskScore[]>();
    for (const s of scores) byTask.set(s.taskId, [...(byTask.get(s.taskId) ?? []), s]);
    const complete = [...byTask.values()].filter((runs) => runs.length >= k);
    summary.passK = {
      k,
      taskSuccess: rate(complete.filter((runs) => runs.every((s) => s.taskSuccess)).length, complete.length),
      answerCorrectness: rate(complete.filter((runs) => runs.every((s) => s.answerCorrectness)).length, complete.length),
    };
  }
  return summary;
}

/**
 * Aggregates run scores overall and per category. With `k > 1` (k sampled runs a task) pass^k
 * is added: the share of tasks whose k runs all succeed.
 */
export function aggregateScores(scores: readonly TaskScore[], k = 1): Aggregates {
  const categories = [...new Set(scores.map((s) => s.category))].sort();
  const byCategory: Record<string, MetricSummary> = {};
  for (const category of categories) {
    byCategory[category] = summarize(
      scores.filter((s) => s.category === category),
      k,
    );
  }
  return { overall: summarize(scores, k), byCategory };
}

/** `28/30 (93.3 %)`, or `—` when nothing applied. */
export function formatRate(value: Rate): string {
  if (value.rate === null) return "—";
  return `${value.numerator}/${value.denominator} (${(value.rate * 100).toFixed(1)} %)`;
}
