// A real QLoRA run through the library's finetune() (the job behind `agenttune train`), for
// comparing backends on the same model, data and settings: prints every step's loss as JSONL and
// a summary line with tokens/s and peak memory.
// Run: node --import tsx bench/train-real.ts --model M --data train.jsonl --out DIR [--backend cpu|cuda]
//      [--samples 32] [--epochs 1] [--grad-accum 4] [--dropout 0] [--lr 2e-4]
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
const loadEngine =
  backend === "cuda" && path === "generic"
    ? async (request: TrainEngineRequest) => {
        const [{ createCudaBackend }, { loadTrainModelOn }] = await Promise.all([import("../src/engine/cuda/backend.js"), import("../src/train/decoder-engine.js")]);
        return loadTrainModelOn(createCudaBackend(), request);
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
  lora: { dropout: Number(arg("dropout", "0")), seed: 42 },
  epochs: Number(arg("epochs", "1")),
  lr: Number(arg("lr", "2e-4")),
  gradAccum: Number(arg("grad-accum", "4")),
  batchSize: 1,
  onProgress: (p) => {
    tokens += p.tokens;
    console.log(JSON.stringify({ backend, path, step: p.step, loss: p.loss, grad_norm: p.grad_norm, tokens: p.tokens, tokens_per_s: p.tokens_per_s }));
  },
});
const s = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ backend, path, summary: true, steps: result.steps, final_loss: result.finalLoss, wall_s: s, tokens, tokens_per_s_overall: tokens / s, peak_rss_mib: process.resourceUsage().maxRSS / 1024 }));
