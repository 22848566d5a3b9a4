// QLoRA training speed and memory on one GPU: a Qwen2.5 configuration with random weights
// (NF4 base), LoRA r16/α32 on all seven projections, AdamW, a fixed number of steps.
// Usage (on a GPU machine):
//   node .devbuild/bench/cuda-train.js --config bench/configs/qwen2.5-0.5b.json --batch 4 --tokens 1024 --steps 6 [--recompute]
// Prints one JSON line with tokens/s, peak memory and MFU.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ALL_LORA_TARGETS, CudaDecoderTrainer } from "../src/engine/cuda/decoder-trainer.js";
import { openCudaDevice } from "../src/engine/cuda/device.js";
import { CudaOps } from "../src/engine/cuda/ops.js";
import { projectionShape, randomDecoderWeights } from "../src/engine/cuda/random-weights.js";
import { configFromHf } from "../src/model/config.js";

const { values } = parseArgs({
  options: {
    config: { type: "string" },
    batch: { type: "string", default: "4" },
    tokens: { type: "string", default: "1024" },
    steps: { type: "string", default: "6" },
    warmup: { type: "string", default: "2" },
    recompute: { type: "boolean", default: false },
  },
});
const config = configFromHf(JSON.parse(readFileSync(values.config as string, "utf8")));
const batch = Number(values.batch);
const tokens = Number(values.tokens);
const steps = Number(values.steps);
const warmup = Number(values.warmup);

const device = openCudaDevice(0);
const baseline = device.driver.memGetInfo();
const ops = new CudaOps(device);
const weights = randomDecoderWeights(device, ops, config, 1);
const trainer = new CudaDecoderTrainer(device, config, weights, { rank: 16, alpha: 32, targets: ALL_LORA_TARGETS, recompute: values.recompute === true, seed: 1 });

// random token ids; every position has a target (the next id)
let s = 12345;
const rand = () => {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  return s;
};
const ids = Int32Array.from({ length: batch * tokens }, () => rand() % config.vocabSize);
const targets = Int32Array.from({ length: batch * tokens }, (_, i) => ((i + 1) % tokens === 0 ? -100 : ids[i + 1]));
const unmasked = targets.filter((t) => t >= 0).length;

const stepTimes: number[] = [];
const losses: number[] = [];
device.memory.resetPeak();
for (let i = 0; i < warmup + steps; i++) {
  device.synchronize();
  const t0 = process.hrtime.bigint();
  const loss = trainer.forwardBackward(ids, targets, batch, tokens, 1 / unmasked);
  trainer.optimizerStep({ lr: 2e-4, maxGradNorm: 1 });
  device.synchronize();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  losses.push(loss / unmasked);
  if (i >= warmup) stepTimes.push(ms);
}
stepTimes.sort((a, b) => a - b);
const median = stepTimes[Math.floor(stepTimes.length / 2)];
const tokensPerSecond = (batch * tokens) / (median / 1e3);
// Model FLOPs a token (MFU counts no recomputation): the projections' and the head's forward (2N)
// and input gradients (2N; the frozen base gets no weight gradients), and causal attention
// (forward 2·T·H·hd, backward twice that, a layer).
let projParams = 0;
for (const t of ALL_LORA_TARGETS) {
  const [o, i] = projectionShape(config, t);
  projParams += o * i;
}
projParams *= config.numLayers;
const headParams = config.vocabSize * config.hiddenSize;
const attnFlops = 6 * config.numLayers * config.numHeads * config.headDim * tokens;
const flopsPerToken = 4 * projParams + 4 * headParams + attnFlops;
const H100_BF16_DENSE = 989e12;
const stats = device.memory.memoryStats();
const after = device.driver.memGetInfo();
console.log(
  JSON.stringify({
    engine: "agenttune-cuda",
    device: device.info.name,
    config: values.config,
    batch,
    tokens,
    recompute: values.recompute,
    steps,
    median_step_ms: Number(median.toFixed(1)),
    tokens_per_s: Math.round(tokensPerSecond),
    mfu: Number(((tokensPerSecond * flopsPerToken) / H100_BF16_DENSE).toFixed(3)),
    peak_allocated_gib: Number((stats.peakInUse / 2 ** 30).toFixed(2)),
    device_used_gib: Number(((baseline.free - after.free) / 2 ** 30).toFixed(2)),
    trainable_params: trainer.trainableParameters,
    losses: losses.map((l) => Number(l.toFixed(4))),
  }),
);
trainer.dispose();
device.dispose();
