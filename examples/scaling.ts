// The data-scaling study through the library API: for each training-set size and seed, build
// the data, fine-tune with QLoRA, evaluate on the held-out tasks; then scaling.json, scaling.md
// and the charts. Run it again after an interruption: finished runs are kept.
//
//   npx tsx examples/scaling.ts             SmolLM2-135M-Instruct, 50…1000 samples × seeds 0, 1, 3 epochs
//                                           (hours on a CPU; add --backend cuda on an NVIDIA GPU)
//   npx tsx examples/scaling.ts --tiny      a tiny random model, two sizes × two seeds, in seconds (CI runs this)
//   … --out DIR                             where the files go (default runs/examples/scaling[-tiny])
//
// AGENTTUNE_EXAMPLE_TINY=1 is the same as --tiny.

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { formatSpread, runScalingStudy, type ScalingOptions, writeTinyModel } from "../src/index.js";

const { values } = parseArgs({ options: { tiny: { type: "boolean" }, out: { type: "string" }, backend: { type: "string" } } });
const tiny = values.tiny === true || process.env.AGENTTUNE_EXAMPLE_TINY === "1";
const outputDir = values.out ?? join("runs", "examples", tiny ? "scaling-tiny" : "scaling");
const backend = values.backend === "cuda" ? "cuda" : "cpu";
const tasksFile = fileURLToPath(new URL("../data/eval/tasks.jsonl", import.meta.url));

// The tiny configuration keeps every stage but cuts each to a sliver: one training step, two
// tasks, short replies. Its numbers only show that the study runs end to end.
const setup: ScalingOptions = tiny
  ? {
      model: writeTinyModel(join(outputDir, "tiny-model")),
      sizes: [2, 4],
      seeds: [0, 1],
      outputDir,
      tasksFile,
      evalTasks: 2,
      maxSteps: 1,
      gradAccum: 1,
      maxLength: 4096,
      evalMaxSteps: 2,
      maxTokens: 8,
    }
  : { model: "smollm2-135m-instruct", sizes: [50, 100, 250, 500, 1000], seeds: [0, 1], outputDir, tasksFile, backend, device: backend };

const { result, files } = await runScalingStudy({
  ...setup,
  onStage: (e) => console.log(`${e.index === undefined ? "" : `[${e.index}/${e.total}] `}${e.stage}: ${e.detail}`),
});

const percent = (v: number) => `${(v * 100).toFixed(1)} %`;
for (const size of result.bySize) {
  console.log(`${String(size.size).padStart(5)} samples: tool selection ${formatSpread(size.metrics.toolSelection, percent)}, final loss ${formatSpread(size.finalLoss, (v) => v.toFixed(3))}`);
}
console.log(`table: ${files.markdown}; charts: ${files.lossChart}, ${files.metricsChart}`);
