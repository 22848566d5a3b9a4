// QLoRA training speed and memory on one GPU: a Qwen2.5 configuration with random weights
// (NF4 base), LoRA r16/α32 on all seven projections, AdamW, a fixed number of steps.
// Usage (on a GPU machine):
//   node .devbuild/bench/cuda-train.js --config bench/configs/qwen2.5-0.5b.json --batch 4 --tokens 1024 --steps 6 [--recompute off|selective|full] [--rank 16] [--dropout 0] [--target-share 1] [--all-rows] [--profile] [--no-fuse-lora] [--fold-lora auto|off|forward|both] [--embeddings auto|device|host] [--overlap-weight-grads]
// As a rank of bench/cuda-train-dp.ts (AGENTTUNE_RANK etc. in the environment) it trains on its
// rank's GPU and sums the LoRA gradients over the ranks by NCCL on the device before each optimizer
// step, as `agenttune train --gpus N` does; tokens/s then counts every rank's tokens.
// Prints one JSON line with tokens/s, peak memory and MFU (and writes it to --json-out). --profile times every launch of one
// more step with CUDA events and adds where its GPU time went (by kernel and GEMM kind, and the
// idle time between launches) to the line, and a Markdown table of it on stderr. --no-fuse-lora
// runs every projection's LoRA products alone instead of sharing q/k/v's and gate/up's A side.
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { gemmRouteFromEnv } from "../src/engine/cuda/cublas.js";
import { ALL_LORA_TARGETS, CudaDecoderTrainer, RECOMPUTE_MODES, type Recompute } from "../src/engine/cuda/decoder-trainer.js";
import { openCudaDevice } from "../src/engine/cuda/device.js";
import { nf4ExpansionFromEnv, nf4MatmulFromEnv } from "../src/engine/cuda/nf4-weight.js";
import { CudaOps } from "../src/engine/cuda/ops.js";
import type { LaunchTime } from "../src/engine/cuda/profiler.js";
import { projectionShape, randomDecoderWeights } from "../src/engine/cuda/random-weights.js";
import type { LoraFold } from "../src/engine/cuda/shared-input-group.js";
import { type EmbeddingPlacement, embeddingOnHost } from "../src/engine/cuda/upload-weights.js";
import { configFromHf } from "../src/model/config.js";
import { workerRank } from "../src/train/launch.js";
import { NcclReducer } from "../src/train/nccl-reducer.js";

const { values } = parseArgs({
  options: {
    config: { type: "string" },
    batch: { type: "string", default: "4" },
    tokens: { type: "string", default: "1024" },
    steps: { type: "string", default: "6" },
    warmup: { type: "string", default: "2" },
    recompute: { type: "string", default: "off" },
    rank: { type: "string", default: "16" },
    dropout: { type: "string", default: "0" },
    "target-share": { type: "string", default: "1" },
    "all-rows": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    "no-fuse-lora": { type: "boolean", default: false },
    // the q/k/v and gate/up adapters' B side folded into the base products: auto, off, forward, both
    // (LoraOptions.foldLoraB; unset: $AGENTTUNE_LORA_FOLD, else auto)
    "fold-lora": { type: "string" },
    // where the input embeddings live: auto (page-locked host memory when untied), device, host (EmbeddingPlacement)
    embeddings: { type: "string", default: "auto" },
    // dA and dB on a second stream beside the input-gradient products (LoraOptions.overlapWeightGrads)
    "overlap-weight-grads": { type: "boolean", default: false },
    // the JSON line written to this file too (rank 0 alone, in a data-parallel run)
    "json-out": { type: "string" },
  },
});
const config = configFromHf(JSON.parse(readFileSync(values.config as string, "utf8")));
const batch = Number(values.batch);
const tokens = Number(values.tokens);
const steps = Number(values.steps);
const recompute = values.recompute as Recompute;
const rank = Number(values.rank);
const dropout = Number(values.dropout);
// the share of each sequence, at its end, that has targets: an agent trajectory's prompt (system
// prompt, tool list, tool outputs) has none
const targetShare = Number(values["target-share"]);
if (!RECOMPUTE_MODES.includes(recompute)) throw new Error(`--recompute must be ${RECOMPUTE_MODES.join(", ")}`);
const warmup = Number(values.warmup);
const overlapWeightGrads = values["overlap-weight-grads"] === true;
// the profiler times the main stream's launches only
if (overlapWeightGrads && values.profile === true) throw new Error("--profile times the main stream only: leave out --overlap-weight-grads");

