// Zero-shot against fine-tuned (table 1 of the experiments issue), for one model: both
// evaluations on the same tasks (or eval.json files of earlier ones), every metric side by side
// with the change, and a bar chart. Nothing here prints.

import { join } from "node:path";
import { InvalidInputError } from "../errors.js";
import type { EvalResult } from "../eval/result.js";
import type { EvalProgress } from "../eval/runner.js";
import { readPeftAdapter } from "../train/export-peft.js";
import { evaluateModel, evaluateOrRead } from "./evaluate-model.js";
import { type EvalSource, evalSource, type FailureDelta, failureDeltas, type MetricDelta, metricDeltas } from "./metric-deltas.js";
import { adapterForEngine, evalPlan, fetchedModel, isFile } from "./model-files.js";
import { type PairFiles, type PairSettings, pairProvenance, sideEvalOptions, writePairReport } from "./pair-report.js";
import type { Provenance } from "./provenance.js";
import { loadExperimentTasks } from "./tasks.js";

export type CompareStage = "fetch" | "zero-shot" | "fine-tuned" | "report";

export interface CompareExperimentOptions extends PairSettings {
  /** The base model (needed unless both evaluations are given). */
  model?: string;
  /** The fine-tuned adapter: a PEFT folder or a GGUF LoRA (needed unless `finetunedEval` is given). */
  adapter?: string;
  /** Default: llama for a GGUF base, own for a folder. */
  engine?: "own" | "llama";
  /** Earlier evaluations to reuse instead of running them (eval.json or its folder). */
  zeroShotEval?: string;
  finetunedEval?: string;
  onStage?(stage: CompareStage, detail: string): void;
  onEvalProgress?(which: "zero-shot" | "fine-tuned", p: EvalProgress): void;
}

/** compare.json. */
export interface ComparisonResult extends Provenance {
  version: 1;
  kind: "compare";
  model: string;
  adapter?: string;
  /** Column names of `a` and `b` in the rows. */
  columns: ["zero-shot", "fine-tuned"];
  zeroShot: EvalSource;
  fineTuned: EvalSource;
  metrics: MetricDelta[];
  failureRates: FailureDelta[];
}

export type ComparisonFiles = PairFiles;

/** The chart file beside compare.md. */
export const COMPARE_CHART = "compare.svg";
const COLUMNS: ComparisonResult["columns"] = ["zero-shot", "fine-tuned"];

function basename(path: string): string {
  return path.split(/[\\/]/).filter((p) => p !== "").at(-1) ?? path;
}

/**
 * Runs (or reads) the zero-shot and the fine-tuned evaluation and writes the comparison.
 *
 * @throws InvalidInputError when a needed model, adapter or tasks file is not given or missing.
 */
export async function runComparison(options: CompareExperimentOptions): Promise<{ result: ComparisonResult; zeroShot: EvalResult; fineTuned: EvalResult; files: ComparisonFiles }> {
  const stage = (s: CompareStage, detail: string) => options.onStage?.(s, detail);
  const needsModel = options.zeroShotEval === undefined || options.finetunedEval === undefined;
  if (needsModel && (options.model === undefined || options.model === "")) {
    throw new InvalidInputError("name the base model with --model", { field: "model", hint: "or give both --zero-shot-eval and --finetuned-eval to compare earlier evaluations" });
  }
  if (options.finetunedEval === undefined && (options.adapter === undefined || options.adapter === "")) {
    throw new InvalidInputError("name the fine-tuned adapter with --adapter (a PEFT folder or a GGUF LoRA)", { field: "adapter", hint: "or give --finetuned-eval with an earlier evaluation of it" });
  }
  // the tasks, then the model: a missing tasks file fails before any model loads
  const tasks = needsModel ? await loadExperimentTasks(options) : [];
  let plan: Awaited<ReturnType<typeof evalPlan>> | undefined;
  if (needsModel) {
    stage("fetch", options.model as string);
    plan = await evalPlan(await fetchedModel(options.model as string, options.onFetchProgress), options.engine);
  }
  // the adapter too, before the zero-shot evaluation spends minutes: readable, and in the form the
  // engine takes (a GGUF LoRA exported now for node-llama-cpp)
  let adapter: string | undefined;
  if (plan !== undefined && options.finetunedEval === undefined) {
    adapter = adapterForEngine(plan, options.adapter as string, join(options.outputDir, "adapter.gguf"));
    if (plan.engine === "own" && !isFile(adapter)) readPeftAdapter(adapter);
  }
  const device = options.device ?? "cpu";
  const side = (which: "zero-shot" | "fine-tuned") => sideEvalOptions(options, tasks, (p) => options.onEvalProgress?.(which, p));

  stage("zero-shot", options.zeroShotEval === undefined ? `${options.model} as it is` : `reading ${options.zeroShotEval}`);
  const zero = await evaluateOrRead(options.zeroShotEval, join(options.outputDir, "zero-shot"), () => {
    const p = plan as NonNullable<typeof plan>;
    return evaluateModel({ model: p.modelPath, engine: p.engine, device }, side("zero-shot"));
  });
  stage("fine-tuned", options.finetunedEval === undefined ? `with ${options.adapter}` : `reading ${options.finetunedEval}`);
  const tuned = await evaluateOrRead(options.finetunedEval, join(options.outputDir, "fine-tuned"), () => {
    const p = plan as NonNullable<typeof plan>;
    return evaluateModel({ model: p.modelPath, engine: p.engine, adapter: adapter as string, device }, side("fine-tuned"));
  });

  stage("report", "compare.json, compare.md, compare.svg");
  const model = options.model ?? basename(zero.result.model);
  const adapterName = options.adapter ?? tuned.result.adapter;
  const result: ComparisonResult = {
    version: 1,
    kind: "compare",
    model,
    ...(adapterName === undefined ? {} : { adapter: adapterName }),
    ...(await pairProvenance(options)),
    columns: COLUMNS,
    zeroShot: evalSource(zero.result, zero.file, zero.ran),
    fineTuned: evalSource(tuned.result, tuned.file, tuned.ran),
    metrics: metricDeltas(zero.result, tuned.result),
    failureRates: failureDeltas(zero.result, tuned.result),
  };
  const files = await writePairReport({
    outputDir: options.outputDir,
    name: "compare",
    a: zero.result,
    b: tuned.result,
    labels: COLUMNS,
    title: `Zero-shot vs fine-tuned: ${model}`,
    provenance: result,
    sources: [`- Zero-shot: \`${zero.file}\`${zero.ran ? "" : " (an earlier evaluation)"}`, `- Fine-tuned: \`${tuned.file}\`${tuned.ran ? "" : " (an earlier evaluation)"}`],
    json: result,
  });
  return { result, zeroShot: zero.result, fineTuned: tuned.result, files };
}
