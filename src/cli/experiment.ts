import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_TASKS, tasksFileFor } from "../data/package-tasks.js";
import { AgentTuneError, InvalidInputError } from "../errors.js";
import type { EvalProgress } from "../eval/runner.js";
import { runComparison } from "../experiment/compare.js";
import type { OpenModel } from "../experiment/evaluate-model.js";
import type { MachineInfo } from "../experiment/machine.js";
import { fetchedModel } from "../experiment/model-files.js";
import { runParity } from "../experiment/parity.js";
import { runScalingStudy } from "../experiment/scaling.js";
import { formatSeconds } from "../experiment/scaling-report.js";
import type { FetchProgress } from "../model/fetch-pypi.js";
import type { FinetuneOptions, FinetuneResult } from "../train/finetune.js";
import { runCliChild, runPool } from "./child-runs.js";
import { type CommandIO, type CommandSpec, commandArgs, defineCommand, type FlagSpec, type FlagValues, formatCommandLine } from "./command.js";
import { DATA_SHAPE_FLAGS, dataShapeOptions } from "./data-build.js";
import { deviceFlag } from "./device-flag.js";
import { dropoutFlag, NEFTUNE_FLAG, neftuneFlag, optionalWholeFlag, positiveFlag, wholeFlag } from "./flag-values.js";
import { createProgress, type Progress } from "./progress.js";

/** Parts of the experiment commands that tests replace. */
export interface ExperimentCommandDeps {
  finetune?(options: FinetuneOptions): Promise<FinetuneResult>;
  openModel?: OpenModel;
  machine?: MachineInfo;
}

/** `50,100,250` → [50, 100, 250]; anything else is a usage error naming the flag. */
function integerList(flags: FlagValues, name: string): number[] {
  const text = String(flags[name] ?? "");
  const parts = text.split(",").map((p) => p.trim());
  if (text.trim() === "" || parts.some((p) => !/^\d+$/.test(p))) {
    throw new InvalidInputError(`--${name} takes whole numbers separated by commas, got "${text}"`, { field: name, hint: name === "sizes" ? "e.g. --sizes 50,100,250,500,1000" : "e.g. --seeds 0,1" });
  }
  return parts.map(Number);
}

function required(flags: FlagValues, name: string, command: string): string {
  const v = flags[name];
  if (typeof v !== "string" || v === "") throw new InvalidInputError(`--${name} is required`, { field: name, hint: `run \`agenttune ${command} --help\` for an example` });
  return v;
}

