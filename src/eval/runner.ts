import type { ChatModel } from "../agent/chat-model.js";
import { ModelCallError } from "../agent/errors.js";
import { runAgent, type RunAgentOptions } from "../agent/run-agent.js";
import type { AgentTools } from "../agent/tools.js";
import type { AgentEvent, AgentResult } from "../agent/types.js";
import type { Task } from "../data/task.js";
import { InvalidInputError } from "../errors.js";
import type { ToolDefinition } from "../tools/types.js";
import { aggregateScores, type EvalStatus, scoreTask } from "./metrics.js";
import type { EvalResult, EvalSettings, TaskRecord } from "./result.js";

/**
 * The evaluation runner: every task (k times) through the ReAct runtime, a few at a time,
 * each run scored with the metrics of SPECS §4. A run that crashes or times out becomes a
 * record with that status; it never stops the evaluation.
 */

/** A tool registry the runner can narrow to a task's `tools` (ToolRegistry has `subset`). */
export type EvalTools = (AgentTools & { subset?(names: readonly string[]): AgentTools }) | readonly ToolDefinition[];

/** Runs one episode; `runAgent` unless a test or a custom runtime passes its own. */
export type EpisodeRunner = (options: RunAgentOptions) => Promise<AgentResult>;

/** Progress after each finished run. */
export interface EvalProgress {
  done: number;
  total: number;
  record: TaskRecord;
}

export interface EvaluateOptions {
  model: ChatModel;
  tasks: readonly Task[];
  /** The tools offered (narrowed per task to `task.tools` when given). Default: the ten built-in tools. */
  tools?: EvalTools;
  /** Runs at once. One model instance is shared; local models serialise their calls anyway. Default 1. */
  concurrency?: number;
  /** Model replies allowed a run. Default 8. */
  maxSteps?: number;
  /** Added to every task's simulator seed (a second evaluation seed sees other observations). Default 0. */
  seedOffset?: number;
  /** Runs per task; with k > 1 the result has pass^k (needs temperature > 0). Default 1. */
  k?: number;
  /** Sampling temperature. Default 0 (greedy). */
  temperature?: number;
  /** Tokens a reply may have. Default: the runtime's (256). */
  maxTokens?: number;
  /** Time limit of one run in ms; past it the run is recorded as "timeout". Default 300 000. */
  timeoutMs?: number;
  /** Cancels the evaluation: runs in flight stop, no new run starts, the result says `complete: false`. */
  signal?: AbortSignal;
  onProgress?: (progress: EvalProgress) => void;
  /** Every agent event of every run, tagged with the task and run. */
  onEvent?: (taskId: string, run: number, event: AgentEvent) => void;
  /** Recorded in the result. */
  adapter?: string;
  tasksFile?: string;
  engine?: string;
  /** Replaces runAgent (tests, custom runtimes). */
  runEpisode?: EpisodeRunner;
}

const RAW_REPLY_CHARS = 2000;
/** How long a run that ignores its abort signal is waited for after its time limit. */
const GRACE_MS = 5000;

function checkPositiveInteger(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidInputError(`${name} must be a whole number of at least 1, got ${value}`, { field: name });
  }
}

// Loaded lazily, so the runner pulls in the built-in simulators only when no tools are given.
const REGISTRY_MODULE = "../tools/registry.js";

async function defaultTools(): Promise<EvalTools> {
  const { createDefaultRegistry } = (await import(REGISTRY_MODULE)) as { createDefaultRegistry(): EvalTools };
  return createDefaultRegistry();
}

function toolNames(tools: EvalTools): Set<string> {
  const list = Array.isArray(tools) ? (tools as readonly ToolDefinition[]) : (tools as AgentTools).list();
  return new Set(list.map((t) => t.name));
}

