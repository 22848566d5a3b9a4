// The data-scaling study: for each training-set size and seed, build the data, fine-tune with
// QLoRA, evaluate on held-out tasks; then the table and charts. Resumable: a run whose eval.json
// exists is kept, a run trained but not evaluated is only evaluated, an interrupted training
// continues from its checkpoint. Nothing here prints.

import { existsSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../atomic-file.js";
import { existsMaybeGzipped } from "../gzip-file.js";
import { buildDataset } from "../data/build.js";
import { writeJsonl } from "../data/jsonl.js";
import type { Task } from "../data/task.js";
import { FileFormatError, InvalidInputError } from "../errors.js";
import { readEvalResult, writeEvalResult } from "../eval/files.js";
import type { EvalResult } from "../eval/result.js";
import type { EvalProgress } from "../eval/runner.js";
import { readTrainLog, type TrainLogEntry } from "../eval/train-log.js";
import { findCatalogModel } from "../model/catalog.js";
import type { FetchProgress } from "../model/fetch-pypi.js";
import { DEFAULT_LORA, type FinetuneOptions, type FinetuneResult, finetune } from "../train/finetune.js";
import { DEFAULT_MAX_LENGTH } from "../train/tokenize.js";
import type { TrainProgress } from "../train/trainer.js";
import { lossCurvesChart, metricsVsSamplesChart } from "./charts.js";
import { evaluateModel, type OpenModel } from "./evaluate-model.js";
import { describeMachine, type MachineInfo } from "./machine.js";
import { evalPlan, exportGgufLoraFor, fetchedModel } from "./model-files.js";
import { formatScalingReport, SCALING_CHARTS } from "./scaling-report.js";
import { type RunTrainingFigures, type ScalingDataSettings, type ScalingResult, type ScalingRun, type ScalingSettings, summarizeBySize } from "./scaling-summary.js";
import { loadExperimentTasks } from "./tasks.js";

/** What a study is doing, for progress lines. */
export type ScalingStage = "fetch" | "skip" | "data" | "train" | "export" | "eval" | "report";

export interface ScalingStageEvent {
  stage: ScalingStage;
  /** The run (`<size>-s<seed>`), absent for the study's own stages. */
  run?: string;
  /** 1-based position of the run, and how many there are. */
  index?: number;
  total?: number;
  detail: string;
}

export interface ScalingOptions {
  /** Base model: a catalog name (fetched when absent), a .gguf file, a Hugging Face folder or id. */
  model: string;
  /** Training-set sizes, e.g. [50, 100, 250, 500, 1000]. */
  sizes: readonly number[];
  /** Seeds, e.g. [0, 1]: each sets the data build, the LoRA initialisation and the batch order. */
  seeds: readonly number[];
  /** Where scaling.json, scaling.md, the charts and runs/ go. */
  outputDir: string;
  /** Evaluation tasks: a JSONL file, or the tasks themselves (then `tasksFile` only labels them). */
  tasksFile?: string;
  tasks?: readonly Task[];
  /** Evaluate only this many tasks, taken evenly across categories. Default: all. */
  evalTasks?: number;
  backend?: "cpu" | "cuda";
  /** The recipe (SPECS §6): 3 epochs, lr 2e-4, warm-up 3 %, batch 1 × 4, length 2048, LoRA r16/α32 on all seven projections. */
  epochs?: number;
  lr?: number;
  warmupRatio?: number;
  batchSize?: number;
  gradAccum?: number;
  maxLength?: number;
  lora?: Partial<ScalingSettings["lora"]>;
  /** Stop each training after this many steps: smoke runs only. */
  maxSteps?: number;
  /** Data-builder options for every run's training set (default: the builder's defaults). */
  data?: ScalingDataSettings;
  /** Checkpoint every N steps so an interrupted training continues. Default 50. */
  saveEvery?: number;
  /** Keep each run's training checkpoint (deleted once the adapter is written, by default). */
  keepCheckpoints?: boolean;
  /**
   * Train and evaluate nothing: report the runs already finished under the output folder (made
   * by an earlier invocation, or by the CLI's data build, train and eval steps elsewhere, with a
   * run.json of the same settings) and list the others as not run.
   */
  reportOnly?: boolean;
  /**
   * Train (and export) every run, evaluate none: for a GPU machine that trains while another
   * machine evaluates. The same command without it, given the run folders, then only evaluates.
   */
  trainOnly?: boolean;
  /** Evaluation engine: own (PEFT adapter) or llama (GGUF LoRA). Default: llama for a GGUF base, own otherwise. */
  engine?: "own" | "llama";
  /** Where the evaluation runs. Default cpu. */
  device?: "cpu" | "cuda";
  /** Model replies a run may take. Default 8. */
  evalMaxSteps?: number;
  /** Tokens a reply may have. Default 256. */
  maxTokens?: number;
  /**
   * Tasks in flight at once in each evaluation. Default 1. Not a setting of the study: greedy
   * replies do not depend on it, so a study may resume with another.
   */
  evalConcurrency?: number;
  /** The command line, written into the report. */
  command?: string;
  /** Default: this machine, with the GPU's name when the backend is cuda. */
  machine?: MachineInfo;
  onStage?(event: ScalingStageEvent): void;
  onFetchProgress?(p: FetchProgress): void;
  onTrainProgress?(run: string, p: TrainProgress): void;
  onEvalProgress?(run: string, p: EvalProgress): void;
  /** Replaceable parts (tests). */
  finetune?(options: FinetuneOptions): Promise<FinetuneResult>;
  openModel?: OpenModel;
}

/** The files of a finished study. */
export interface ScalingFiles {
  json: string;
  markdown: string;
  lossChart: string;
  metricsChart: string;
}

/** What a run's folder holds once trained (run.json): the training figures and the settings. */
interface RunRecord extends RunTrainingFigures {
  settings: ScalingSettings;
}

const RUN_JSON = "run.json";

function checkList(values: readonly number[], field: "sizes" | "seeds", min: number): void {
  if (values.length === 0) throw new InvalidInputError(`--${field} names no value`, { field, hint: field === "sizes" ? "e.g. --sizes 50,100,250,500,1000" : "e.g. --seeds 0,1" });
  for (const v of values) {
    if (!Number.isInteger(v) || v < min) throw new InvalidInputError(`--${field} takes whole numbers ≥ ${min}, got ${v}`, { field });
  }
  const dup = values.find((v, i) => values.indexOf(v) !== i);
  if (dup !== undefined) throw new InvalidInputError(`--${field} names ${dup} twice`, { field });
}

/** Training tokens, seconds in steps and the last applied loss, from a run's log. */
function logFigures(log: readonly TrainLogEntry[]): { tokens: number; stepS: number; finalLoss: number | null } {
  let tokens = 0;
  let stepS = 0;
  let finalLoss: number | null = null;
  for (const e of log) {
    const t = typeof e.tokens === "number" ? e.tokens : 0;
    const rate = typeof e.tokens_per_s === "number" ? e.tokens_per_s : 0;
    tokens += t;
    if (rate > 0) stepS += t / rate;
    if (e.skipped !== true && typeof e.loss === "number" && Number.isFinite(e.loss)) finalLoss = e.loss;
  }
  return { tokens, stepS, finalLoss };
}

/**
 * How the runs' data differ from the first builder's (plain Thoughts, default mix), in a fixed
 * key order; undefined when not at all. The tool check, now the builder's default, is recorded
 * as `toolCheck: true`, so runs made before it (which have no `data`) are not taken for it.
 */
function definedData(data: ScalingDataSettings | undefined): ScalingDataSettings | undefined {
  const out: ScalingDataSettings = {};
  if (data?.mix !== undefined) out.mix = data.mix;
  if (data?.restyle !== undefined) out.restyle = data.restyle;
  if (data?.restrictTools !== undefined) out.restrictTools = data.restrictTools;
  if (data?.toolCheck !== false) out.toolCheck = true;
  if (data?.planTools === true) out.planTools = true;
  if (data?.progress === true) out.progress = true;
  if (data?.morePhrasings === true) out.morePhrasings = true;
  if (data?.thirdPhrasings === true) out.thirdPhrasings = true;
  if (data?.carryOperands === true) out.carryOperands = true;
  if (data?.nameArguments === true) out.nameArguments = true;
  if (data?.restateRequest === true) out.restateRequest = true;
  if (data?.everyCompany === true) out.everyCompany = true;
  if (data?.contrastPairs === true) out.contrastPairs = true;
  if (data?.pairsKeepMix === true) out.pairsKeepMix = true;
  // 0 is the builder's default (off), recorded as nothing so earlier runs still match.
  if (data?.recovery !== undefined && data.recovery > 0) out.recovery = data.recovery;
  return Object.keys(out).length === 0 ? undefined : out;
}

/** Settings as compared on resume (key order fixed by construction). */
function sameSettings(a: ScalingSettings, b: ScalingSettings): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function differences(a: ScalingSettings, b: ScalingSettings): string {
  const keys = Object.keys({ ...a, ...b }) as (keyof ScalingSettings)[];
  return keys
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k} ${JSON.stringify(a[k])} then, ${JSON.stringify(b[k])} now`)
    .join("; ");
}

async function readRunRecord(dir: string, settings: ScalingSettings, id: string): Promise<RunRecord | undefined> {
  const file = join(dir, RUN_JSON);
  if (!existsSync(file)) return undefined;
  let record: RunRecord;
  try {
    record = JSON.parse(await readFile(file, "utf8")) as RunRecord;
  } catch (error) {
    throw new FileFormatError({ file, problem: `not valid JSON (${(error as Error).message})`, hint: "the run's record is damaged: delete that run's folder to train it again", cause: error });
  }
  if (!sameSettings(record.settings, settings)) {
    const plainThoughts = record.settings.data?.toolCheck !== true && settings.data?.toolCheck === true;
    throw new InvalidInputError(`run ${id} in ${dir} was made with other settings: ${differences(record.settings, settings)}`, {
      hint: plainThoughts
        ? "that run's data have the plain Thoughts (made before the tool check was the default): add --no-tool-check to use it"
        : "use another --out for other settings, or delete that run's folder to redo it",
    });
  }
  return record;
}

/** The row of scaling.json for a finished run. */
function runRow(id: string, size: number, seed: number, record: RunRecord, evaluation: EvalResult): ScalingRun {
  const { settings: _settings, ...figures } = record;
  const overall = evaluation.aggregates.overall;
  return { id, size, seed, ...figures, evalWallS: evaluation.wallMs / 1000, metrics: overall.metrics, failureRates: overall.failureRates };
}

/** Writes scaling.json, scaling.md and the two charts. */
async function writeStudy(outputDir: string, result: ScalingResult, logs: Map<string, TrainLogEntry[]>): Promise<ScalingFiles> {
  const files: ScalingFiles = {
    json: join(outputDir, "scaling.json"),
    markdown: join(outputDir, "scaling.md"),
    lossChart: join(outputDir, SCALING_CHARTS.loss),
    metricsChart: join(outputDir, SCALING_CHARTS.metrics),
  };
  const curves = result.runs.map((r) => ({ size: r.size, seed: r.seed, log: logs.get(r.id) ?? [] }));
  await writeFileAtomic(files.lossChart, lossCurvesChart(curves, `Training loss of every run: ${result.model}`));
  await writeFileAtomic(files.metricsChart, metricsVsSamplesChart(result.bySize, undefined, `Held-out metrics vs training samples: ${result.model}`));
  await writeFileAtomic(files.markdown, formatScalingReport(result));
  await writeJsonAtomic(files.json, result);
  return files;
}

/**
 * Runs the study (or the runs an earlier invocation left undone) and writes its files after
 * every run, so a crash loses at most the run in progress.
 *
 * @throws InvalidInputError for an empty or malformed size or seed list, a missing tasks file,
 *   or a finished run made with other settings.
 */
export async function runScalingStudy(options: ScalingOptions): Promise<{ result: ScalingResult; files: ScalingFiles }> {
  checkList(options.sizes, "sizes", 1);
  checkList(options.seeds, "seeds", 0);
  if (options.trainOnly === true && options.reportOnly === true) {
    throw new InvalidInputError("--train-only and --report-only exclude each other", { field: "train-only", hint: "train with --train-only, then write the table with --report-only (or evaluate with neither)" });
  }
  if (options.maxSteps !== undefined && (!Number.isInteger(options.maxSteps) || options.maxSteps < 1)) {
    throw new InvalidInputError(`--max-steps must be a whole number ≥ 1, got ${options.maxSteps}`, { field: "max-steps" });
  }
  const tasks = await loadExperimentTasks(options);
  const stage = (event: ScalingStageEvent) => options.onStage?.(event);

  if (typeof options.model !== "string" || options.model === "") throw new InvalidInputError("name the base model with --model", { field: "model" });
  const backend = options.backend ?? "cpu";
  if (findCatalogModel(options.model) !== undefined) stage({ stage: "fetch", detail: `${options.model} (cached after the first run)` });
  const modelPath = await fetchedModel(options.model, options.onFetchProgress);
  const plan = await evalPlan(modelPath, options.engine);
  const lora = { ...DEFAULT_LORA, ...options.lora, targets: [...(options.lora?.targets ?? DEFAULT_LORA.targets)] };
  const dataSettings = definedData(options.data);
  const settings: ScalingSettings = {
    model: options.model,
    backend,
    epochs: options.epochs ?? 3,
    lr: options.lr ?? 2e-4,
    warmupRatio: options.warmupRatio ?? 0.03,
    batchSize: options.batchSize ?? 1,
    gradAccum: options.gradAccum ?? 4,
    maxLength: options.maxLength ?? DEFAULT_MAX_LENGTH,
    lora: { rank: lora.rank, alpha: lora.alpha, dropout: lora.dropout, targets: lora.targets, ...(lora.neftuneAlpha ? { neftuneAlpha: lora.neftuneAlpha } : {}) },
    ...(options.maxSteps === undefined ? {} : { maxSteps: options.maxSteps }),
    ...(dataSettings === undefined ? {} : { data: dataSettings }),
    evalEngine: plan.engine,
    device: options.device ?? "cpu",
    ...(options.tasksFile === undefined ? {} : { tasksFile: options.tasksFile }),
    evalTasks: tasks.length,
    evalMaxSteps: options.evalMaxSteps ?? 8,
    maxTokens: options.maxTokens ?? 256,
  };
  const machine = options.machine ?? (await describeMachine({ gpu: backend === "cuda" || settings.device === "cuda" }));
  const sizes = [...options.sizes].sort((a, b) => a - b);
  const seeds = [...options.seeds].sort((a, b) => a - b);
  const total = sizes.length * seeds.length;
  const runs: ScalingRun[] = [];
  const logs = new Map<string, TrainLogEntry[]>();
  const snapshot = (): ScalingResult => ({
    version: 1,
    kind: "scaling",
    model: options.model,
    ...(options.command === undefined ? {} : { command: options.command }),
    date: new Date().toISOString(),
    machine,
    sizes,
    seeds,
    settings,
    runs: [...runs],
    bySize: summarizeBySize(runs),
  });

  const ggufBase = plan.modelPath.toLowerCase().endsWith(".gguf");
  let index = 0;
  for (const size of sizes) {
    for (const seed of seeds) {
      index++;
      const id = `${size}-s${seed}`;
      const dir = join(options.outputDir, "runs", id);
      const at = { run: id, index, total };
      let record = await readRunRecord(dir, settings, id);
      const evalFile = join(dir, "eval.json");
      if (record !== undefined && existsMaybeGzipped(evalFile)) {
        stage({ stage: "skip", ...at, detail: `${id} is done (${evalFile} exists); kept` });
        runs.push(runRow(id, size, seed, record, await readEvalResult(evalFile)));
        logs.set(id, existsMaybeGzipped(join(dir, "train_log.jsonl")) ? await readTrainLog(join(dir, "train_log.jsonl")) : []);
        continue;
      }
      if (options.reportOnly === true) {
        stage({ stage: "skip", ...at, detail: `${id} is ${record === undefined ? "not trained" : "not evaluated"}; not run (report only)` });
        continue;
      }
      const adapterDir = join(dir, "adapter");
      const ggufAdapter = join(dir, "adapter.gguf");
      if (record === undefined) {
        stage({ stage: "data", ...at, detail: `${size} training trajectories, seed ${seed}` });
        const examples = await buildDataset({ samples: size, seed, ...dataSettings, toolCheck: dataSettings?.toolCheck === true });
        const dataFile = join(dir, "train.jsonl");
        await writeJsonl(dataFile, examples);
        const resume = existsSync(join(dir, "checkpoint"));
        stage({ stage: "train", ...at, detail: `${examples.length} examples, ${settings.epochs} epoch(s) on the ${backend}${options.maxSteps === undefined ? "" : `, stopping after ${options.maxSteps} step(s)`}${resume ? ", continuing from the checkpoint" : ""}` });
        const started = performance.now();
        const trained = await (options.finetune ?? finetune)({
          model: modelPath,
          examples,
          dataFile,
          outputDir: dir,
          backend,
          lora: { ...lora, seed },
          maxLength: settings.maxLength,
          epochs: settings.epochs,
          lr: settings.lr,
          warmupRatio: settings.warmupRatio,
          batchSize: settings.batchSize,
          gradAccum: settings.gradAccum,
          saveEvery: options.saveEvery ?? 50,
          resume,
          ...(options.maxSteps === undefined ? {} : { maxSteps: options.maxSteps }),
          onProgress: (p) => options.onTrainProgress?.(id, p),
        });
        const wallS = (performance.now() - started) / 1000;
        const log = await readTrainLog(trained.logFile);
        const figures = logFigures(log);
        record = {
          settings,
          examples: trained.examples,
          steps: trained.steps,
          totalSteps: trained.totalSteps,
          finalLoss: figures.finalLoss,
          wallS,
          stepS: figures.stepS,
          tokens: figures.tokens,
          tokensPerS: figures.stepS > 0 ? figures.tokens / figures.stepS : null,
          resumedTraining: resume,
          trainedOn: machine,
          trainedAt: new Date().toISOString(),
        };
        // a GGUF base gets the GGUF LoRA too: node-llama-cpp evaluates it, and the parity experiment compares both
        if (ggufBase) {
          stage({ stage: "export", ...at, detail: "the adapter as a GGUF LoRA" });
          exportGgufLoraFor(ggufAdapter, adapterDir, plan.modelPath);
        }
        await writeJsonAtomic(join(dir, RUN_JSON), record);
        // the adapter is written: the checkpoint (LoRA weights and both Adam moments) is no longer needed
        if (options.keepCheckpoints !== true) rmSync(join(dir, "checkpoint"), { recursive: true, force: true });
      } else if (options.trainOnly !== true) {
        stage({ stage: "skip", ...at, detail: `${id} is trained (${join(dir, RUN_JSON)} exists); evaluating it` });
      }
      if (options.trainOnly === true) {
        stage({ stage: "skip", ...at, detail: `${id} is trained; not evaluated (train only)` });
        continue;
      }
      const adapter = plan.engine === "llama" ? ggufAdapter : adapterDir;
      stage({ stage: "eval", ...at, detail: `${tasks.length} tasks, ${plan.engine === "llama" ? "node-llama-cpp" : "our engine"} on the ${settings.device}` });
      const evaluation = await evaluateModel(
        { model: plan.modelPath, engine: plan.engine, adapter, device: settings.device },
        {
          tasks,
          ...(options.tasksFile === undefined ? {} : { tasksFile: options.tasksFile }),
          maxSteps: settings.evalMaxSteps,
          maxTokens: settings.maxTokens,
          ...(options.evalConcurrency === undefined ? {} : { concurrency: options.evalConcurrency }),
          ...(options.openModel === undefined ? {} : { openModel: options.openModel }),
          onProgress: (p) => options.onEvalProgress?.(id, p),
        },
      );
      await writeEvalResult(dir, evaluation);
      runs.push(runRow(id, size, seed, record, evaluation));
      logs.set(id, await readTrainLog(join(dir, "train_log.jsonl")));
      await writeStudy(options.outputDir, snapshot(), logs);
    }
  }
  stage({ stage: "report", detail: `${runs.length} runs` });
  const result = snapshot();
  const files = await writeStudy(options.outputDir, result, logs);
  return { result, files };
}
