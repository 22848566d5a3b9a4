import type { ChatModel } from "../agent/chat-model.js";
import type { Task } from "../data/task.js";
import { readEvalResult, writeEvalResult } from "../eval/files.js";
import type { EvalResult } from "../eval/result.js";
import { type EvalProgress, evaluate } from "../eval/runner.js";
import type { ModelRequest } from "../infer/resolve.js";

/** Opens a model for an experiment's evaluation; tests pass a scripted one. */
export type OpenModel = (request: ModelRequest) => Promise<ChatModel>;

/** How an experiment evaluates: the same for every model it compares. */
export interface ExperimentEvalOptions {
  tasks: readonly Task[];
  tasksFile?: string;
  /** Model replies allowed a run. Default 8. */
  maxSteps?: number;
  /** Tokens a reply may have. Default 256. */
  maxTokens?: number;
  /** Tasks in flight at once (batched on our engine). Default 1. */
  concurrency?: number;
  openModel?: OpenModel;
  onProgress?(p: EvalProgress): void;
  signal?: AbortSignal;
}

async function defaultOpenModel(request: ModelRequest): Promise<ChatModel> {
  // the engines load lazily: only the one a run uses
  const { resolveModel } = await import("../infer/resolve.js");
  return resolveModel(request);
}

/** Opens the model `request` names, runs the evaluation (greedy, k = 1) and disposes of the model. */
export async function evaluateModel(request: ModelRequest, options: ExperimentEvalOptions): Promise<EvalResult> {
  const model = await (options.openModel ?? defaultOpenModel)(request);
  try {
    return await evaluate({
      model,
      tasks: options.tasks,
      maxSteps: options.maxSteps ?? 8,
      maxTokens: options.maxTokens ?? 256,
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      ...(request.engine === undefined ? {} : { engine: request.engine }),
      ...(request.adapter === undefined ? {} : { adapter: request.adapter }),
      ...(options.tasksFile === undefined ? {} : { tasksFile: options.tasksFile }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } finally {
    await model.dispose?.();
  }
}

/**
 * An evaluation read from `existing` (an eval.json or its folder) when given, else run now and
 * written into `dir`. Returns the result, its file, and whether it ran.
 */
export async function evaluateOrRead(existing: string | undefined, dir: string, run: () => Promise<EvalResult>): Promise<{ result: EvalResult; file: string; ran: boolean }> {
  if (existing !== undefined) {
    const result = await readEvalResult(existing);
    return { result, file: existing, ran: false };
  }
  const result = await run();
  const { json } = await writeEvalResult(dir, result);
  return { result, file: json, ran: true };
}
