// The main job of a first run, end to end on one machine: fetch a small model, build a training
// set, evaluate the model zero-shot, fine-tune it with QLoRA, evaluate the adapter on the same
// tasks, and compare. Every artefact lands in one folder; nothing here prints.

import { mkdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ChatModel } from "../agent/chat-model.js";
import { buildDataset } from "../data/build.js";
import { writeJsonl } from "../data/jsonl.js";
import { packageTasksFile } from "../data/package-tasks.js";
import type { Task, TrainingExample } from "../data/task.js";
import { readTasks } from "../data/tasks-file.js";
import { InvalidInputError } from "../errors.js";
import { writeEvalResult } from "../eval/files.js";
import { compareRuns } from "../eval/report.js";
import type { EvalResult } from "../eval/result.js";
import { type EvalProgress, evaluate } from "../eval/runner.js";
import type { ModelRequest } from "../infer/resolve.js";
import { findCatalogModel } from "../model/catalog.js";
import { type FetchProgress, fetchCatalogModel } from "../model/fetch-pypi.js";
import { exportGgufLoraForBase } from "../train/export-gguf-lora.js";
import { readPeftAdapter } from "../train/export-peft.js";
import { type FinetuneOptions, type FinetuneResult, finetune } from "../train/finetune.js";
import type { TrainProgress } from "../train/trainer.js";

/** The stages, in order. */
export type QuickstartStage = "fetch" | "data" | "zero-shot" | "train" | "export" | "fine-tuned" | "compare";

export interface QuickstartOptions {
  /** A catalog name (fetched when absent) or a .gguf path. Default smollm2-135m-instruct. */
  model?: string;
  /** Everything is written here. */
  outputDir: string;
  /** Training examples to build. Default 64. */
  samples?: number;
  epochs?: number;
  /** Evaluation tasks, taken evenly across categories from `tasksFile`. Default 12. */
  evalTasks?: number;
  /** Default data/eval/tasks.jsonl of the package. */
  tasksFile?: string;
  seed?: number;
  backend?: "cpu" | "cuda";
  maxLength?: number;
  lr?: number;
  gradAccum?: number;
  /** Reply tokens in evaluation. Default 192. */
  maxTokens?: number;
  onStage?(stage: QuickstartStage, detail: string): void;
  onFetchProgress?(p: FetchProgress): void;
  onTrainProgress?(p: TrainProgress): void;
  onEvalProgress?(stage: "zero-shot" | "fine-tuned", p: EvalProgress): void;
  /** Replaceable parts (tests): how a model opens, how training runs. */
  openModel?(request: ModelRequest): Promise<ChatModel>;
  finetune?(options: FinetuneOptions): Promise<FinetuneResult>;
}

export interface QuickstartResult {
  modelPath: string;
  trainFile: string;
  zeroShot: EvalResult;
  fineTuned: EvalResult;
  training: FinetuneResult;
  /** The GGUF LoRA the fine-tuned run used. */
  ggufAdapter: string;
  /** Markdown: zero-shot against fine-tuned, every metric with counts and deltas. */
  comparison: string;
  comparisonFile: string;
}


/** `n` tasks taken round-robin over the categories, each category in file order. */
export function pickTasks(tasks: readonly Task[], n: number): Task[] {
  const byCategory = new Map<string, Task[]>();
  for (const t of tasks) {
    const key = t.category ?? "";
    byCategory.set(key, [...(byCategory.get(key) ?? []), t]);
  }
  const queues = [...byCategory.values()];
  const out: Task[] = [];
  for (let i = 0; out.length < Math.min(n, tasks.length); i++) {
    const q = queues[i % queues.length] as Task[];
    const next = q.shift();
    if (next !== undefined) out.push(next);
  }
  return out;
}

async function defaultOpenModel(request: ModelRequest): Promise<ChatModel> {
  const { resolveModel } = await import("../infer/resolve.js");
  return resolveModel(request);
}

