import type { ChatModel } from "../agent/chat-model.js";
import type { Task } from "../data/task.js";
import { readTasks } from "../data/tasks-file.js";
import { InvalidInputError } from "../errors.js";
import { writeEvalResult } from "../eval/files.js";
import { formatRate, METRICS } from "../eval/metrics.js";
import { type EvalTools, evaluate } from "../eval/runner.js";
import { type CommandSpec, defineCommand } from "./command.js";
import { deviceFlag } from "./device-flag.js";
import { wholeFlag } from "./flag-values.js";
import { ENGINE_NAMES, loadModelLazily, type ModelRequest } from "./load-model.js";
import { createProgress } from "./progress.js";

/** What the eval command needs to open a model from its flags. */
export type EvalModelRequest = ModelRequest;

/** Dependencies of the eval command, replaceable in tests. */
export interface EvalCommandDeps {
  loadModel(request: EvalModelRequest): Promise<ChatModel>;
  readTasks(file: string): Promise<Task[]>;
  /** The tools offered; default the built-in registry. */
  tools?: EvalTools;
}

const ENGINES = ENGINE_NAMES;

const defaultLoadModel = loadModelLazily;

/** Builds the `eval` command over the given model loader and task reader. */
export function createEvalCommand(deps: EvalCommandDeps = { loadModel: defaultLoadModel, readTasks }): CommandSpec {
  return defineCommand({
    name: "eval",
    summary: "evaluate a model (and adapter) on a task file: every metric, eval.json and eval.md",
    flags: {
      model: { type: "string", description: "a GGUF file, a model folder or id, or a server's model name", placeholder: "model", aliases: ["model_id", "model-path"] },
      adapter: { type: "string", description: "a LoRA adapter to apply (PEFT folder or GGUF LoRA)", placeholder: "path", aliases: ["adapter_path"] },
      tasks: { type: "string", description: "evaluation tasks, JSONL (SPECS §3)", placeholder: "file", aliases: ["tasks_file", "eval_file"] },
      out: { type: "string", description: "folder for eval.json and eval.md", placeholder: "dir", aliases: ["output_dir", "output-dir"] },
      engine: { type: "string", description: `how to run the model: ${ENGINES.join(" | ")} (default: from --model and --base-url)`, placeholder: "engine" },
      "base-url": { type: "string", description: "an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1", placeholder: "url" },
      device: { type: "string", description: "cpu or cuda: where the llama and own engines run", default: "cpu" },
      "api-key": { type: "string", description: "key for the server (default: $OPENAI_API_KEY)", placeholder: "key" },
      concurrency: { type: "number", description: "runs at once (our engine computes their replies together; node-llama-cpp one after another)", default: 1 },
      "max-steps": { type: "number", description: "model replies allowed a run", default: 8 },
      "max-tokens": { type: "number", description: "tokens a reply may have", default: 256, aliases: ["max_new_tokens"] },
      k: { type: "number", description: "runs per task; k > 1 gives pass^k (needs --temperature > 0)", default: 1 },
      temperature: { type: "number", description: "sampling temperature (0: greedy)", default: 0 },
      "seed-offset": { type: "number", description: "added to every task's simulator seed", default: 0 },
      timeout: { type: "number", description: "seconds one run may take before it counts as a timeout", default: 300 },
      limit: { type: "number", description: "evaluate only the first N tasks", placeholder: "n" },
      category: { type: "string", description: "evaluate only tasks of this category (repeatable)", multiple: true, placeholder: "name" },
    },
    details: `Writes DIR/eval.json (settings, every run with its trajectory, the aggregates) and DIR/eval.md
(the summary); prints the metrics table. Progress goes to stderr.
Examples:
  agenttune eval --model ~/.cache/agenttune/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf \\
    --tasks data/eval/tasks.jsonl --out results/zero-shot
  agenttune eval --engine openai --base-url http://127.0.0.1:8080/v1 --model qwen2.5-3b --tasks data/eval/tasks.jsonl --out results/qwen
  agenttune compare results/zero-shot/eval.json results/fine-tuned/eval.json`,
    async run(flags, _positionals, io) {
      const model = flags.model as string | undefined;
      const tasksFile = flags.tasks as string | undefined;
      const out = flags.out as string | undefined;
      for (const [name, value] of [
        ["model", model],
        ["tasks", tasksFile],
        ["out", out],
      ] as const) {
        if (value === undefined || value === "") {
          throw new InvalidInputError(`--${name} is required`, { field: name, hint: "run `agenttune eval --help` for an example" });
        }
      }
      const engine = flags.engine as string | undefined;
      if (engine !== undefined && !ENGINES.includes(engine)) {
        throw new InvalidInputError(`--engine must be one of ${ENGINES.join(", ")}, got "${engine}"`, { field: "engine" });
      }
      const limit = flags.limit as number | undefined;
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
        throw new InvalidInputError(`--limit must be a whole number of at least 1, got ${limit}`, { field: "limit" });
      }

      let tasks = await deps.readTasks(tasksFile as string);
      const categories = flags.category as string[] | undefined;
      if (categories !== undefined && categories.length > 0) tasks = tasks.filter((t) => categories.includes(t.category ?? ""));
      if (limit !== undefined) tasks = tasks.slice(0, limit);
      if (tasks.length === 0) {
        throw new InvalidInputError(`no tasks to evaluate in ${tasksFile}${categories ? ` for category ${categories.join(", ")}` : ""}`, {
          hint: "check the file and the --category / --limit flags",
        });
      }

      const adapter = flags.adapter as string | undefined;
      const baseUrl = flags["base-url"] as string | undefined;
      const apiKey = (flags["api-key"] as string | undefined) ?? process.env.OPENAI_API_KEY;
      const chatModel = await deps.loadModel({
        model: model as string,
        ...(adapter === undefined ? {} : { adapter }),
        ...(engine === undefined ? {} : { engine }),
        ...(baseUrl === undefined ? {} : { baseUrl }),
        ...(apiKey === undefined ? {} : { apiKey }),
        device: deviceFlag(flags.device),
        ...((flags.concurrency as number) > 1 ? { maxBatch: flags.concurrency as number } : {}),
      });

      const controller = new AbortController();
      const onSigint = () => {
        io.err("\ncancelling: runs in flight stop, the finished ones are written\n");
        controller.abort();
      };
      process.once("SIGINT", onSigint);
      const k = flags.k as number;
      const progress = createProgress({ total: tasks.length * k, label: "eval", io, unit: "runs" });
      let correct = 0;
      let done = 0;
      try {
        const result = await evaluate({
          model: chatModel,
          tasks,
          ...(deps.tools === undefined ? {} : { tools: deps.tools }),
          concurrency: flags.concurrency as number,
          maxSteps: flags["max-steps"] as number,
          maxTokens: flags["max-tokens"] as number,
          k,
          temperature: flags.temperature as number,
          seedOffset: wholeFlag(flags, "seed-offset", 0),
          timeoutMs: (flags.timeout as number) * 1000,
          signal: controller.signal,
          tasksFile: tasksFile as string,
          ...(adapter === undefined ? {} : { adapter }),
          ...(engine === undefined ? {} : { engine }),
          onProgress: ({ record }) => {
            done++;
            if (record.score.answerCorrectness) correct++;
            progress.tick(1, `${record.id}: ${record.status} · correct ${correct}/${done}`);
          },
        });
        progress.done();
        const files = await writeEvalResult(out as string, result);
        const overall = result.aggregates.overall;
        const width = Math.max(...METRICS.map((m) => m.label.length));
        const lines = METRICS.map((m) => `${m.label.padEnd(width)}  ${formatRate(overall.metrics[m.key])}`);
        if (overall.passK) lines.push(`${`pass^${overall.passK.k}`.padEnd(width)}  ${formatRate(overall.passK.taskSuccess)}`);
        io.out(`${lines.join("\n")}\n`);
        io.err(`wrote ${files.json} and ${files.markdown} (${(result.wallMs / 1000).toFixed(1)} s)\n`);
        return result.complete ? 0 : 130;
      } finally {
        progress.done();
        process.removeListener("SIGINT", onSigint);
        await chatModel.dispose?.();
      }
    },
  });
}

/** `agenttune eval`: the evaluation of SPECS §4 on a task file. */
export const evalCommand = createEvalCommand();
