// The whole fine-tuning job behind `agenttune train` and the quickstart: open the base model on a
// backend, tokenize the trajectories with its chat template (loss on assistant text), run the
// trainer (checkpoints, resume, log), export the PEFT adapter.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TrainingExample } from "../data/task.js";
import { InvalidInputError } from "../errors.js";
import type { DistributedOptions } from "./distributed.js";
import type { LoadedTrainModel, TrainEngineLoader, TrainEngineRequest } from "./engine.js";
import { exportPeftAdapter } from "./export-peft.js";
import { DEFAULT_MAX_LENGTH, type TokenizedDataset, tokenizeDataset } from "./tokenize.js";
import { type TrainProgress, type TrainResult, train } from "./trainer.js";

export interface FinetuneOptions {
  /** Base model: catalog name, .gguf, HF folder or ORG/NAME. */
  model: string;
  /** Training examples with `messages` (agenttune data build writes them). */
  examples: readonly TrainingExample[];
  /** Where the data came from: its bytes' hash guards `resume` against other data. */
  dataFile?: string;
  outputDir: string;
  backend?: "cpu" | "cuda";
  lora?: Partial<TrainEngineRequest["lora"]>;
  maxLength?: number;
  epochs?: number;
  lr?: number;
  warmupRatio?: number;
  /** AdamW's decoupled weight decay. Default 0. */
  weightDecay?: number;
  /** The gradients' global L2 norm is clipped to this. Default 1. */
  maxGradNorm?: number;
  batchSize?: number;
  gradAccum?: number;
  saveEvery?: number;
  resume?: boolean;
  /** Stop after this many optimizer steps in all (short smoke runs); the schedule stays that of the full run. */
  maxSteps?: number;
  /** Data-parallel training: this process is one rank (only rank 0 writes the log, checkpoints and adapter). */
  distributed?: DistributedOptions;
  /** The GPU of this process (a rank's own); default 0. */
  deviceOrdinal?: number;
  /** Activation recomputation on the GPU: "off" (default), "selective" or "full". */
  recompute?: TrainEngineRequest["recompute"];
  /** Replaces the engine (tests). Default: the engine's decoder (src/train/decoder-engine.ts). */
  loadEngine?: TrainEngineLoader;
  onTokenized?(dataset: TokenizedDataset): void;
  onProgress?(progress: TrainProgress): void;
  onWarning?(message: string): void;
}

export interface FinetuneResult extends TrainResult {
  adapterDir: string;
  examples: number;
}

export const DEFAULT_LORA: TrainEngineRequest["lora"] = { rank: 16, alpha: 32, dropout: 0.05, targets: ["q", "k", "v", "o", "gate", "up", "down"], seed: 42 };

async function defaultLoadEngine(request: TrainEngineRequest): Promise<LoadedTrainModel> {
  // loads lazily: the engine's decoder is only needed once a run starts
  const { loadTrainModel } = await import("./decoder-engine.js");
  return loadTrainModel(request);
}

/** Fine-tunes `model` with QLoRA on `examples`; writes outputDir/{train_log.jsonl, checkpoint/, adapter/}. */
export async function finetune(options: FinetuneOptions): Promise<FinetuneResult> {
  const lora = { ...DEFAULT_LORA, ...options.lora };
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
  const noMessages = options.examples.find((e) => !Array.isArray(e.messages));
  if (noMessages !== undefined) {
    throw new InvalidInputError(`example "${noMessages.id}"${options.dataFile ? ` in ${options.dataFile}` : ""} has no "messages"`, { hint: "build the file with agenttune data build, which writes messages" });
  }
  const engine = await (options.loadEngine ?? defaultLoadEngine)({ model: options.model, backend: options.backend ?? "cpu", lora, ...(options.deviceOrdinal === undefined ? {} : { deviceOrdinal: options.deviceOrdinal }), ...(options.recompute === undefined ? {} : { recompute: options.recompute }) });
  try {
    const tokenized = tokenizeDataset(
      options.examples.map((e) => e.messages ?? []),
      { tokenize: engine.tokenize, template: engine.template, maxLength },
    );
    options.onTokenized?.(tokenized);
    const dataHash = options.dataFile ? createHash("sha256").update(readFileSync(options.dataFile)).digest("hex") : createHash("sha256").update(JSON.stringify(options.examples)).digest("hex");
    const result = await train({
      model: engine.model,
      modelId: options.model,
      examples: tokenized.examples,
      outputDir: options.outputDir,
      epochs: options.epochs,
      lr: options.lr,
      warmupRatio: options.warmupRatio,
      ...(options.weightDecay === undefined ? {} : { weightDecay: options.weightDecay }),
      ...(options.maxGradNorm === undefined ? {} : { maxGradNorm: options.maxGradNorm }),
      batchSize: options.batchSize,
      gradAccum: options.gradAccum,
      seed: lora.seed,
      saveEvery: options.saveEvery,
      resume: options.resume,
      maxSteps: options.maxSteps,
      padId: engine.padId,
      fingerprintExtra: { lora, maxLength, dataHash, examples: options.examples.length },
      onWarning: options.onWarning,
      onProgress: options.onProgress,
      ...(options.distributed === undefined ? {} : { distributed: options.distributed }),
    });
    const adapterDir = join(options.outputDir, "adapter");
    // every rank holds the same adapter; one writes it
    if ((options.distributed?.reducer.rank ?? 0) === 0) exportPeftAdapter(adapterDir, engine.adapter());
    return { ...result, adapterDir, examples: tokenized.examples.length };
  } finally {
    engine.close?.();
  }
}