function optional(flags: FlagValues, name: string): string | undefined {
  const v = flags[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}

function engineFlag(flags: FlagValues): "own" | "llama" | undefined {
  const v = flags.engine;
  if (v === undefined) return undefined;
  if (v === "own" || v === "llama") return v;
  throw new InvalidInputError(`--engine must be own or llama, got "${String(v)}"`, { field: "engine", hint: "own: our engine with the PEFT adapter; llama: node-llama-cpp with the GGUF LoRA" });
}

function backendFlag(flags: FlagValues): "cpu" | "cuda" {
  const v = flags.backend;
  if (v === "cpu" || v === "cuda") return v;
  throw new InvalidInputError(`--backend must be cpu or cuda, got ${String(v)}`, { field: "backend" });
}

/** One progress bar at a time over the stages of an experiment. */
function progressLines(io: CommandIO) {
  let bar: Progress | undefined;
  const finish = () => {
    bar?.done();
    bar = undefined;
  };
  return {
    finish,
    stage(text: string) {
      finish();
      io.err(`▸ ${text}\n`);
    },
    bar(total: number, label: string, unit: string): Progress {
      bar ??= createProgress({ total, label, io, unit });
      return bar;
    },
    fetch(p: FetchProgress) {
      this.bar(p.total || 1, "fetch", "bytes").tick(0, `${(p.received / 2 ** 20).toFixed(0)} MiB`);
    },
    eval(label: string, p: EvalProgress) {
      this.bar(p.total, label, "runs").tick(1, `${p.record.id}: ${p.record.status}`);
    },
  };
}

/** `{a: 1, b: undefined}` → `{a: 1}`: optional settings left out rather than set to undefined. */
function defined<T extends Record<string, unknown>>(values: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** What every experiment command passes on: the output folder, the evaluation, the command line, the hooks. */
function commonSettings(spec: CommandSpec, flags: FlagValues, deps: ExperimentCommandDeps, lines: ReturnType<typeof progressLines>) {
  return {
    outputDir: required(flags, "out", spec.name),
    ...evalSettings(flags),
    command: formatCommandLine(spec, flags),
    ...defined({ machine: deps.machine, openModel: deps.openModel }),
    onFetchProgress: (p: FetchProgress) => lines.fetch(p),
  };
}

const EVAL_FLAGS: Record<string, FlagSpec> = {
  tasks: { type: "string", description: "evaluation tasks, JSONL (SPECS §3); by default the package's held-out set", default: PACKAGE_TASKS, placeholder: "file", aliases: ["tasks_file", "eval_file"] },
  "eval-tasks": { type: "number", description: "evaluate only N tasks, taken evenly across categories (default: all)", placeholder: "n" },
  device: { type: "string", description: "cpu or cuda: where the evaluation's engine runs", default: "cpu" },
  "eval-max-steps": { type: "number", description: "model replies an evaluation run may take", default: 8 },
  "max-tokens": { type: "number", description: "tokens a reply may have", default: 256, aliases: ["max_new_tokens"] },
  concurrency: { type: "number", description: "tasks in flight at once in an evaluation (our engine batches them)", default: 1 },
};

function evalSettings(flags: FlagValues) {
  return {
    tasksFile: tasksFileFor(required(flags, "tasks", "experiment")),
    ...defined({ evalTasks: optionalWholeFlag(flags, "eval-tasks", 1) }),
    device: deviceFlag(flags.device),
    evalMaxSteps: wholeFlag(flags, "eval-max-steps", 1),
    maxTokens: wholeFlag(flags, "max-tokens", 1),
    evalConcurrency: wholeFlag(flags, "concurrency", 1),
  };
}

/** The three `agenttune experiment …` commands over the given parts. */
export function createExperimentCommands(deps: ExperimentCommandDeps = {}): CommandSpec[] {
  const scaling: CommandSpec = defineCommand({
    name: "experiment scaling",
    summary: "the data-scaling study: fine-tune and evaluate at each training-set size and seed; table and charts",
    flags: {
      model: { type: "string", description: "base model: a catalog name (fetched when absent), a .gguf, a Hugging Face folder or id", placeholder: "id|path", aliases: ["model_id"] },
      sizes: { type: "string", description: "training-set sizes, comma-separated", default: "50,100,250,500,1000", placeholder: "list" },
      seeds: { type: "string", description: "seeds, comma-separated (each sets the data build, the LoRA init and the batch order)", default: "0,1", placeholder: "list" },
      out: { type: "string", description: "folder for scaling.json, scaling.md, the charts and runs/", placeholder: "dir", aliases: ["output_dir", "output-dir"] },
      backend: { type: "string", description: "where training runs: cpu or cuda", default: "cpu" },
      epochs: { type: "number", description: "passes over each training set", default: 3, aliases: ["num_train_epochs"] },
      lr: { type: "number", description: "peak learning rate (cosine with 3 % warm-up)", default: 2e-4, aliases: ["learning_rate"] },
      rank: { type: "number", description: "LoRA rank r", default: 16, aliases: ["lora_r"] },
      alpha: { type: "number", description: "LoRA alpha", default: 32, aliases: ["lora_alpha"] },
      dropout: { type: "number", description: "LoRA dropout", default: 0.05, aliases: ["lora_dropout"] },
      ...NEFTUNE_FLAG,
      "batch-size": { type: "number", description: "sequences a micro-batch", default: 1 },
      "grad-accum": { type: "number", description: "micro-batches a step", default: 4, aliases: ["gradient_accumulation_steps"] },
      "max-length": { type: "number", description: "longest training sequence in tokens", default: 2048 },
      "max-steps": { type: "number", description: "stop each training after N steps (smoke runs; not the recipe)", placeholder: "n" },
      "save-every": { type: "number", description: "checkpoint every N steps, so an interrupted training continues", default: 50 },
      "keep-checkpoints": { type: "boolean", description: "keep each run's training checkpoint once its adapter is written" },
      "report-only": { type: "boolean", description: "train and evaluate nothing: write the table and charts of the runs already finished in --out" },
      "train-only": { type: "boolean", description: "train and export every run, evaluate none (evaluate later, elsewhere, with the same command)" },
      jobs: { type: "number", description: "runs trained and evaluated at once, each in a process of its own (a GPU that one small model leaves mostly idle takes several); their output goes to DIR/logs/", default: 1 },
      ...DATA_SHAPE_FLAGS,
      engine: { type: "string", description: "evaluation engine: own (PEFT adapter) or llama (GGUF LoRA) (default: llama for a GGUF, own for a folder)", placeholder: "engine" },
      ...EVAL_FLAGS,
    },
    details: `Writes DIR/scaling.json (every run and, per size, mean, std, min and max over the seeds),
DIR/scaling.md (the table, the command, the date, the machine), DIR/loss-curves.svg,
DIR/metrics-vs-samples.svg, and per run DIR/runs/<size>-s<seed>/ (train_log.jsonl, run.json,
eval.json, eval.md, adapter/, adapter.gguf for a GGUF base).
Resumable: run the same command again after a crash; runs whose eval.json exists are kept (and
said so), a trained run is only evaluated, an interrupted training continues from its checkpoint.
To train on a GPU machine and evaluate on another: --train-only there, copy --out, then the same
command without it here (it evaluates the trained runs and trains none).
With --jobs N, N copies of this command run at once, one size and seed each, and then this one
writes the table of every run that finished; a run that failed is named with its log, and the
same command again retries it.
The recipe is the reference's: NF4 base, LoRA r16/α32 dropout 0.05 on all seven projections,
lr 2e-4 cosine, 3 epochs, max length 2048. The data flags (${Object.keys(DATA_SHAPE_FLAGS)
      .map((f) => `--${f}`)
      .join(", ")}) change how every run's training set is built; they are part of the settings a
resumed study must share (runs made before the tool check was the default count as
--no-tool-check).
Examples:
  agenttune experiment scaling --model smollm2-135m-instruct --sizes 50,100,250,500,1000 --seeds 0,1 \\
    --tasks data/eval/tasks.jsonl --out results/scaling-smollm2 --backend cuda
  agenttune experiment scaling --model smollm2-135m-instruct --sizes 8,16 --seeds 0 --max-steps 2 \\
    --eval-tasks 4 --out /tmp/scaling-smoke`,
    async run(flags, _positionals, io) {
      const sizes = integerList(flags, "sizes");
      const seeds = integerList(flags, "seeds");
      const model = required(flags, "model", scaling.name);
      const backend = backendFlag(flags);
      const lines = progressLines(io);
      const jobs = wholeFlag(flags, "jobs", 1);
      const parallel = jobs > 1 && flags["report-only"] !== true;
      const failed = parallel ? await runCopies(flags, model, sizes, seeds, jobs, lines) : [];
      const { result, files } = await runScalingStudy({
        model,
        sizes,
        seeds,
        ...commonSettings(scaling, flags, deps, lines),
        backend,
        epochs: wholeFlag(flags, "epochs", 1),
        lr: positiveFlag(flags, "lr"),
        lora: { rank: wholeFlag(flags, "rank", 1), alpha: positiveFlag(flags, "alpha"), dropout: dropoutFlag(flags), ...neftuneFlag(flags) },
        batchSize: wholeFlag(flags, "batch-size", 1),
        gradAccum: wholeFlag(flags, "grad-accum", 1),
        maxLength: wholeFlag(flags, "max-length", 2),
        saveEvery: wholeFlag(flags, "save-every", 0),
        keepCheckpoints: flags["keep-checkpoints"] === true,
        // after the copies, this one only writes the table
        reportOnly: flags["report-only"] === true || parallel,
        trainOnly: flags["train-only"] === true,
        data: dataShapeOptions(flags),
        ...defined({ maxSteps: optionalWholeFlag(flags, "max-steps", 1), engine: engineFlag(flags), finetune: deps.finetune }),
        onStage: (e) => lines.stage(`${e.index === undefined ? "" : `[${e.index}/${e.total}] `}${e.stage}: ${e.detail}`),
        onTrainProgress: (_run, p) => lines.bar(p.totalSteps, "train", "steps").tick(1, `loss ${p.loss.toFixed(4)} ${Math.round(p.tokens_per_s)} tok/s`),
        onEvalProgress: (_run, p) => lines.eval("eval", p),
      });
      lines.finish();
      for (const g of result.bySize) {
        const ts = g.metrics.toolSelection;
        io.out(`${String(g.size).padStart(6)} samples × ${g.seeds.length} seed(s): tool selection ${ts === null ? "—" : `${(ts.mean * 100).toFixed(1)} %`}, final loss ${g.finalLoss === null ? "—" : g.finalLoss.mean.toFixed(3)}, training ${g.wallS === null ? "—" : formatSeconds(g.wallS.mean)}\n`);
      }
      io.out(`wrote ${files.markdown}, ${files.json}, ${files.lossChart}, ${files.metricsChart}\n`);
      if (failed.length > 0) {
        throw new AgentTuneError(`${failed.length} run${failed.length === 1 ? "" : "s"} of the study failed: ${failed.map((f) => `${f.id} (${f.log})`).join(", ")}`, {
          hint: "read each log for the error; the same command again retries what failed and keeps what finished",
          exitCode: 1,
        });
      }
      return 0;
    },
  });

  /**
   * `experiment scaling --jobs N`: the study's size × seed runs as copies of this command, N at once,
   * one run each, logs under DIR/logs/. Returns the runs that failed.
   */
  async function runCopies(flags: FlagValues, model: string, sizes: number[], seeds: number[], jobs: number, lines: ReturnType<typeof progressLines>) {
    const outputDir = required(flags, "out", scaling.name);
    // a catalog model is fetched once, here, not by every copy at the same time
    await fetchedModel(model, (p) => lines.fetch(p));
    const logs = join(outputDir, "logs");
    mkdirSync(logs, { recursive: true });
    const runs = sizes.flatMap((size) => seeds.map((seed) => ({ size, seed, id: `${size}-s${seed}`, log: join(logs, `${size}-s${seed}.txt`) })));
    const codes = await runPool(runs.length, jobs, async (i) => {
      const run = runs[i] as (typeof runs)[number];
      const at = `[${i + 1}/${runs.length}]`;
      lines.stage(`${at} start: ${run.id} (log: ${run.log})`);
      const code = await runCliChild(commandArgs(scaling, { ...flags, sizes: String(run.size), seeds: String(run.seed), jobs: 1 }), run.log);
      lines.stage(`${at} ${code === 0 ? "finished" : `failed (exit ${code})`}: ${run.id}`);
      return code;
    });
    return runs.filter((_, i) => codes[i] !== 0);
  }

  const compare: CommandSpec = defineCommand({
    name: "experiment compare",
    summary: "zero-shot vs fine-tuned on the same tasks: every metric side by side with the change, and a chart",
    flags: {
      model: { type: "string", description: "base model: a catalog name, a .gguf, a Hugging Face folder or id", placeholder: "id|path", aliases: ["model_id"] },
      adapter: { type: "string", description: "the fine-tuned adapter: a PEFT folder or a GGUF LoRA", placeholder: "path", aliases: ["adapter_path"] },
      out: { type: "string", description: "folder for compare.json, compare.md, compare.svg and the evaluations", placeholder: "dir", aliases: ["output_dir", "output-dir"] },
      engine: { type: "string", description: "own or llama (default: llama for a GGUF, own for a folder); a PEFT folder is exported as a GGUF LoRA for llama", placeholder: "engine" },
      "zero-shot-eval": { type: "string", description: "reuse this eval.json (or its folder) instead of evaluating the base model", placeholder: "file" },
      "finetuned-eval": { type: "string", description: "reuse this eval.json (or its folder) instead of evaluating the adapter", placeholder: "file", aliases: ["fine-tuned-eval"] },
      ...EVAL_FLAGS,
    },
    details: `Writes DIR/compare.json (every metric of SPECS §4 with counts and the change, the failure rates,
where each evaluation came from, the command, date and machine), DIR/compare.md (the table) and
DIR/compare.svg (bars), plus DIR/zero-shot/ and DIR/fine-tuned/ for the evaluations it ran.
Examples:
  agenttune experiment compare --model smollm2-135m-instruct --adapter runs/smollm2/adapter \\
    --tasks data/eval/tasks.jsonl --out results/compare-smollm2
  agenttune experiment compare --zero-shot-eval results/zero-shot-smollm2 \\
    --finetuned-eval results/scaling-smollm2/runs/1000-s0 --out results/compare-smollm2`,
    async run(flags, _positionals, io) {
      const lines = progressLines(io);
      const { result, files } = await runComparison({
        ...commonSettings(compare, flags, deps, lines),
        ...defined({
          model: optional(flags, "model"),
          adapter: optional(flags, "adapter"),
          engine: engineFlag(flags),
          zeroShotEval: optional(flags, "zero-shot-eval"),
          finetunedEval: optional(flags, "finetuned-eval"),
        }),
        onStage: (stage, detail) => lines.stage(`${stage}: ${detail}`),
        onEvalProgress: (which, p) => lines.eval(which, p),
      });
      lines.finish();
      const width = Math.max(...result.metrics.map((m) => m.label.length));
      for (const m of result.metrics) {
        const pct = (r: { rate: number | null }) => (r.rate === null ? "—" : `${(r.rate * 100).toFixed(1)} %`).padStart(8);
        io.out(`${m.label.padEnd(width)}  ${pct(m.a)} → ${pct(m.b)}  ${m.delta === null ? "" : `${m.delta >= 0 ? "+" : "−"}${Math.abs(m.delta * 100).toFixed(1)} pts`}\n`);
      }
      io.out(`wrote ${files.markdown}, ${files.json}, ${files.chart}\n`);
      return 0;
    },
  });

  const parity: CommandSpec = defineCommand({
    name: "experiment parity",
    summary: "deployment parity: one adapter on our engine and through node-llama-cpp, metric by metric and task by task",
    flags: {
      model: { type: "string", description: "base model as a GGUF: a catalog name or a .gguf file", placeholder: "id|path", aliases: ["model_id"] },
      adapter: { type: "string", description: "the adapter as a PEFT folder (our engine)", placeholder: "dir", aliases: ["adapter_path"] },
      "gguf-lora": { type: "string", description: "the same adapter as a GGUF LoRA (node-llama-cpp); default: exported from --adapter", placeholder: "file" },
      out: { type: "string", description: "folder for parity.json, parity.md, parity.svg and the evaluations", placeholder: "dir", aliases: ["output_dir", "output-dir"] },
      "own-eval": { type: "string", description: "reuse this eval.json (or its folder) instead of evaluating on our engine", placeholder: "file" },
      "llama-eval": { type: "string", description: "reuse this eval.json (or its folder) instead of evaluating through node-llama-cpp", placeholder: "file" },
      ...EVAL_FLAGS,
    },
    details: `Writes DIR/parity.json (every metric on both engines with the difference, and task by task whether
the tool calls, the answer and the ending agree), DIR/parity.md, DIR/parity.svg, DIR/own/ and DIR/llama/.
Example:
  agenttune experiment parity --model smollm2-135m-instruct --adapter results/scaling-smollm2/runs/1000-s0/adapter \\
    --gguf-lora results/scaling-smollm2/runs/1000-s0/adapter.gguf --tasks data/eval/tasks.jsonl --out results/parity-smollm2`,
    async run(flags, _positionals, io) {
      const lines = progressLines(io);
      const { result, files } = await runParity({
        ...commonSettings(parity, flags, deps, lines),
        ...defined({
          model: optional(flags, "model"),
          adapter: optional(flags, "adapter"),
          ggufLora: optional(flags, "gguf-lora"),
          ownEval: optional(flags, "own-eval"),
          llamaEval: optional(flags, "llama-eval"),
        }),
        onStage: (stage, detail) => lines.stage(`${stage}: ${detail}`),
        onEvalProgress: (engine, p) => lines.eval(engine, p),
      });
      lines.finish();
      const a = result.agreement;
      const pct = (r: { rate: number | null }) => (r.rate === null ? "—" : `${(r.rate * 100).toFixed(1)} %`);
      io.out(`${a.compared} runs compared: same tool calls ${pct(a.sameCalls)}, same answer ${pct(a.sameAnswer)}, same ending ${pct(a.sameStatus)}, all three ${pct(a.identical)}\n`);
      io.out(`wrote ${files.markdown}, ${files.json}, ${files.chart}\n`);
      return 0;
    },
  });

  return [scaling, compare, parity];
}

/** `agenttune experiment scaling | compare | parity`. */
export const experimentCommands: CommandSpec[] = createExperimentCommands();