// a rank of bench/cuda-train-dp.ts's group, or undefined
const me = workerRank();
const world = me?.world ?? 1;
const device = openCudaDevice(me?.rank ?? 0);
const reducer = me === undefined ? undefined : new NcclReducer(device, me.rank, me.world, me.ncclId);
const baseline = device.driver.memGetInfo();
const ops = new CudaOps(device);
const embeddings = values.embeddings as EmbeddingPlacement;
if (!["auto", "device", "host"].includes(embeddings)) throw new Error("--embeddings must be auto, device or host");
const weights = randomDecoderWeights(device, ops, config, 1, embeddings);
const trainer = new CudaDecoderTrainer(device, config, weights, { rank, alpha: 2 * rank, targets: ALL_LORA_TARGETS, recompute, seed: 1, dropout, fuseSharedInputs: values["no-fuse-lora"] !== true, foldLoraB: values["fold-lora"] as LoraFold | "auto", scoredRowsOnly: values["all-rows"] !== true, overlapWeightGrads });

// random token ids; every position has a target (the next id)
let s = 12345;
const rand = () => {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  return s;
};
const ids = Int32Array.from({ length: batch * tokens }, () => rand() % config.vocabSize);
const firstScored = Math.floor((1 - targetShare) * tokens);
const targets = Int32Array.from({ length: batch * tokens }, (_, i) => ((i + 1) % tokens === 0 || i % tokens < firstScored ? -100 : ids[i + 1]));
const unmasked = targets.filter((t) => t >= 0).length;

const stepTimes: number[] = [];
const losses: number[] = [];
device.memory.resetPeak();
for (let i = 0; i < warmup + steps; i++) {
  device.synchronize();
  const t0 = process.hrtime.bigint();
  const loss = trainer.forwardBackward(ids, targets, batch, tokens, 1 / unmasked);
  reducer?.allReduceSumDevice(trainer.arena.grad.ptr, trainer.arena.numel, device.stream);
  trainer.optimizerStep({ lr: 2e-4, maxGradNorm: 1 });
  device.synchronize();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  losses.push(loss / unmasked);
  if (i >= warmup) stepTimes.push(ms);
}
stepTimes.sort((a, b) => a - b);
const median = stepTimes[Math.floor(stepTimes.length / 2)] as number;
// every rank's tokens: each runs its own batch × tokens a step
const tokensPerSecond = (world * batch * tokens) / (median / 1e3);
// the gradients' all-reduce alone, the median of five
let allReduceMs: number | undefined;
if (reducer !== undefined) {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    device.synchronize();
    const t0 = process.hrtime.bigint();
    reducer.allReduceSumDevice(trainer.arena.grad.ptr, trainer.arena.numel, device.stream);
    device.synchronize();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  allReduceMs = times.sort((a, b) => a - b)[2];
}
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

/** What a launch is, for the profile: GEMMs by what they multiply, kernels by their layer. */
function launchKind(name: string): string {
  const gemm = /^gemm \w\w (\d+)×(\d+)×(\d+)( ×\d+)?$/.exec(name);
  if (gemm !== null) {
    const dims = [Number(gemm[1]), Number(gemm[2]), Number(gemm[3])];
    if (gemm[4] !== undefined) return "GEMM: attention (batched)";
    // the rank, or a group's side-by-side adapters (q/k/v: 3 ranks of columns, gate/up: 2)
    if (dims.some((d) => d === rank || d === 2 * rank || d === 3 * rank)) return `GEMM: LoRA (rank ${rank})`;
    if (dims.includes(config.vocabSize)) return "GEMM: LM head";
    return "GEMM: base projections";
  }
  if (name.startsWith("nf4")) return "NF4 dequantisation";
  if (name.startsWith("flash") || name.includes("softmax") || name.includes("row_dot") || name.includes("head_major") || name.includes("permute")) return "attention kernels";
  if (name.includes("rmsnorm")) return "RMSNorm";
  if (name.startsWith("rope")) return "RoPE";
  if (name.startsWith("glu")) return "SwiGLU";
  if (name.startsWith("cross_entropy")) return "cross-entropy";
  if (name.startsWith("adamw") || name === "sum_squares") return "AdamW + grad norm";
  if (name === "dropout") return "LoRA dropout";
  return "elementwise (add, convert, embedding)";
}

