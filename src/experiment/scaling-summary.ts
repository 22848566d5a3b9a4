// What a data-scaling study records (scaling.json): every run's metrics and training figures,
// and per training-set size their mean and spread over the seeds. Pure data, no I/O.

import type { Category } from "../data/schema.js";
import { METRICS, type MetricKey, type Rate } from "../eval/metrics.js";
import { type Spread, spreadOf } from "../eval/stats.js";
import type { FailureKind } from "../react/types.js";
import type { MachineInfo } from "./machine.js";

/** Data-builder options a study may change (`buildDataset`'s mix, restyle, restrictTools, toolCheck, planTools, progress, morePhrasings, thirdPhrasings, carryOperands, nameArguments, restateRequest, everyCompany, contrastPairs, pairsKeepMix, recovery). */
export interface ScalingDataSettings {
  mix?: Partial<Record<Category, number>>;
  restyle?: number;
  restrictTools?: number;
  toolCheck?: boolean;
  planTools?: boolean;
  progress?: boolean;
  morePhrasings?: boolean;
  thirdPhrasings?: boolean;
  carryOperands?: boolean;
  nameArguments?: boolean;
  restateRequest?: boolean;
  everyCompany?: boolean;
  contrastPairs?: boolean;
  pairsKeepMix?: boolean;
  recovery?: number;
}

/** The settings every run of a study shares; a finished run made with others is not reused. */
export interface ScalingSettings {
  model: string;
  backend: "cpu" | "cuda";
  epochs: number;
  lr: number;
  warmupRatio: number;
  batchSize: number;
  gradAccum: number;
  maxLength: number;
  /** neftuneAlpha only when NEFTune is on, so studies from before it resume. */
  lora: { rank: number; alpha: number; dropout: number; targets: readonly string[]; neftuneAlpha?: number };
  /** Training stops after this many steps (a smoke run); absent for the full recipe. */
  maxSteps?: number;
  /** How the training sets differ from the first builder's (plain Thoughts, default mix); absent when not at all. */
  data?: ScalingDataSettings;
  /** Evaluation: the engine, where it ran, the tasks. */
  evalEngine: "own" | "llama";
  device: "cpu" | "cuda";
  tasksFile?: string;
  evalTasks: number;
  evalMaxSteps: number;
  maxTokens: number;
}

/** What a run's training gave (its run.json holds these beside the settings). */
export interface RunTrainingFigures {
  /** Training examples after tokenization (some may be skipped as too long). */
  examples: number;
  steps: number;
  totalSteps: number;
  /** Loss of the last applied step; null when no step was applied. */
  finalLoss: number | null;
  /** Seconds of the whole fine-tuning call: load, tokenize, train, write the adapter. */
  wallS: number;
  /** Seconds spent in training steps (from the log). */
  stepS: number;
  /** Tokens through the model in training (padding included). */
  tokens: number;
  /** tokens / stepS; null when no step was timed. */
  tokensPerS: number | null;
  /** True when training continued from a checkpoint of an interrupted invocation. */
  resumedTraining: boolean;
  /** Where and when it was trained (absent in runs recorded before these fields). */
  trainedOn?: MachineInfo;
  trainedAt?: string;
}

/** One size × seed: trained, then evaluated. */
export interface ScalingRun extends RunTrainingFigures {
  /** `<size>-s<seed>`, also its folder under runs/. */
  id: string;
  size: number;
  seed: number;
  evalWallS: number;
  metrics: Record<MetricKey, Rate>;
  failureRates: Record<FailureKind, Rate>;
}

/** Every run of one training-set size, summarised over its seeds. */
export interface ScalingSizeSummary {
  size: number;
  seeds: number[];
  /** Each metric's rate (0–1); null where it applied to no task of any run. */
  metrics: Record<MetricKey, Spread | null>;
  finalLoss: Spread | null;
  wallS: Spread | null;
  tokensPerS: Spread | null;
}

/** scaling.json. */
export interface ScalingResult {
  version: 1;
  kind: "scaling";
  /** The base model as given (a catalog name, a path). */
  model: string;
  /** The exact command line, when the CLI ran it. */
  command?: string;
  /** When this file was written (ISO). */
  date: string;
  machine: MachineInfo;
  sizes: number[];
  seeds: number[];
  settings: ScalingSettings;
  /** The finished runs, by size then seed. */
  runs: ScalingRun[];
  bySize: ScalingSizeSummary[];
}

/** The summary of each size present in `runs`, in increasing size; seeds in increasing order. */
export function summarizeBySize(runs: readonly ScalingRun[]): ScalingSizeSummary[] {
  const sizes = [...new Set(runs.map((r) => r.size))].sort((a, b) => a - b);
  return sizes.map((size) => {
    const group = runs.filter((r) => r.size === size);
    const metrics = Object.fromEntries(METRICS.map((m) => [m.key, spreadOf(group.map((r) => r.metrics[m.key].rate))])) as Record<MetricKey, Spread | null>;
    return {
      size,
      seeds: group.map((r) => r.seed).sort((a, b) => a - b),
      metrics,
      finalLoss: spreadOf(group.map((r) => r.finalLoss)),
      wallS: spreadOf(group.map((r) => r.wallS)),
      tokensPerS: spreadOf(group.map((r) => r.tokensPerS)),
    };
  });
}
