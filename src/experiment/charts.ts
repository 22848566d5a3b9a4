// The experiments' charts as standalone SVG files: loss curves of every run, metrics against
// the number of training samples, and two evaluations side by side.

import { METRICS, type MetricKey, shortMetricLabel } from "../eval/metrics.js";
import { settingOf } from "../eval/compare-many.js";
import type { EvalResult } from "../eval/result.js";
import { type Spread, spreadOf } from "../eval/stats.js";
import { barChart, CHART_COLORS, type LinePoint, type LineSeries, lineChart } from "../eval/svg-chart.js";
import type { TrainLogEntry } from "../eval/train-log.js";
import type { ScalingSizeSummary } from "./scaling-summary.js";

/** The metrics the scaling table and chart show, in the order of the experiments issue. */
export const SCALING_METRICS: readonly MetricKey[] = ["toolSelection", "exactToolMatch", "argumentMatch", "answerCorrectness"];

/** Most points a loss curve keeps; longer runs are averaged over buckets of consecutive steps. */
const MAX_CURVE_POINTS = 150;

/** A run's loss against its epoch (or step, for logs without epochs), bucket-averaged when long. */
function lossPoints(log: readonly TrainLogEntry[]): { points: LinePoint[]; averaged: boolean } {
  const raw = log
    .filter((e) => typeof e.loss === "number" && Number.isFinite(e.loss) && e.skipped !== true)
    .map((e) => ({ x: typeof e.epoch === "number" ? e.epoch : e.step, y: e.loss as number }));
  if (raw.length <= MAX_CURVE_POINTS) return { points: raw, averaged: false };
  const bucket = Math.ceil(raw.length / MAX_CURVE_POINTS);
  const points: LinePoint[] = [];
  for (let i = 0; i < raw.length; i += bucket) {
    const group = raw.slice(i, i + bucket);
    points.push({ x: group.reduce((s, p) => s + p.x, 0) / group.length, y: group.reduce((s, p) => s + p.y, 0) / group.length });
  }
  return { points, averaged: true };
}

/**
 * Training loss of every run, one line each: colour by training-set size, dashes by seed.
 * `runs` come in the order the legend lists them.
 */
export function lossCurvesChart(runs: readonly { size: number; seed: number; log: readonly TrainLogEntry[] }[], title = "Training loss of every run"): string {
  const sizes = [...new Set(runs.map((r) => r.size))].sort((a, b) => a - b);
  const seeds = [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b);
  const byEpoch = runs.every((r) => r.log.every((e) => typeof e.epoch === "number"));
  let averaged = false;
  const series: LineSeries[] = runs.map((r) => {
    const curve = lossPoints(r.log);
    averaged ||= curve.averaged;
    return {
      label: `${r.size} samples, seed ${r.seed}`,
      points: curve.points,
      color: CHART_COLORS[(sizes.indexOf(r.size) + 1) % CHART_COLORS.length],
      dashed: seeds.indexOf(r.seed) % 2 === 1,
      markers: false,
    };
  });
  return lineChart({
    title: averaged ? `${title} (long runs averaged over consecutive steps)` : title,
    xLabel: byEpoch ? "epoch" : "step",
    yLabel: "loss (cross-entropy per target token)",
    yMin: 0,
    series,
  });
}

/**
 * Each metric's mean over seeds against the training-set size (log x), with min–max error bars.
 */
export function metricsVsSamplesChart(bySize: readonly ScalingSizeSummary[], metrics: readonly MetricKey[] = SCALING_METRICS, title = "Held-out metrics vs training samples"): string {
  const several = bySize.some((s) => s.seeds.length > 1);
  const series: LineSeries[] = metrics.map((key, i) => ({
    label: shortMetricLabel(key),
    color: CHART_COLORS[(i + 1) % CHART_COLORS.length],
    points: bySize.flatMap((s) => {
      const spread = s.metrics[key];
      return spread === null ? [] : [{ x: s.size, y: spread.mean, ...(spread.n > 1 ? { low: spread.min, high: spread.max } : {}) }];
    }),
  }));
  return lineChart({
    title: several ? `${title} (mean over seeds; bars: min–max)` : title,
    xLabel: "training samples (log scale)",
    yLabel: "share of tasks",
    logX: true,
    xTicks: bySize.map((s) => s.size),
    yMin: 0,
    yMax: 1,
    formatY: (v) => `${Math.round(v * 100)} %`,
    series,
  });
}

/**
 * The headline metrics of many evaluations, a row a setting and a bar a metric: runs whose labels
 * share a setting (the part before an "@", as `agenttune compare` groups them) are averaged, their
 * min–max in the bar's tooltip. A metric that applies to none of a setting's runs has no bar.
 */
export function settingsBarsChart(results: readonly EvalResult[], labels: readonly string[], title: string): string {
  const settings = [...new Set(labels.map(settingOf))];
  const metrics: MetricKey[] = [...SCALING_METRICS, "abstention"];
  const spreadFor = (setting: string, metric: MetricKey) => spreadOf(results.filter((_, i) => settingOf(labels[i] ?? "") === setting).map((r) => r.aggregates.overall.metrics[metric].rate));
  const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
  const note = (s: Spread | null) => (s === null ? "—" : s.n === 1 ? pct(s.mean) : `${pct(s.mean)} over ${s.n} runs (${pct(s.min)}–${pct(s.max)})`);
  // room for the longest setting name at about 7 px a character (12 px labels)
  const labelWidth = Math.min(380, Math.max(190, 12 + 7 * Math.max(...settings.map((s) => s.length))));
  return barChart({
    title,
    width: 760 + labelWidth - 190,
    labelWidth,
    xLabel: "mean over each setting's runs (share of the tasks the metric applies to)",
    series: metrics.map((m) => ({ label: shortMetricLabel(m) })),
    groups: settings.map((setting) => {
      const spreads = metrics.map((m) => spreadFor(setting, m));
      return { label: setting, values: spreads.map((s) => s?.mean ?? null), notes: spreads.map(note) };
    }),
  });
}

/** Every metric that applies, one row each, a bar for each evaluation. */
export function evalBarsChart(results: readonly EvalResult[], labels: readonly string[], title: string): string {
  const metrics = METRICS.filter((m) => results.some((r) => r.aggregates.overall.metrics[m.key].rate !== null));
  return barChart({
    title,
    xLabel: "share of the tasks the metric applies to",
    series: labels.map((label) => ({ label })),
    groups: metrics.map((m) => ({ label: m.label, values: results.map((r) => r.aggregates.overall.metrics[m.key].rate) })),
  });
}
