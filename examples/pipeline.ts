// The whole pipeline through the library API: build a training set, evaluate the model
// zero-shot, fine-tune it with QLoRA, export the adapter (PEFT folder and GGUF LoRA), evaluate
// the adapter on the same tasks, compare.
//
//   npx tsx examples/pipeline.ts            SmolLM2-135M-Instruct (fetched once, ≈94 MB); minutes on a CPU
//   npx tsx examples/pipeline.ts --tiny     a tiny random model: every stage in seconds (CI runs this)
//   … --out DIR                             where the files go (default runs/examples/pipeline[-tiny])
//
// AGENTTUNE_EXAMPLE_TINY=1 is the same as --tiny.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  buildDataset,
  compareRuns,
  evaluate,
  exportGgufLoraFor,
  exportPeftAdapter,
  fetchCatalogModel,
  finetune,
  findCatalogModel,
  formatRate,
  METRICS,
  pickTasks,
  readPeftAdapter,
  readTasks,
  resolveChatModel,
  writeEvalResult,
  writeJsonl,
  writeTinyModel,
  type EvalResult,
  type ModelRequest,
  type Task,
} from "../src/index.js";

const { values } = parseArgs({ options: { tiny: { type: "boolean" }, out: { type: "string" } } });
const tiny = values.tiny === true || process.env.AGENTTUNE_EXAMPLE_TINY === "1";
const out = values.out ?? join("runs", "examples", tiny ? "pipeline-tiny" : "pipeline");
const tasksFile = fileURLToPath(new URL("../data/eval/tasks.jsonl", import.meta.url));

// The tiny model's byte-level tokenizer makes the system prompt ≈2.5k tokens, hence the length.
const config = tiny
  ? { samples: 4, evalTasks: 2, maxSteps: 2, epochs: 1, gradAccum: 1, lr: 1e-3, maxLength: 4096, maxTokens: 16, replies: 2 }
  : { samples: 64, evalTasks: 12, maxSteps: undefined, epochs: 1, gradAccum: 4, lr: 1e-3, maxLength: 2048, maxTokens: 192, replies: 8 };

// 1. The base model: SmolLM2 from the catalog, or the tiny random one written here.
const model = tiny ? writeTinyModel(join(out, "tiny-model")) : await fetchCatalogModel(findCatalogModel("smollm2-135m-instruct")!);
// node-llama-cpp runs the GGUF; the tiny model is a Hugging Face folder, which our engine runs.
const engine = tiny ? "own" : "llama";
console.log(`model: ${model} (evaluated on ${engine === "own" ? "our engine" : "node-llama-cpp"})`);

// 2. Training data: ReAct trajectories from the task templates, seeded.
const examples = await buildDataset({ samples: config.samples, seed: 0 });
const trainFile = join(out, "train.jsonl");
await writeJsonl(trainFile, examples);
console.log(`data: ${examples.length} trajectories in ${trainFile}`);

// 3. Held-out tasks, taken evenly across categories.
const tasks: Task[] = pickTasks(await readTasks(tasksFile), config.evalTasks);

async function evaluateWith(request: ModelRequest, dir: string): Promise<EvalResult> {
  const chat = await resolveChatModel(request);
  try {
    const result = await evaluate({ model: chat, tasks, maxTokens: config.maxTokens, maxSteps: config.replies, engine: request.engine, adapter: request.adapter, tasksFile });
    await writeEvalResult(dir, result);
    return result;
  } finally {
    await chat.dispose?.();
  }
}

const zeroShot = await evaluateWith({ model, engine }, join(out, "zero-shot"));
console.log(`zero-shot: ${formatRate(zeroShot.aggregates.overall.metrics.taskSuccess)} task success`);

// 4. QLoRA fine-tuning: NF4 base, LoRA r16/α32 on all seven projections (the defaults).
const training = await finetune({
  model,
  examples,
  dataFile: trainFile,
  outputDir: join(out, "train"),
  epochs: config.epochs,
  lr: config.lr,
  gradAccum: config.gradAccum,
  maxLength: config.maxLength,
  saveEvery: 0,
  ...(config.maxSteps === undefined ? {} : { maxSteps: config.maxSteps }),
  onProgress: (p) => console.log(`train step ${p.step}/${p.totalSteps}: loss ${p.loss.toFixed(4)}`),
});

// 5. Export: the PEFT folder (finetune wrote one; written again here as the API does it) and the GGUF LoRA.
const adapter = readPeftAdapter(training.adapterDir);
const peftDir = join(out, "adapter-peft");
exportPeftAdapter(peftDir, adapter);
const ggufLora = join(out, "adapter.gguf");
exportGgufLoraFor(ggufLora, peftDir, model);
console.log(`export: ${peftDir} (PEFT), ${ggufLora} (GGUF LoRA)`);

// 6. The adapter on the same tasks: the GGUF LoRA, which both engines apply.
const fineTuned = await evaluateWith({ model, engine, adapter: ggufLora }, join(out, "fine-tuned"));

// 7. Side by side.
const comparison = compareRuns(zeroShot, fineTuned, { labels: ["zero-shot", "fine-tuned"], title: `Pipeline example: ${tiny ? "tiny random model" : "SmolLM2-135M-Instruct"}` });
await writeFile(join(out, "comparison.md"), comparison);
const width = Math.max(...METRICS.map((m) => m.label.length));
console.log(`${"metric".padEnd(width)}  ${"zero-shot".padEnd(16)}  fine-tuned`);
for (const m of METRICS) {
  console.log(`${m.label.padEnd(width)}  ${formatRate(zeroShot.aggregates.overall.metrics[m.key]).padEnd(16)}  ${formatRate(fineTuned.aggregates.overall.metrics[m.key])}`);
}
console.log(`final training loss ${training.finalLoss.toFixed(4)} after ${training.steps} steps; files in ${out}`);