let profile: { step_ms: number; kernels_ms: number; idle_ms: number; by_kind: { kind: string; ms: number; share: number; launches: number }[]; top: LaunchTime[] } | undefined;
if (values.profile === true) {
  device.synchronize();
  device.startProfiling();
  const t0 = process.hrtime.bigint();
  trainer.forwardBackward(ids, targets, batch, tokens, 1 / unmasked);
  trainer.optimizerStep({ lr: 2e-4, maxGradNorm: 1 });
  const times = device.stopProfiling();
  const stepMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const kinds = new Map<string, { ms: number; launches: number }>();
  for (const t of times) {
    const k = kinds.get(launchKind(t.name)) ?? { ms: 0, launches: 0 };
    k.ms += t.ms;
    k.launches += t.calls;
    kinds.set(launchKind(t.name), k);
  }
  const kernelsMs = times.reduce((a, t) => a + t.ms, 0);
  const byKind = [...kinds.entries()].map(([kind, k]) => ({ kind, ms: Number(k.ms.toFixed(2)), share: Number((k.ms / stepMs).toFixed(3)), launches: k.launches })).sort((a, b) => b.ms - a.ms);
  profile = { step_ms: Number(stepMs.toFixed(1)), kernels_ms: Number(kernelsMs.toFixed(1)), idle_ms: Number((stepMs - kernelsMs).toFixed(1)), by_kind: byKind, top: times.slice(0, 15).map((t) => ({ ...t, ms: Number(t.ms.toFixed(2)) })) };
  const lines = [
    `${values.config} ${batch}×${tokens}${recompute === "off" ? "" : ` ${recompute} recompute`}: one profiled step ${stepMs.toFixed(1)} ms (unprofiled median ${median.toFixed(1)} ms)`,
    "",
    "| where | ms | share of the step | launches |",
    "| --- | ---: | ---: | ---: |",
    ...byKind.map((k) => `| ${k.kind} | ${k.ms.toFixed(1)} | ${(100 * k.share).toFixed(1)} % | ${k.launches} |`),
    `| idle between launches | ${(stepMs - kernelsMs).toFixed(1)} | ${((100 * (stepMs - kernelsMs)) / stepMs).toFixed(1)} % | |`,
    "",
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
}
const line = JSON.stringify({
    engine: "agenttune-cuda",
    device: device.info.name,
    gpus: world,
    config: values.config,
    batch,
    tokens,
    recompute,
    rank,
    dropout,
    target_share: targetShare,
    scored_rows_only: values["all-rows"] !== true,
    fused_lora: values["no-fuse-lora"] !== true,
    embeddings_on_host: embeddingOnHost(config, embeddings),
    // what the q/k/v groups fold (one by one, under dropout or --no-fuse-lora, the forward only)
    fold_lora: trainer.loraFold,
    ...(overlapWeightGrads ? { overlap_weight_grads: true } : {}),
    nf4_expansion: nf4ExpansionFromEnv(),
    nf4_matmul: nf4MatmulFromEnv(),
    gemm: gemmRouteFromEnv(),
    steps,
    median_step_ms: Number(median.toFixed(1)),
    tokens_per_s: Math.round(tokensPerSecond),
    // a GPU's share: MFU is per chip
    mfu: Number(((tokensPerSecond / world) * flopsPerToken / H100_BF16_DENSE).toFixed(3)),
    peak_allocated_gib: Number((stats.peakInUse / 2 ** 30).toFixed(2)),
    device_used_gib: Number(((baseline.free - after.free) / 2 ** 30).toFixed(2)),
    trainable_params: trainer.trainableParameters,
    ...(allReduceMs === undefined ? {} : { allreduce_ms: Number(allReduceMs.toFixed(2)) }),
    losses: losses.map((l) => Number(l.toFixed(4))),
    ...(profile === undefined ? {} : { profile }),
  });
console.log(line);
if (values["json-out"] !== undefined && (me?.rank ?? 0) === 0) writeFileSync(values["json-out"], `${line}\n`);
reducer?.close();
trainer.dispose();
device.dispose();
