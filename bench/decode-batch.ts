// Decode throughput of the engine's Decoder when several replies step together
// (Decoder.forwardSegments: one token of each sequence a pass, each on its own KV cache), beside
// one at a time; and the prefill of one 300-token prompt. SmolLM2-135M-Instruct (Q4_1 dequantised
// to f32), 300-token prompts.
// Run: npx tsx bench/decode-batch.ts [gguf path] [batch sizes, e.g. 1,4,8] [cpu|cuda]
// (on a GPU machine: node .devbuild/bench/decode-batch.js /path/to/model.gguf 1,4,8 cuda)
import type { Backend } from "../src/engine/backend.js";
import { createCpuBackend } from "../src/engine/cpu/backend.js";
import { Decoder } from "../src/model/decoder.js";
import { SMOLLM2_GGUF_PATH } from "../test/helpers/real-models.js";

const path = process.argv[2] || SMOLLM2_GGUF_PATH;
const sizes = (process.argv[3] ?? "1,4,8").split(",").map(Number);
const STEPS = 20;
const backend: Backend = process.argv[4] === "cuda" ? (await import("../src/engine/cuda/backend.js")).createCudaBackend() : createCpuBackend();
const model = Decoder.fromGguf(backend, path);
const prompt = Int32Array.from({ length: 300 }, (_, i) => 100 + (i % 500));
{
  const warm = model.createCache(prompt.length);
  model.forward(prompt, warm);
  warm.dispose();
  const cache = model.createCache(prompt.length);
  const t0 = performance.now();
  model.forward(prompt, cache);
  const ms = performance.now() - t0;
  cache.dispose();
  console.log(`${backend.name}: prefill of ${prompt.length} tokens ${ms.toFixed(1)} ms (${((prompt.length * 1000) / ms).toFixed(0)} tokens/s)\n`);
}
console.log("| replies a pass | ms a pass | tokens/s | × one at a time |");
console.log("| ---: | ---: | ---: | ---: |");
let single = 0;
for (const batch of sizes) {
  const caches = Array.from({ length: batch }, () => model.createCache(prompt.length + STEPS + 1));
  for (const c of caches) model.forward(prompt, c);
  const t0 = performance.now();
  for (let s = 0; s < STEPS; s++) model.forwardSegments(caches.map((cache, i) => ({ ids: Int32Array.of(200 + i + s), cache })));
  const ms = (performance.now() - t0) / STEPS;
  const rate = (batch * 1000) / ms;
  if (batch === 1) single = rate;
  console.log(`| ${batch} | ${ms.toFixed(1)} | ${rate.toFixed(1)} | ${single > 0 ? (rate / single).toFixed(2) : "—"} |`);
  for (const c of caches) c.dispose();
}
backend.dispose();
