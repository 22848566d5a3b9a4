// Decode speed of the engine's Decoder on the CUDA backend (or the CPU one), batch 1, greedy, with
// random weights of a model configuration. The peer: bench/peers/hf_generate.py (transformers.generate).
// Run (GPU machine, after npm run build:device): node .devbuild/bench/decode-gpu.js [--config bench/configs/smollm2-135m.json] [--prompt 42] [--new 64] [--backend cuda|cpu]
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import type { Backend } from "../src/engine/backend.js";
import { createCpuBackend } from "../src/engine/cpu/backend.js";
import { argmax } from "../src/infer/sampling.js";
import { configFromHf, expectedWeights } from "../src/model/config.js";
import { Decoder, type HostWeight } from "../src/model/decoder.js";
import { arg } from "./args.js";

const configPath = arg("config", "bench/configs/smollm2-135m.json");
const promptLen = Number(arg("prompt", "42"));
const newTokens = Number(arg("new", "64"));
const backendName = arg("backend", "cuda");

const raw = JSON.parse(readFileSync(configPath, "utf8"));
const config = configFromHf(raw);
let s = 12345;
const rand = () => {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  return s / 2 ** 32 - 0.5;
};
const weights = new Map<string, HostWeight>();
for (const [name, { shape, optional }] of expectedWeights(config)) {
  if (optional) continue;
  const n = shape.reduce((a, b) => a * b, 1);
  const norm = name.endsWith("norm.weight");
  weights.set(name, { shape, data: Float32Array.from({ length: n }, () => (norm ? 1 : rand() * 0.04)) });
}
let backend: Backend;
let device = "cpu";
if (backendName === "cuda") {
  const { createCudaBackend } = await import("../src/engine/cuda/backend.js");
  const be = createCudaBackend();
  backend = be;
  device = JSON.stringify(be.device.info);
} else backend = createCpuBackend();
const model = Decoder.fromWeights(backend, config, weights);
weights.clear();
const prompt = Int32Array.from({ length: promptLen }, (_, i) => 3 + ((i * 7919) % (config.vocabSize - 3)));

function run(n: number): { prefillMs: number; decodeMs: number } {
  const cache = model.createCache(promptLen + n + 1);
  const t0 = performance.now();
  let logits = model.forward(prompt, cache);
  const t1 = performance.now();
  for (let i = 1; i < n; i++) logits = model.forward(Int32Array.of(argmax(logits)), cache);
  return { prefillMs: t1 - t0, decodeMs: performance.now() - t1 };
}
run(4); // warm-up: kernel compilation, allocator
let best = { prefillMs: Number.POSITIVE_INFINITY, decodeMs: Number.POSITIVE_INFINITY };
for (let r = 0; r < 3; r++) {
  const t = run(newTokens);
  if (t.decodeMs < best.decodeMs) best = t;
}
console.log(
  JSON.stringify({
    engine: "agenttune Decoder",
    backend: backendName,
    device,
    config: configPath,
    prompt: promptLen,
    new_tokens: newTokens,
    prefill_tokens_per_s: promptLen / (best.prefillMs / 1000),
    decode_tokens_per_s: (newTokens - 1) / (best.decodeMs / 1000),
  }),
);
backend.dispose();