/** The tools a task may use: the whole set, or the subset the task names. */
function toolsFor(task: Task, tools: EvalTools): EvalTools {
  if (task.tools === undefined) return tools;
  const wanted = new Set(task.tools);
  if (Array.isArray(tools)) return (tools as readonly ToolDefinition[]).filter((t) => wanted.has(t.name));
  const registry = tools as AgentTools & { subset?(names: readonly string[]): AgentTools };
  if (registry.subset) return registry.subset(task.tools);
  // A registry without subset: narrow it by hand, keeping its validating execute.
  return {
    list: () => registry.list().filter((t) => wanted.has(t.name)),
    has: (name) => wanted.has(name) && registry.has(name),
    execute: (call, options) => {
      if (!wanted.has(call.name)) {
        return Promise.reject(Object.assign(new Error(`unknown tool "${call.name}"`), { name: "UnknownToolError" }));
      }
      return registry.execute(call, options);
    },
  };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Evaluates a model on tasks and returns the full result: settings, one record per run (with
 * its compact trajectory and score) and the aggregates overall and per category.
 *
 * @throws InvalidInputError for bad settings, an empty task list, or a task naming a tool the set lacks.
 */
export async function evaluate(options: EvaluateOptions): Promise<EvalResult> {
  const concurrency = options.concurrency ?? 1;
  const maxSteps = options.maxSteps ?? 8;
  const k = options.k ?? 1;
  const temperature = options.temperature ?? 0;
  const seedOffset = options.seedOffset ?? 0;
  const timeoutMs = options.timeoutMs ?? 300_000;
  checkPositiveInteger(concurrency, "concurrency");
  checkPositiveInteger(maxSteps, "maxSteps");
  checkPositiveInteger(k, "k");
  if (!(timeoutMs > 0)) throw new InvalidInputError(`the time a task may take (--timeout) must be positive, got ${timeoutMs} ms`, { field: "timeoutMs" });
  if (!(temperature >= 0)) throw new InvalidInputError(`temperature must be 0 or more, got ${temperature}`, { field: "temperature" });
  if (k > 1 && temperature === 0) {
    throw new InvalidInputError(`pass^k with k = ${k} needs sampling, but the temperature is 0`, {
      field: "temperature",
      hint: "give a temperature above 0 (e.g. 0.7) with k > 1; greedy runs would all be the same",
    });
  }
  if (options.tasks.length === 0) {
    throw new InvalidInputError("there are no tasks to evaluate", { hint: "check the tasks file (and --limit)" });
  }
  const tools = options.tools ?? (await defaultTools());
  const available = toolNames(tools);
  for (const task of options.tasks) {
    const missing = (task.tools ?? []).filter((name) => !available.has(name));
    if (missing.length > 0) {
      throw new InvalidInputError(`task "${task.id}" offers tools that are not registered: ${missing.join(", ")}`, {
        hint: `the registered tools are: ${[...available].join(", ")}; register the missing ones or fix the task`,
      });
    }
  }

  const settings: EvalSettings = {
    ...(options.tasksFile === undefined ? {} : { tasksFile: options.tasksFile }),
    tasks: options.tasks.length,
    concurrency,
    maxSteps,
    seedOffset,
    k,
    temperature,
    ...(options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens }),
    timeoutMs,
    ...(options.engine === undefined ? {} : { engine: options.engine }),
  };
  const runEpisode = options.runEpisode ?? runAgent;
  const date = new Date().toISOString();
  const started = performance.now();

  const jobs: { task: Task; index: number; run: number }[] = [];
  options.tasks.forEach((task, index) => {
    for (let run = 0; run < k; run++) jobs.push({ task, index, run });
  });
  const records: (TaskRecord | undefined)[] = new Array(jobs.length);
  let next = 0;
  let done = 0;

  async function runOne(task: Task, run: number): Promise<TaskRecord> {
    const seed = (task.seed ?? 0) + seedOffset;
    const controller = new AbortController();
    let timedOut = false;
    const onAbort = () => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    let stopWaiting: () => void = () => {};
    const gaveUp = new Promise<"gave-up">((resolve) => {
      stopWaiting = () => resolve("gave-up");
    });
    let grace: ReturnType<typeof setTimeout> | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new DOMException(`the run passed its time limit of ${timeoutMs} ms`, "TimeoutError"));
      grace = setTimeout(stopWaiting, GRACE_MS);
    }, timeoutMs);
    const t0 = performance.now();
    let result: AgentResult | undefined;
    let status: EvalStatus;
    let error: string | undefined;
    try {
      const episode = runEpisode({
        model: options.model,
        tools: toolsFor(task, tools),
        query: task.query,
        maxSteps,
        seed,
        signal: controller.signal,
        generate: {
          temperature,
          seed: seed * 1000 + run,
          ...(options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens }),
        },
        ...(options.onEvent ? { onEvent: (event: AgentEvent) => options.onEvent?.(task.id, run, event) } : {}),
      });
      episode.catch(() => {}); // a run given up on may still reject later
      const outcome = await Promise.race([episode, gaveUp]);
      if (outcome === "gave-up") {
        status = "timeout";
        error = `the run passed its time limit of ${timeoutMs} ms and did not stop`;
      } else {
        result = outcome;
        status = result.status === "aborted" && timedOut ? "timeout" : result.status;
        if (status === "timeout") error = `the run passed its time limit of ${timeoutMs} ms`;
      }
    } catch (caught) {
      if (caught instanceof ModelCallError) result = caught.partial;
      status = timedOut ? "timeout" : "crashed";
      error = message(caught);
    } finally {
      clearTimeout(timer);
      if (grace !== undefined) clearTimeout(grace);
      options.signal?.removeEventListener("abort", onAbort);
    }
    const scorable = {
      status,
      ...(result?.answer === undefined ? {} : { answer: result.answer }),
      toolCalls: result?.toolCalls ?? [],
      failures: result?.failures ?? [],
      steps: result?.steps ?? 0,
    };
    return {
      id: task.id,
      category: task.category ?? "uncategorized",
      run,
      query: task.query,
      expectedTools: [...(task.expected_tools ?? [])],
      seed,
      status,
      ...(scorable.answer === undefined ? {} : { answer: scorable.answer }),
      steps: scorable.steps,
      toolCalls: [...scorable.toolCalls],
      failures: [...scorable.failures],
      trajectory: result?.trajectory.steps ?? [],
      rawReplies: (result?.rawReplies ?? []).map((r) => (r.length > RAW_REPLY_CHARS ? `${r.slice(0, RAW_REPLY_CHARS)}…` : r)),
      ...(error === undefined ? {} : { error }),
      elapsedMs: Math.round(performance.now() - t0),
      score: scoreTask(task, scorable, run),
    };
  }

  async function worker(): Promise<void> {
    while (next < jobs.length && !options.signal?.aborted) {
      const slot = next++;
      const { task, run } = jobs[slot];
      let record: TaskRecord;
      try {
        record = await runOne(task, run);
      } catch (caught) {
        // Scoring itself failed (a malformed task): still a record, never a stopped run.
        const scorable = { status: "crashed" as const, toolCalls: [], failures: [], steps: 0 };
        record = {
          id: String(task.id),
          category: task.category ?? "uncategorized",
          run,
          query: String(task.query),
          expectedTools: Array.isArray(task.expected_tools) ? [...task.expected_tools] : [],
          seed: (task.seed ?? 0) + seedOffset,
          status: "crashed",
          steps: 0,
          toolCalls: [],
          failures: [],
          trajectory: [],
          rawReplies: [],
          error: message(caught),
          elapsedMs: 0,
          score: scoreTask({ ...task, expected_tools: [] }, scorable, run),
        };
      }
      records[slot] = record;
      done++;
      options.onProgress?.({ done, total: jobs.length, record });
    }
  }

  const workers = Array.from({ length: Math.min(concurrency, jobs.length) }, () => worker());
  await Promise.all(workers);

  const finished = records.filter((r): r is TaskRecord => r !== undefined);
  return {
    version: 1,
    model: options.model.id,
    ...(options.adapter === undefined ? {} : { adapter: options.adapter }),
    date,
    settings,
    complete: finished.length === jobs.length && !finished.some((r) => r.status === "aborted"),
    wallMs: Math.round(performance.now() - started),
    records: finished,
    aggregates: aggregateScores(
      finished.map((r) => r.score),
      k,
    ),
  };
}