async function evaluateWith(open: (r: ModelRequest) => Promise<ChatModel>, request: ModelRequest, tasks: Task[], options: QuickstartOptions, stage: "zero-shot" | "fine-tuned", tasksFile: string): Promise<EvalResult> {
  const model = await open(request);
  try {
    return await evaluate({
      model,
      tasks,
      maxTokens: options.maxTokens ?? 192,
      engine: request.engine,
      adapter: request.adapter,
      tasksFile,
      onProgress: (p) => options.onEvalProgress?.(stage, p),
    });
  } finally {
    await model.dispose?.();
  }
}

/** Runs the quickstart; see QuickstartOptions. Writes train.jsonl, zero-shot/, train/, adapter.gguf, fine-tuned/, comparison.md. */
export async function quickstart(options: QuickstartOptions): Promise<QuickstartResult> {
  const stage = (s: QuickstartStage, detail: string) => options.onStage?.(s, detail);
  const modelRef = options.model ?? "smollm2-135m-instruct";
  const open = options.openModel ?? defaultOpenModel;
  const out = options.outputDir;
  mkdirSync(out, { recursive: true });

  const entry = findCatalogModel(modelRef);
  let modelPath = modelRef;
  if (entry !== undefined) {
    stage("fetch", `${entry.name} (${(entry.size / 2 ** 20).toFixed(0)} MiB, cached after the first run)`);
    modelPath = await fetchCatalogModel(entry, { onProgress: options.onFetchProgress });
  } else if (!modelRef.toLowerCase().endsWith(".gguf")) {
    throw new InvalidInputError(`the quickstart takes a catalog name or a .gguf file, got "${modelRef}"`, { field: "model", hint: "use agenttune train and agenttune eval for model folders" });
  }

  // the tasks first: a missing or broken task file fails before any data is built
  const tasksFile = options.tasksFile ?? packageTasksFile();
  const tasks = pickTasks(await readTasks(tasksFile), options.evalTasks ?? 12);
  const samples = options.samples ?? 64;
  stage("data", `${samples} training trajectories (seed ${options.seed ?? 0})`);
  const examples: TrainingExample[] = await buildDataset({ samples, seed: options.seed ?? 0 });
  const trainFile = join(out, "train.jsonl");
  await writeJsonl(trainFile, examples);


  stage("zero-shot", `${tasks.length} held-out tasks, ${modelRef} as it is`);
  const zeroShot = await evaluateWith(open, { model: modelPath, engine: "llama" }, tasks, options, "zero-shot", tasksFile);
  await writeEvalResult(join(out, "zero-shot"), zeroShot);

  stage("train", `QLoRA r16/α32 on all seven projections, ${options.epochs ?? 1} epoch(s), on the ${options.backend ?? "cpu"}`);
  const training = await (options.finetune ?? finetune)({
    model: modelPath,
    examples,
    dataFile: trainFile,
    outputDir: join(out, "train"),
    backend: options.backend ?? "cpu",
    epochs: options.epochs ?? 1,
    lr: options.lr ?? 2e-4,
    gradAccum: options.gradAccum ?? 4,
    maxLength: options.maxLength,
    saveEvery: 0,
    onProgress: options.onTrainProgress,
  });

  stage("export", "the adapter as a GGUF LoRA for llama.cpp");
  const ggufAdapter = join(out, "adapter.gguf");
  exportGgufLoraForBase(ggufAdapter, readPeftAdapter(training.adapterDir), modelPath);

  stage("fine-tuned", `the same ${tasks.length} tasks with the adapter`);
  const fineTuned = await evaluateWith(open, { model: modelPath, engine: "llama", adapter: ggufAdapter }, tasks, options, "fine-tuned", tasksFile);
  await writeEvalResult(join(out, "fine-tuned"), fineTuned);

  stage("compare", "zero-shot against fine-tuned");
  const comparison = compareRuns(zeroShot, fineTuned, { labels: ["zero-shot", "fine-tuned"], title: `Quickstart: ${modelRef}, zero-shot vs QLoRA fine-tuned` });
  const comparisonFile = join(out, "comparison.md");
  await writeFile(comparisonFile, comparison);
  return { modelPath, trainFile, zeroShot, fineTuned, training, ggufAdapter, comparison, comparisonFile };
}
