import { readTrainingExamples } from "../data/tasks-file.js";
import { FileFormatError, InvalidInputError } from "../errors.js";
import type { TrainEngineLoader } from "../train/engine.js";
import { PEFT_TARGET_MODULES } from "../train/export-peft.js";
import type { DistributedOptions } from "../train/distributed.js";
import { finetune } from "../train/finetune.js";
import { launchWorkers, type WorkerRank, workerRank } from "../train/launch.js";
import { DEFAULT_MAX_LENGTH } from "../train/tokenize.js";
import { type CommandSpec, defineCommand, type FlagValues } from "./command.js";
import { dropoutFlag, NEFTUNE_FLAG, neftuneFlag, positiveFlag, warmupRatioFlag, weightDecayFlag } from "./flag-values.js";
import { createProgress } from "./progress.js";

function num(flags: FlagValues, name: string): number {
  const v = flags[name];
  if (typeof v !== "number" || !Number.isFinite(v)) throw new InvalidInputError(`--${name} must be a number`, { field: name });
  return v;
}

function whole(flags: FlagValues, name: string, min: number): number {
  const v = num(flags, name);
  if (!Number.isInteger(v) || v < min) throw new InvalidInputError(`--${name} must be a whole number ≥ ${min}, got ${v}`, { field: name });
  return v;
}

/** A worker's place in the NCCL group of its run, on its own GPU. */
async function joinGroup(worker: WorkerRank): Promise<DistributedOptions> {
  const [{ openCudaDevice }, { NcclReducer }] = await Promise.all([import("../engine/cuda/device.js"), import("../train/nccl-reducer.js")]);
  return { reducer: new NcclReducer(openCudaDevice(worker.rank), worker.rank, worker.world, worker.ncclId) };
}

