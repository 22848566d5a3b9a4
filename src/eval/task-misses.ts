import type { EvalResult, TaskRecord } from "./result.js";

/**
 * The tasks that went wrong in the most runs of several evaluations (seeds, settings): the first
 * thing to read when a metric stays low, since a few phrasings often make most of the misses.
 * A run goes wrong on a task by the metric of its kind: tool selection where the task needs tools,
 * abstention where it needs none.
 */
export interface TaskMiss {
  id: string;
  category: string;
  query: string;
  /** The tools the task needs, in order (none: it wants an answer without a call). */
  expectedTools: string[];
  /** In how many of the runs that ran the task it went wrong, and how many ran it. */
  missed: number;
  runs: number;
  /** What the runs that went wrong did: their calls in order ("get_weather > calculator") or, with none, how they ended; with how many did each. */
  outcomes: { did: string; runs: number }[];
}

/** Whether `record` went wrong by its kind's metric. */
function wentWrong(record: TaskRecord): boolean {
  return record.expectedTools.length > 0 ? record.score.toolSelection === false : record.score.abstention === false;
}

function outcomeOf(record: TaskRecord): string {
  return record.toolCalls.length > 0 ? record.toolCalls.map((c) => c.name).join(" > ") : `no call (${record.status})`;
}

/** The `limit` tasks missed in the most runs, most first (ties by id); tasks no run missed are left out. */
export function mostMissedTasks(results: readonly EvalResult[], limit = 10): TaskMiss[] {
  const byTask = new Map<string, TaskMiss & { did: Map<string, number> }>();
  for (const result of results) {
    for (const record of result.records) {
      let entry = byTask.get(record.id);
      if (entry === undefined) {
        entry = { id: record.id, category: record.category, query: record.query, expectedTools: record.expectedTools, missed: 0, runs: 0, outcomes: [], did: new Map() };
        byTask.set(record.id, entry);
      }
      entry.runs++;
      if (!wentWrong(record)) continue;
      entry.missed++;
      const did = outcomeOf(record);
      entry.did.set(did, (entry.did.get(did) ?? 0) + 1);
    }
  }
  return [...byTask.values()]
    .filter((t) => t.missed > 0)
    .sort((a, b) => b.missed - a.missed || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, limit)
    .map(({ did, ...t }) => ({ ...t, outcomes: [...did].map(([d, runs]) => ({ did: d, runs })).sort((a, b) => b.runs - a.runs || (a.did < b.did ? -1 : 1)) }));
}
