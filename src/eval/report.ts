import { FAILURE_KINDS } from "../react/types.js";
import { FAILURE_LABELS, formatRate, METRICS, type MetricKey, type MetricSummary, metricLabel, type Rate } from "./metrics.js";
import type { EvalResult, TaskRecord } from "./result.js";
import { countSelectionMisses, SELECTION_MISS_LABELS, SELECTION_MISSES } from "./selection-misses.js";

/**
 * Markdown views of evaluation results: the summary of one run (`eval.md`) and the side-by-side
 * comparison of two (zero-shot vs fine-tuned), in the layout of the reference's tables — tool
 * selection, exact tool match and task success first, every value with its count.
 */

/** Makes text safe inside a Markdown table cell. */
export function markdownCell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ").trim();
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** A Markdown table; the first column is left-aligned, the others right-aligned unless `left` names them. */
export function markdownTable(header: string[], rows: string[][], left: number[] = [0]): string {
  const rule = header.map((_, i) => (left.includes(i) ? "---" : "---:"));
  const lines = [`| ${header.join(" | ")} |`, `| ${rule.join(" | ")} |`];
  for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
  return lines.join("\n");
}

function basename(path: string): string {
  const parts = path.split(/[\\/]/).filter((p) => p !== "");
  return parts.at(-1) ?? path;
}

/** A short name for a run: the model's file or name, with the adapter's when there is one. */
export function runLabel(result: EvalResult): string {
  const model = basename(result.model);
  return result.adapter === undefined ? model : `${model} + ${basename(result.adapter)}`;
}

function metricRows(summary: MetricSummary): string[][] {
  const rows = METRICS.map((m) => [m.label, formatRate(summary.metrics[m.key]), m.applies]);
  if (summary.passK !== undefined) {
    rows.push([`pass^${summary.passK.k} (task success)`, formatRate(summary.passK.taskSuccess), `tasks, ${summary.passK.k} runs each`]);
    rows.push([`pass^${summary.passK.k} (answer correctness)`, formatRate(summary.passK.answerCorrectness), `tasks, ${summary.passK.k} runs each`]);
  }
  return rows;
}

const CATEGORY_METRICS: MetricKey[] = ["toolSelection", "exactToolMatch", "taskSuccess", "answerCorrectness", "argumentMatch", "abstention"];

