// One QLoRA training step of a real model on the CPU backend, timed per backend op.
// Run: node --import tsx bench/train-step-cpu.ts [--model smollm2-135m-instruct] [--tokens 512] [--batch 1] [--reps 2] [--base nf4|f32]
// Prints tokens/s and where the time goes (every Backend method wrapped with a timer), and peak RSS.
import { performance } from "node:perf_hooks";
import type { Backend } from "../src/engine/backend.js";
import { createCpuBackend } from "../src/engine/cpu/backend.js";
import { startWasmThreads } from "../src/engine/cpu/gemm-wasm.js";
import { matmulRoute } from "../src/engine/cpu/matmul.js";
import { locateModel, readHostModel } from "../src/model/locate.js";
import { LoraDecoder } from "../src/train/lora-decoder.js";
import { arg } from "./args.js";

const modelRef = arg("model", "smollm2-135m-instruct");
const T = Number(arg("tokens", "512"));
const B = Number(arg("batch", "1"));
const reps = Number(arg("reps", "2"));
const base = arg("base", "nf4") as "nf4" | "f32";
// the share of positions that carry a loss (assistant text); the rest is prompt
const lossShare = Number(arg("loss-share", "0.25"));

if (matmulRoute() === "wasm") await startWasmThreads();
const times = new Map<string, { ms: number; calls: number }>();
function timed(be: Backend): Backend {
  return new Proxy(be, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function" || prop === "alloc" || prop === "free") return v;
      return (...args: unknown[]) => {
        const t0 = performance.now();
        const r = v.apply(target, args);
        const e = times.get(String(prop)) ?? { ms: 0, calls: 0 };
        e.ms += performance.now() - t0;
        e.calls++;
        times.set(String(prop), e);
        return r;
      };
    },
  });
}

const t0 = performance.now();
const host = readHostModel(await locateModel(modelRef));
const c = host.config;
const model = new LoraDecoder(timed(createCpuBackend()), c, host.weights, { rank: 16, alpha: 32, dropout: 0.05, targets: ["q", "k", "v", "o", "gate", "up", "down"], seed: 0 }, { baseFormat: base });
host.weights.clear();
console.log(`${modelRef}: ${c.numLayers} layers, hidden ${c.hiddenSize}, vocab ${c.vocabSize}; base ${base}; matmul route ${matmulRoute()}; load ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const N = B * T;
const ids = Int32Array.from({ length: N }, (_, i) => (i * 7919) % c.vocabSize);
const targets = Int32Array.from({ length: N }, (_, i) => (i % T >= T * (1 - lossShare) ? (i * 104729) % c.vocabSize : -100));
let best = Number.POSITIVE_INFINITY;
for (let r = 0; r < reps; r++) {
  times.clear();
  const s = performance.now();
  model.zeroGrad();
  model.lossAndGrad(ids, targets, B, T, 1 / N);
  const ms = performance.now() - s;
  best = Math.min(best, ms);
  console.log(`step ${r + 1}: ${(ms / 1000).toFixed(2)} s, ${((N / ms) * 1000).toFixed(1)} tokens/s`);
}
const total = [...times.values()].reduce((a, b) => a + b.ms, 0);
console.log(`last step by backend op (ms; ${(total / 1000).toFixed(2)} s in ops):`);
for (const [name, e] of [...times.entries()].sort((a, b) => b[1].ms - a[1].ms)) console.log(`  ${name.padEnd(20)} ${e.ms.toFixed(0).padStart(7)}  (${e.calls} calls)`);
console.log(`best: ${((N / best) * 1000).toFixed(1)} tokens/s at ${B}×${T}; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
