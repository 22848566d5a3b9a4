// A real QLoRA run through the library's finetune() (the job behind `agenttune train`), for
// comparing backends on the same model, data and settings: prints every step's loss as JSONL and
// a summary line with tokens/s and peak memory.
// Run: node --import tsx bench/train-real.ts --model M --data train.jsonl --out DIR [--backend cpu|cuda]
//      [--samples 32] [--epochs 1] [--batch-size 1] [--grad-accum 4] [--rank 16] [--dropout 0] [--lr 2e-4]
//      [--optimizer device|host] (cuda: AdamW on the GPU, as `agenttune train` runs it, or on the host)
// (GPU machine: node .devbuild/bench/train-real.js …, after npm run build:device)
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import type { TrainingExample } from "../src/data/task.js";
import type { TrainEngineRequest } from "../src/train/engine.js";
import { finetune } from "../src/train/finetune.js";
import { arg } from "./args.js";

const backend = arg("backend", "cpu") as "cpu" | "cuda";
// --path generic: the float32 LoRA decoder on the CUDA backend (fp32 storage) instead of the fast bf16 step
const path = arg("path", "fast");
// --optimizer host: the trainer's host AdamW (what data-parallel ranks run), for the device optimizer's gain
const optimizer = arg("optimizer", "device");
if (optimizer !== "device" && optimizer !== "host") throw new Error(`--optimizer is device or host, not ${optimizer}`);
const loadEngine =
  backend === "cuda" && path === "generic"
    ? async (request: TrainEngineRequest) => {
        const [{ createCudaBackend }, { loadTrainModelOn }] = await Promise.all([import("../src/engine/cuda/backend.js"), import("../src/train/decoder-engine.js")]);
        return loadTrainModelOn(createCudaBackend(), request);
      }
    : optimizer === "host"
      ? async (request: TrainEngineRequest) => {
          const { loadTrainModel } = await import("../src/train/decoder-engine.js");
          const loaded = await loadTrainModel(request);
          // without deviceOptimizer the trainer clips and steps on the host
          Object.defineProperty(loaded.model, "deviceOptimizer", { value: undefined });
          return loaded;
        }
      : undefined;
const examples = readFileSync(arg("data"), "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l) as TrainingExample)
  .slice(0, Number(arg("samples", "32")));
const t0 = performance.now();
let tokens = 0;
const result = await finetune({
  model: arg("model"),
  examples,
  outputDir: arg("out"),
  backend,
  loadEngine,
  lora: { rank: Number(arg("rank", "16")), alpha: 2 * Number(arg("rank", "16")), dropout: Number(arg("dropout", "0")), seed: 42 },
  epochs: Number(arg("epochs", "1")),
  lr: Number(arg("lr", "2e-4")),
  gradAccum: Number(arg("grad-accum", "4")),
  batchSize: Number(arg("batch-size", "1")),
  onProgress: (p) => {
    tokens += p.tokens;
    console.log(JSON.stringify({ backend, path, optimizer, step: p.step, loss: p.loss, grad_norm: p.grad_norm, tokens: p.tokens, tokens_per_s: p.tokens_per_s }));
  },
});
const s = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ backend, path, optimizer, summary: true, steps: result.steps, final_loss: result.finalLoss, wall_s: s, tokens, tokens_per_s_overall: tokens / s, peak_rss_mib: process.resourceUsage().maxRSS / 1024 }));