function shortRate(value: Rate): string {
  return value.rate === null ? "—" : `${value.numerator}/${value.denominator} (${(value.rate * 100).toFixed(0)} %)`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Whether a record counts as a failed example (worth showing): not a fully correct run. */
function failed(record: TaskRecord): boolean {
  const s = record.score;
  return !s.answerCorrectness || s.toolSelection === false || s.exactToolMatch === false || s.argumentMatch === false || s.abstention === false;
}

function example(record: TaskRecord): string {
  const expected = record.expectedTools.length === 0 ? "no tool" : record.expectedTools.join(", ");
  const lines = [
    `### ${record.id}${record.run > 0 ? ` (run ${record.run + 1})` : ""} — ${record.category}`,
    "",
    `- Query: ${cut(record.query, 300)}`,
    `- Ended: ${record.status} after ${record.steps} step${record.steps === 1 ? "" : "s"}${record.error ? ` (${cut(record.error, 200)})` : ""}`,
    `- Called: ${record.toolCalls.length === 0 ? "(nothing)" : record.toolCalls.map((c) => c.name).join(", ")} (expected: ${expected})`,
  ];
  if (record.answer !== undefined) lines.push(`- Answer: ${cut(record.answer.replace(/\s+/g, " "), 300)}`);
  for (const failure of record.failures.slice(0, 3)) lines.push(`- ${failure.kind} at step ${failure.step}: ${cut(failure.message.replace(/\s+/g, " "), 200)}`);
  const lastReply = record.rawReplies.at(-1);
  if (lastReply !== undefined && lastReply.trim() !== "") {
    lines.push("", "Last reply:", "", "```text", cut(lastReply, 600).replace(/```/g, "ʼʼʼ"), "```");
  }
  return lines.join("\n");
}

/** Options of formatEvalReport. */
export interface EvalReportOptions {
  /** Failed runs shown in full at the end. Default 5. */
  examples?: number;
}

/** The Markdown summary of one evaluation: every metric with its count, per category, failures, examples. */
export function formatEvalReport(result: EvalResult, options: EvalReportOptions = {}): string {
  const { overall, byCategory } = result.aggregates;
  const s = result.settings;
  const out: string[] = [];
  out.push(`# Evaluation: ${runLabel(result)}`, "");
  out.push(`- Model: \`${result.model}\``);
  if (result.adapter !== undefined) out.push(`- Adapter: \`${result.adapter}\``);
  out.push(`- Date: ${result.date}`);
  out.push(
    `- Tasks: ${s.tasks}${s.tasksFile ? ` from \`${s.tasksFile}\`` : ""}; ${s.k} run${s.k === 1 ? "" : "s"} each at temperature ${s.temperature}; at most ${s.maxSteps} steps; concurrency ${s.concurrency}${s.engine ? `; engine ${s.engine}` : ""}`,
  );
  out.push(`- Wall time: ${seconds(result.wallMs)}${result.complete ? "" : " (cancelled before every task ran)"}`, "");

  out.push("## Metrics", "", markdownTable(["Metric", "Result", "Over"], metricRows(overall), [0, 2]), "");

  const categories = Object.keys(byCategory);
  if (categories.length > 0) {
    out.push("## By category", "");
    out.push(
      markdownTable(
        ["Category", "Runs", ...CATEGORY_METRICS.map(metricLabel)],
        categories.map((c) => [markdownCell(c), String(byCategory[c].runs), ...CATEGORY_METRICS.map((k) => shortRate(byCategory[c].metrics[k]))]),
      ),
      "",
    );
  }

  out.push("## Failures", "");
  out.push(
    markdownTable(
      ["Failure", "Runs with it", "Occurrences"],
      FAILURE_KINDS.map((kind) => [FAILURE_LABELS[kind], formatRate(overall.failureRates[kind]), String(overall.failureCounts[kind])]),
    ),
    "",
  );
  const endings = Object.entries(overall.endings)
    .sort((a, b) => b[1] - a[1])
    .map(([status, n]) => `${status} ${n}`)
    .join(", ");
  out.push(`How runs ended: ${endings || "(no runs)"}.`, "");

  const misses = countSelectionMisses(result.records);
  const missed = SELECTION_MISSES.reduce((n, m) => n + misses[m], 0);
  if (missed > 0) {
    out.push(`## Why tool selection missed (${missed} runs)`, "");
    out.push(markdownTable(["Reason", "Runs"], SELECTION_MISSES.map((m) => [SELECTION_MISS_LABELS[m], String(misses[m])])), "");
  }

  const failures = result.records.filter(failed);
  const shown = failures.slice(0, options.examples ?? 5);
  if (shown.length > 0) {
    out.push(`## Failed examples (${shown.length} of ${failures.length})`, "");
    for (const record of shown) out.push(example(record), "");
  }
  return `${out.join("\n").trimEnd()}\n`;
}

function delta(a: Rate, b: Rate, lowerIsBetter = false): string {
  if (a.rate === null || b.rate === null) return "—";
  const d = (b.rate - a.rate) * 100;
  if (Math.abs(d) < 0.05) return "±0.0 pts";
  const text = `${d > 0 ? "+" : "−"}${Math.abs(d).toFixed(1)} pts`;
  // Mark the direction that matters: better or worse, whatever the sign.
  const better = lowerIsBetter ? d < 0 : d > 0;
  return `${text} ${better ? "▲" : "▼"}`;
}

/** Options of compareRuns. */
export interface CompareOptions {
  /** Column names; default the runs' model (and adapter) names. */
  labels?: [string, string];
  title?: string;
}

/**
 * A side-by-side Markdown comparison of two evaluations (typically zero-shot vs fine-tuned):
 * every metric with its count in each run and the change in percentage points, per category,
 * and the failure rates. Notes when the two runs did not use the same tasks.
 */
export function compareRuns(a: EvalResult, b: EvalResult, options: CompareOptions = {}): string {
  let [nameA, nameB] = options.labels ?? [runLabel(a), runLabel(b)];
  if (nameA === nameB) [nameA, nameB] = [`${nameA} (A)`, `${nameB} (B)`];
  const out: string[] = [`# ${options.title ?? "Comparison"}`, ""];
  out.push(`- A: ${markdownCell(nameA)} — \`${a.model}\`${a.adapter ? ` + \`${a.adapter}\`` : ""}, ${a.date}, ${a.settings.tasks} tasks`);
  out.push(`- B: ${markdownCell(nameB)} — \`${b.model}\`${b.adapter ? ` + \`${b.adapter}\`` : ""}, ${b.date}, ${b.settings.tasks} tasks`);
  out.push(`- Wall time: A ${seconds(a.wallMs)}, B ${seconds(b.wallMs)}`);
  const idsA = new Set(a.records.map((r) => r.id));
  const idsB = new Set(b.records.map((r) => r.id));
  const shared = [...idsA].filter((id) => idsB.has(id)).length;
  if (shared !== idsA.size || shared !== idsB.size) {
    out.push(`- Note: the runs differ in tasks (${idsA.size} and ${idsB.size} tasks, ${shared} shared); the rates are not over the same set.`);
  }
  out.push("");

  const oa = a.aggregates.overall;
  const ob = b.aggregates.overall;
  const rows = METRICS.map((m) => [m.label, formatRate(oa.metrics[m.key]), formatRate(ob.metrics[m.key]), delta(oa.metrics[m.key], ob.metrics[m.key])]);
  if (oa.passK && ob.passK && oa.passK.k === ob.passK.k) {
    rows.push([`pass^${oa.passK.k} (task success)`, formatRate(oa.passK.taskSuccess), formatRate(ob.passK.taskSuccess), delta(oa.passK.taskSuccess, ob.passK.taskSuccess)]);
  }
  out.push("## Metrics", "", markdownTable(["Metric", markdownCell(nameA), markdownCell(nameB), "Δ"], rows), "");

  const categories = [...new Set([...Object.keys(a.aggregates.byCategory), ...Object.keys(b.aggregates.byCategory)])].sort();
  if (categories.length > 0) {
    const keys: MetricKey[] = ["toolSelection", "exactToolMatch", "taskSuccess", "answerCorrectness"];
    const catRows = categories.map((c) => {
      const ca = a.aggregates.byCategory[c];
      const cb = b.aggregates.byCategory[c];
      return [
        markdownCell(c),
        ...keys.map((k) => {
          const ra = ca?.metrics[k];
          const rb = cb?.metrics[k];
          const left = ra ? shortRate(ra) : "—";
          const right = rb ? shortRate(rb) : "—";
          return left === "—" && right === "—" ? "—" : `${left} → ${right}`;
        }),
      ];
    });
    out.push("## By category (A → B)", "", markdownTable(["Category", ...keys.map(metricLabel)], catRows), "");
  }

  const failureRows = FAILURE_KINDS.map((kind) => [
    FAILURE_LABELS[kind],
    formatRate(oa.failureRates[kind]),
    formatRate(ob.failureRates[kind]),
    delta(oa.failureRates[kind], ob.failureRates[kind], true),
  ]);
  out.push("## Failure rates (runs with the failure)", "", markdownTable(["Failure", markdownCell(nameA), markdownCell(nameB), "Δ"], failureRows), "");
  return `${out.join("\n").trimEnd()}\n`;
}
