// Two evaluations metric by metric, as data for an experiment's JSON: each rate with its count
// and the change from the first to the second.

import { FAILURE_LABELS, METRICS, type MetricKey, type Rate } from "../eval/metrics.js";
import type { EvalResult } from "../eval/result.js";
import { FAILURE_KINDS, type FailureKind } from "../react/types.js";

export interface MetricDelta {
  key: MetricKey;
  label: string;
  a: Rate;
  b: Rate;
  /** b − a in rate units (0.25 = 25 points); null when either does not apply. */
  delta: number | null;
}

export interface FailureDelta {
  kind: FailureKind;
  label: string;
  a: Rate;
  b: Rate;
  delta: number | null;
}

function change(a: Rate, b: Rate): number | null {
  return a.rate === null || b.rate === null ? null : b.rate - a.rate;
}

/** Every metric of SPECS §4, in the reports' order. */
export function metricDeltas(a: EvalResult, b: EvalResult): MetricDelta[] {
  return METRICS.map((m) => {
    const ra = a.aggregates.overall.metrics[m.key];
    const rb = b.aggregates.overall.metrics[m.key];
    return { key: m.key, label: m.label, a: ra, b: rb, delta: change(ra, rb) };
  });
}

/** Every failure kind: the share of runs with it. */
export function failureDeltas(a: EvalResult, b: EvalResult): FailureDelta[] {
  return FAILURE_KINDS.map((kind) => {
    const ra = a.aggregates.overall.failureRates[kind];
    const rb = b.aggregates.overall.failureRates[kind];
    return { kind, label: FAILURE_LABELS[kind], a: ra, b: rb, delta: change(ra, rb) };
  });
}

/** Where an evaluation came from, for an experiment's JSON. */
export interface EvalSource {
  /** The eval.json, as given or written. */
  file: string;
  /** Whether this invocation ran it (false: read from `file`). */
  ran: boolean;
  model: string;
  adapter?: string;
  engine?: string;
  date: string;
  tasks: number;
  wallS: number;
}

export function evalSource(result: EvalResult, file: string, ran: boolean): EvalSource {
  return {
    file,
    ran,
    model: result.model,
    ...(result.adapter === undefined ? {} : { adapter: result.adapter }),
    ...(result.settings.engine === undefined ? {} : { engine: result.settings.engine }),
    date: result.date,
    tasks: result.settings.tasks,
    wallS: result.wallMs / 1000,
  };
}
