import type { FailureKind } from "../react/types.js";
import { FAILURE_LABELS, formatRate, type MetricKey, metricLabel, type Rate } from "./metrics.js";
import { markdownCell, markdownTable, runLabel } from "./report.js";
import type { EvalResult } from "./result.js";
import { formatSpread, spreadOf } from "./stats.js";
import { mostMissedTasks } from "./task-misses.js";

/**
 * One table for many evaluations (an ablation, a sweep, several seeds): a row a run with every
 * metric, a row a category group to show where each run gains and loses, and — when several runs
 * share a label (seeds of one setting) — the mean, sample standard deviation (n − 1) and range
 * over them, and the tasks missed in the most runs. `compareRuns` stays the two-run view with deltas.
 */

export interface CompareManyOptions {
  /**
   * Row names, one a run. Runs with the same name — or the same part before an "@", as in
   * "250@s0", "250@s1" — are averaged in the summary table; the row shows "250 (s0)".
   */
  labels?: string[];
  title?: string;
}

const HEADLINE: MetricKey[] = ["toolSelection", "exactToolMatch", "argumentMatch", "answerCorrectness", "abstention", "taskSuccess", "stepEfficiency"];
/** Per category, the metric that says whether the category went right. */
const CATEGORY_METRIC: Record<string, MetricKey> = { abstention: "abstention", missing_tool: "abstention" };
const FAILURES_SHOWN: FailureKind[] = ["malformed_action", "unknown_tool", "invalid_arguments", "loop", "no_answer"];

function count(rate: Rate | undefined): string {
  return rate === undefined || rate.rate === null ? "—" : `${rate.numerator}/${rate.denominator}`;
}

function percent(rate: Rate | undefined): string {
  return rate === undefined ? "—" : formatRate(rate);
}

function taskSetNote(results: EvalResult[], labels: string[]): string | null {
  const first = new Set(results[0]?.records.map((r) => r.id) ?? []);
  const differ = results.flatMap((r, i) => {
    const ids = new Set(r.records.map((x) => x.id));
    return ids.size === first.size && [...ids].every((id) => first.has(id)) ? [] : [labels[i]];
  });
  return differ.length === 0 ? null : `Note: ${differ.join(", ")} ran other tasks than ${labels[0]}; their rates are not over the same set.`;
}

/**
 * mean ± sample standard deviation (n − 1, as in `scaling.json`) and min–max of the rates (in %),
 * over the runs that have the metric; one run: its value.
 */
function spread(rates: (Rate | undefined)[]): string {
  const s = spreadOf(rates.map((r) => (r === undefined || r.rate === null ? null : r.rate * 100)));
  return formatSpread(s, (v) => v.toFixed(1), { withStd: true });
}

/** The setting a run label names: the part before an "@" (250@s0 → 250), else the whole label. */
export function settingOf(label: string): string {
  return label.includes("@") ? label.slice(0, label.indexOf("@")) : label;
}

/** The Markdown tables of several evaluations; see the file's comment. */
export function compareMany(results: EvalResult[], options: CompareManyOptions = {}): string {
  if (options.labels !== undefined && options.labels.length !== results.length) {
    throw new RangeError(`compareMany: ${options.labels.length} labels for ${results.length} results`);
  }
  const given = options.labels ?? results.map(runLabel);
  const groupOf = given.map((l) => markdownCell(settingOf(l)));
  const labels = given.map((l, i) => (l.includes("@") ? `${groupOf[i]} (${markdownCell(l.slice(l.indexOf("@") + 1))})` : (groupOf[i] ?? "")));
  const out: string[] = [`# ${options.title ?? "Comparison"}`, ""];
  const note = taskSetNote(results, labels);
  if (note !== null) out.push(note, "");

  const rows = results.map((r, i) => [labels[i] ?? "", ...HEADLINE.map((k) => percent(r.aggregates.overall.metrics[k]))]);
  out.push("## Metrics", "", markdownTable(["Run", ...HEADLINE.map(metricLabel)], rows), "");

  const categories = [...new Set(results.flatMap((r) => Object.keys(r.aggregates.byCategory)))].sort();
  if (categories.length > 0) {
    const catRows = results.map((r, i) => [
      labels[i] ?? "",
      ...categories.map((c) => count(r.aggregates.byCategory[c]?.metrics[CATEGORY_METRIC[c] ?? "toolSelection"])),
    ]);
    const catHeader = categories.map((c) => `${markdownCell(c)} (${metricLabel(CATEGORY_METRIC[c] ?? "toolSelection").toLowerCase()})`);
    out.push("## By category", "", markdownTable(["Run", ...catHeader], catRows), "");
  }

  const failureRows = results.map((r, i) => [labels[i] ?? "", ...FAILURES_SHOWN.map((k) => count(r.aggregates.overall.failureRates[k]))]);
  out.push("## Runs with a failure", "", markdownTable(["Run", ...FAILURES_SHOWN.map((k) => FAILURE_LABELS[k])], failureRows), "");

  const groups = [...new Set(groupOf)].map((name) => ({ name, members: results.filter((_, i) => groupOf[i] === name) }));
  if (groups.some((g) => g.members.length > 1)) {
    const groupRows = groups.map((g) => [
      `${g.name} (${g.members.length} run${g.members.length === 1 ? "" : "s"})`,
      ...HEADLINE.slice(0, 5).map((k) => spread(g.members.map((m) => m.aggregates.overall.metrics[k]))),
    ]);
    out.push(
      "## Mean over runs with the same name",
      "",
      "Percent: mean ± sample standard deviation (n − 1) over the runs (min–max); one run: its value.",
      "",
      markdownTable(["Setting", ...HEADLINE.slice(0, 5).map(metricLabel)], groupRows),
      "",
    );
  }
  if (results.length > 1) {
    const missed = mostMissedTasks(results);
    if (missed.length > 0) {
      const missRows = missed.map((t) => [
        markdownCell(t.id),
        markdownCell(t.query),
        t.expectedTools.length > 0 ? markdownCell(t.expectedTools.join(" > ")) : "(none)",
        `${t.missed}/${t.runs}`,
        markdownCell(t.outcomes.map((o) => `${o.did} ×${o.runs}`).join("; ")),
      ]);
      out.push(
        "## Tasks missed most often",
        "",
        "By tool selection where the task needs tools, by abstention where it needs none; what the runs that missed did, with how many did it.",
        "",
        markdownTable(["Task", "Query", "Needs", "Missed in", "What the runs that missed did"], missRows, [0, 1, 2, 4]),
        "",
      );
    }
  }
  return `${out.join("\n").trimEnd()}\n`;
}