/** Builds the `train` command over an engine loader (tests pass a small model). */
export function createTrainCommand(loadEngine?: TrainEngineLoader): CommandSpec {
  return defineCommand({
    name: "train",
    summary: "fine-tune a model with QLoRA on ReAct trajectories; writes a PEFT adapter",
    flags: {
      model: { type: "string", description: "base model: Hugging Face id, folder or GGUF", aliases: ["model_id"], placeholder: "id" },
      data: { type: "string", description: "training JSONL (examples with messages)", placeholder: "file" },
      "output-dir": { type: "string", description: "where the adapter, log and checkpoint go", placeholder: "dir" },
      "train-samples": { type: "number", description: "use only the first N examples", placeholder: "n" },
      epochs: { type: "number", description: "passes over the data", default: 3, aliases: ["num_train_epochs"] },
      lr: { type: "number", description: "peak learning rate (cosine with warm-up)", default: 2e-4, aliases: ["learning_rate"] },
      "warmup-ratio": { type: "number", description: "share of steps spent warming up", default: 0.03 },
      "weight-decay": { type: "number", description: "AdamW's decoupled weight decay", default: 0 },
      "max-grad-norm": { type: "number", description: "clip the gradients' global L2 norm to this", default: 1 },
      rank: { type: "number", description: "LoRA rank r", default: 16 },
      alpha: { type: "number", description: "LoRA alpha", default: 32 },
      dropout: { type: "number", description: "LoRA dropout", default: 0.05 },
      ...NEFTUNE_FLAG,
      targets: { type: "string", description: "comma-separated projections", default: "q,k,v,o,gate,up,down" },
      "max-length": { type: "number", description: "longest sequence in tokens", default: DEFAULT_MAX_LENGTH },
      "batch-size": { type: "number", description: "sequences a micro-batch", default: 1 },
      "grad-accum": { type: "number", description: "micro-batches a step", default: 4, aliases: ["gradient_accumulation_steps"] },
      seed: { type: "number", description: "seed of shuffling and LoRA init", default: 42 },
      "save-every": { type: "number", description: "checkpoint every N steps (0: only at the end)", default: 50 },
      resume: { type: "boolean", description: "continue from the checkpoint in --output-dir" },
      backend: { type: "string", description: "cpu or cuda", default: "cpu" },
      recompute: {
        type: "string",
        description: "what the GPU forward keeps for the backward: off (all), selective (remakes the norms and the GLU output: about a fifth less memory, a few per cent slower) or full (only each layer's input)",
        default: "off",
        placeholder: "mode",
      },
      gpus: { type: "number", description: "data-parallel over this many GPUs of this machine (cuda; NCCL); the global batch stays --grad-accum micro-batches", default: 1 },
    },
    details: `Examples:
  agenttune train --model HuggingFaceTB/SmolLM2-135M-Instruct --data data/train.jsonl --train-samples 500 --output-dir runs/smollm2
  agenttune train --model qwen2.5-7b/ --data data/train.jsonl --output-dir runs/q7 --backend cuda --gpus 4 --grad-accum 16
With --gpus N one worker process runs on each GPU and each takes every N-th micro-batch of a step;
the gradients are summed over the GPUs before the optimizer, so the run follows the loss curve of one
GPU with the same --grad-accum. Rank 0 writes the log, the checkpoints and the adapter.`,
    async run(flags, _positionals, io) {
      const gpus = whole(flags, "gpus", 1);
      const worker = workerRank();
      if (gpus > 1 && worker === undefined) {
        if (flags.backend !== "cuda") throw new InvalidInputError("--gpus needs --backend cuda", { field: "gpus" });
        const gradAccum = whole(flags, "grad-accum", 1);
        if (gradAccum < gpus) {
          throw new InvalidInputError(`--gpus ${gpus} with --grad-accum ${gradAccum} leaves ${gpus - gradAccum} GPU${gpus - gradAccum === 1 ? "" : "s"} without a micro-batch a step`, {
            field: "grad-accum",
            hint: `each GPU takes every ${gpus}th of a step's --grad-accum micro-batches: use --grad-accum ${gpus} or a multiple of it (the global batch is --grad-accum × --batch-size sequences)`,
          });
        }
        if (gradAccum % gpus !== 0) io.err(`warning: --grad-accum ${gradAccum} does not divide among ${gpus} GPUs: some take ${Math.ceil(gradAccum / gpus)} micro-batches a step, others ${Math.floor(gradAccum / gpus)}, and wait for them\n`);
        const [{ CudaDriver }, { ncclUniqueId }] = await Promise.all([import("../engine/cuda/driver.js"), import("../engine/cuda/nccl.js")]);
        const driver = new CudaDriver();
        driver.init();
        const visible = driver.deviceCount();
        if (visible < gpus) {
          throw new InvalidInputError(`--gpus ${gpus} asks for ${gpus} GPUs; CUDA sees ${visible} on this machine`, {
            field: "gpus",
            hint: `use --gpus ${visible}${process.env.CUDA_VISIBLE_DEVICES === undefined ? "" : ` or widen CUDA_VISIBLE_DEVICES (now ${process.env.CUDA_VISIBLE_DEVICES})`}`,
          });
        }
        io.err(`starting ${gpus} workers, one a GPU\n`);
        return launchWorkers({ world: gpus, ncclId: ncclUniqueId(), command: process.execPath, args: [...process.execArgv, ...process.argv.slice(1)], err: io.err });
      }
      const model = flags.model;
      const data = flags.data;
      const outputDir = flags["output-dir"];
      if (typeof model !== "string") throw new InvalidInputError("name the base model with --model", { field: "model" });
      if (typeof data !== "string") throw new InvalidInputError("name the training file with --data", { field: "data" });
      if (typeof outputDir !== "string") throw new InvalidInputError("name the output folder with --output-dir", { field: "output-dir" });
      const backend = flags.backend;
      if (backend !== "cpu" && backend !== "cuda") throw new InvalidInputError(`--backend must be cpu or cuda, got ${String(backend)}`, { field: "backend" });
      const recompute = flags.recompute;
      if (recompute !== "off" && recompute !== "selective" && recompute !== "full") {
        throw new InvalidInputError(`--recompute must be off, selective or full, got ${String(recompute)}`, { field: "recompute" });
      }
      if (recompute !== "off" && backend !== "cuda") throw new InvalidInputError("--recompute needs --backend cuda", { field: "recompute", hint: "the CPU trainer keeps every activation; leave --recompute off" });
      const targets = String(flags.targets)
        .split(",")
        .map((t) => t.trim())
        .filter((t) => t !== "");
      if (targets.length === 0) throw new InvalidInputError("--targets names no projection", { field: "targets", hint: `name one or more of ${Object.keys(PEFT_TARGET_MODULES).join(",")}` });
      for (const t of targets) {
        if (!(t in PEFT_TARGET_MODULES)) throw new InvalidInputError(`unknown --targets entry "${t}"`, { field: "targets", hint: `use any of ${Object.keys(PEFT_TARGET_MODULES).join(",")}` });
      }
      const lora = { rank: whole(flags, "rank", 1), alpha: positiveFlag(flags, "alpha"), dropout: dropoutFlag(flags), targets, seed: whole(flags, "seed", 0), ...neftuneFlag(flags) };
      const maxLength = whole(flags, "max-length", 2);
      const lr = positiveFlag(flags, "lr");
      const warmupRatio = warmupRatioFlag(flags);
      const weightDecay = weightDecayFlag(flags);
      const maxGradNorm = positiveFlag(flags, "max-grad-norm");
      let examples = await readTrainingExamples(data);
      if (examples.length === 0) {
        // before the model loads: an empty file should not cost a model load to find out
        throw new FileFormatError({ file: data, problem: "holds no training examples", hint: `build some with \`agenttune data build --out ${data}\`` });
      }
      if (flags["train-samples"] !== undefined) examples = examples.slice(0, whole(flags, "train-samples", 1));

      let progress: ReturnType<typeof createProgress> | undefined;
      const distributed = worker === undefined ? undefined : await joinGroup(worker);
      const lead = worker === undefined || worker.rank === 0;
      const result = await finetune({
        ...(distributed === undefined ? {} : { distributed, deviceOrdinal: worker?.rank ?? 0 }),
        model,
        examples,
        dataFile: data,
        outputDir,
        backend,
        recompute,
        lora,
        maxLength,
        epochs: whole(flags, "epochs", 1),
        lr,
        warmupRatio,
        weightDecay,
        maxGradNorm,
        batchSize: whole(flags, "batch-size", 1),
        gradAccum: whole(flags, "grad-accum", 1),
        saveEvery: whole(flags, "save-every", 0),
        resume: flags.resume === true,
        loadEngine,
        onTokenized: (t) =>
          lead &&
          io.err(
            `${t.examples.length} examples (${t.truncated} shortened to ${maxLength} tokens, ${t.skippedTooLong} skipped: first reply longer than ${maxLength}, ${t.skippedNoAssistant} skipped: no assistant turn)\n`,
          ),
        onWarning: (message) => io.err(`warning: ${message}\n`),
        onProgress: (p) => {
          if (!lead) return;
          progress ??= createProgress({ total: p.totalSteps, label: "train", io, unit: "steps" });
          progress.tick(1, `loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} ${Math.round(p.tokens_per_s)} tok/s`);
        },
      });
      (progress as ReturnType<typeof createProgress> | undefined)?.done();
      distributed?.reducer.close?.();
      if (!lead) return 0;
      io.out(`trained ${result.steps}/${result.totalSteps} steps, final loss ${result.finalLoss.toFixed(4)}\nadapter: ${result.adapterDir}\nlog: ${result.logFile}\n`);
      return 0;
    },
  });
}

/** `agenttune train`. */
export const trainCommand: CommandSpec = createTrainCommand();
