import type { TaskRecord } from "./result.js";

/**
 * Why a run that needed tools missed tool selection, read from its calls against the expected
 * tools — the questions a person asks first when the metric is low:
 *
 * - `malformed`: nothing called, and the model wrote an Action the runtime could not parse;
 * - `no_call`: nothing called otherwise (it answered, often saying the tool is missing);
 * - `wrong_first`: the first call went to a tool the task does not start with;
 * - `stopped_early`: every call was to an expected tool, but the run ended before the last one
 *   (a chain answered after its first observation);
 * - `wrong_later`: the first call was right, and a tool the task does not need came later.
 */
export const SELECTION_MISS_LABELS = {
  malformed: "Nothing called: malformed action",
  no_call: "Nothing called: answered without a tool",
  wrong_first: "First call to the wrong tool",
  stopped_early: "Stopped before the last needed tool",
  wrong_later: "A wrong tool after the right first one",
} as const;

export type SelectionMiss = keyof typeof SELECTION_MISS_LABELS;

/** The reasons in the order the report lists them. */
export const SELECTION_MISSES = Object.keys(SELECTION_MISS_LABELS) as SelectionMiss[];

/** Why `record` missed tool selection, or null when it did not (or needed no tool). */
export function selectionMiss(record: TaskRecord): SelectionMiss | null {
  if (record.score.toolSelection !== false || record.expectedTools.length === 0) return null;
  const called = record.toolCalls.map((c) => c.name);
  if (called.length === 0) return record.failures.some((f) => f.kind === "malformed_action") ? "malformed" : "no_call";
  if (called[0] !== record.expectedTools[0]) return "wrong_first";
  const expected = new Set(record.expectedTools);
  return called.every((name) => expected.has(name)) ? "stopped_early" : "wrong_later";
}

/** How many runs missed tool selection for each reason. */
export function countSelectionMisses(records: readonly TaskRecord[]): Record<SelectionMiss, number> {
  const counts = Object.fromEntries(SELECTION_MISSES.map((m) => [m, 0])) as Record<SelectionMiss, number>;
  for (const record of records) {
    const miss = selectionMiss(record);
    if (miss !== null) counts[miss]++;
  }
  return counts;
}
