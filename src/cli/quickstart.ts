import { InvalidInputError } from "../errors.js";
import { formatRate, METRICS } from "../eval/metrics.js";
import type { EvalResult } from "../eval/result.js";
import { type QuickstartOptions, quickstart } from "../pipeline/quickstart.js";
import { type CommandSpec, defineCommand } from "./command.js";
import { positiveFlag, wholeFlag } from "./flag-values.js";
import { createProgress, type Progress } from "./progress.js";

/** The headline rows of the comparison, for the terminal. */
function table(a: EvalResult, b: EvalResult): string {
  const x = a.aggregates.overall.metrics;
  const y = b.aggregates.overall.metrics;
  const width = Math.max(...METRICS.map((m) => m.label.length));
  const lines = [`${"metric".padEnd(width)}  ${"zero-shot".padEnd(17)}  fine-tuned`];
  for (const m of METRICS) lines.push(`${m.label.padEnd(width)}  ${formatRate(x[m.key]).padEnd(17)}  ${formatRate(y[m.key])}`);
  return `${lines.join("\n")}\n`;
}

export const quickstartCommand: CommandSpec = defineCommand({
  name: "quickstart",
  summary: "the whole job on a small model: fetch, build data, evaluate zero-shot, fine-tune with QLoRA, evaluate again, compare",
  flags: {
    model: { type: "string", description: "a catalog model (fetched when absent) or a .gguf file", default: "smollm2-135m-instruct", aliases: ["model_id"], placeholder: "name" },
    out: { type: "string", description: "folder for every artefact", default: "runs/quickstart", aliases: ["output_dir", "output-dir"], placeholder: "dir" },
    samples: { type: "number", description: "training trajectories to build", default: 64, aliases: ["train_samples", "train-samples"] },
    epochs: { type: "number", description: "passes over the training set", default: 1, aliases: ["num_train_epochs"] },
    "eval-tasks": { type: "number", description: "held-out tasks, taken evenly across categories", default: 12, placeholder: "n" },
    tasks: { type: "string", description: "evaluation task file (default: the package's data/eval/tasks.jsonl)", placeholder: "file" },
    lr: { type: "number", description: "peak learning rate (a short run takes a higher one than the recipe's 2e-4)", default: 1e-3, aliases: ["learning_rate"] },
    backend: { type: "string", description: "where training runs: cpu or cuda", default: "cpu" },
    seed: { type: "number", description: "seed of the data build", default: 0 },
  },
  details: `Writes DIR/train.jsonl, DIR/zero-shot/eval.json, DIR/train/ (log, checkpoint, PEFT adapter),
DIR/adapter.gguf, DIR/fine-tuned/eval.json and DIR/comparison.md, and prints the comparison.
Both evaluations run the model through node-llama-cpp on the CPU (the fine-tuned one with the
adapter exported as a GGUF LoRA). The defaults are sized for a laptop CPU; on a GPU machine use
--backend cuda and more --samples and --epochs.
Example: agenttune quickstart --samples 200 --epochs 3 --eval-tasks 36 --backend cuda`,
  async run(flags, _positionals, io) {
    const backend = flags.backend;
    if (backend !== "cpu" && backend !== "cuda") throw new InvalidInputError(`--backend must be cpu or cuda, got ${String(backend)}`, { field: "backend" });
    let bar: Progress | undefined;
    const finish = () => {
      bar?.done();
      bar = undefined;
    };
    const options: QuickstartOptions = {
      model: String(flags.model),
      outputDir: String(flags.out),
      samples: wholeFlag(flags, "samples", 1),
      epochs: wholeFlag(flags, "epochs", 1),
      evalTasks: wholeFlag(flags, "eval-tasks", 1),
      tasksFile: typeof flags.tasks === "string" ? flags.tasks : undefined,
      seed: wholeFlag(flags, "seed", 0),
      lr: positiveFlag(flags, "lr"),

      backend,
      onStage: (stage, detail) => {
        finish();
        io.err(`▸ ${stage}: ${detail}\n`);
      },
      onFetchProgress: (p) => {
        bar ??= createProgress({ total: p.total || 1, label: "fetch", io, unit: "bytes" });
        bar.tick(0, `${(p.received / 2 ** 20).toFixed(0)} MiB`);
      },
      onTrainProgress: (p) => {
        bar ??= createProgress({ total: p.totalSteps, label: "train", io, unit: "steps" });
        bar.tick(1, `loss ${p.loss.toFixed(4)} ${Math.round(p.tokens_per_s)} tok/s`);
      },
      onEvalProgress: (stage, p) => {
        bar ??= createProgress({ total: p.total, label: stage, io, unit: "runs" });
        bar.tick(1, `${p.record.id}: ${p.record.status}`);
      },
    };
    const result = await quickstart(options);
    finish();
    io.out(`\n${table(result.zeroShot, result.fineTuned)}\n`);
    io.out(`final training loss ${result.training.finalLoss.toFixed(4)} after ${result.training.steps} steps\n`);
    io.out(`comparison: ${result.comparisonFile}\nadapter: ${result.training.adapterDir} (PEFT), ${result.ggufAdapter} (GGUF LoRA)\n`);
    return 0;
  },
});
