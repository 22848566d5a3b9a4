// What the two experiments that set two evaluations side by side (compare, parity) share: the
// settings of both evaluations, and the files: <name>.md (the metric table with deltas, then
// their own sections and how it was made), <name>.svg (bars) and <name>.json.

import { join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../atomic-file.js";
import type { Task } from "../data/task.js";
import { compareRuns } from "../eval/report.js";
import type { EvalResult } from "../eval/result.js";
import type { EvalProgress } from "../eval/runner.js";
import type { FetchProgress } from "../model/fetch-pypi.js";
import { evalBarsChart } from "./charts.js";
import type { ExperimentEvalOptions, OpenModel } from "./evaluate-model.js";
import { describeMachine, type MachineInfo } from "./machine.js";
import { formatProvenance, type Provenance } from "./provenance.js";
import type { ExperimentTaskSource } from "./tasks.js";

export interface PairSettings extends ExperimentTaskSource {
  /** Where the files and the evaluations it runs go. */
  outputDir: string;
  /** Where the engines run. Default cpu. */
  device?: "cpu" | "cuda";
  /** Model replies a run may take. Default 8. */
  evalMaxSteps?: number;
  /** Tokens a reply may have. Default 256. */
  maxTokens?: number;
  /** Tasks in flight at once in each evaluation. Default 1. */
  evalConcurrency?: number;
  /** The command line, written into the report. */
  command?: string;
  /** Default: this machine (with the GPU's name when the device is cuda). */
  machine?: MachineInfo;
  onFetchProgress?(p: FetchProgress): void;
  /** Replaces the model resolution (tests). */
  openModel?: OpenModel;
}

export interface PairFiles {
  json: string;
  markdown: string;
  chart: string;
}

/** The evaluation options of one side. */
export function sideEvalOptions(settings: PairSettings, tasks: readonly Task[], onProgress: (p: EvalProgress) => void): ExperimentEvalOptions {
  return {
    tasks,
    ...(settings.tasksFile === undefined ? {} : { tasksFile: settings.tasksFile }),
    ...(settings.evalMaxSteps === undefined ? {} : { maxSteps: settings.evalMaxSteps }),
    ...(settings.maxTokens === undefined ? {} : { maxTokens: settings.maxTokens }),
    ...(settings.evalConcurrency === undefined ? {} : { concurrency: settings.evalConcurrency }),
    ...(settings.openModel === undefined ? {} : { openModel: settings.openModel }),
    onProgress,
  };
}

/** The command, now, and the machine. */
export async function pairProvenance(settings: PairSettings): Promise<Provenance> {
  return {
    ...(settings.command === undefined ? {} : { command: settings.command }),
    date: new Date().toISOString(),
    machine: settings.machine ?? (await describeMachine({ gpu: settings.device === "cuda" })),
  };
}

export interface PairReport {
  outputDir: string;
  /** Base name of the files: compare → compare.md, compare.svg, compare.json. */
  name: string;
  a: EvalResult;
  b: EvalResult;
  labels: [string, string];
  title: string;
  provenance: Provenance;
  /** Markdown bullets naming where each evaluation came from. */
  sources: string[];
  /** Markdown sections between the metric table and how it was made. */
  sections?: string[];
  json: unknown;
}

/** Writes the chart, the Markdown, then the JSON (last: its presence means all three are whole). */
export async function writePairReport(report: PairReport): Promise<PairFiles> {
  const files: PairFiles = {
    json: join(report.outputDir, `${report.name}.json`),
    markdown: join(report.outputDir, `${report.name}.md`),
    chart: join(report.outputDir, `${report.name}.svg`),
  };
  await writeFileAtomic(files.chart, evalBarsChart([report.a, report.b], report.labels, report.title));
  const table = compareRuns(report.a, report.b, { labels: report.labels, title: report.title });
  const made = ["## How this was made", "", ...formatProvenance(report.provenance), ...report.sources, "", `![${report.title}](${report.name}.svg)`, ""];
  await writeFileAtomic(files.markdown, `${table}\n${[...(report.sections ?? []), ...made].join("\n")}`);
  await writeJsonAtomic(files.json, report.json);
  return files;
}
