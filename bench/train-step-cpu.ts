// One QLoRA training step of a real model on the CPU backend, timed per backend op.
// Run: node --import tsx bench/train-step-cpu.ts [--model smollm2-135m-instruct] [--tokens 512] [--batch 1] [--reps 2] [--base nf4|f32] [--keep-expanded on|off|both]
// Prints tokens/s and where the time goes (every Backend method wrapped with a timer), and peak RSS.
import { performance } from "node:perf_hooks";
import type { Backend } from "../src/engine/backend.js";
import { createCpuBackend } from "../src/engine/cpu/backend.js";
import { startWasmThreads } from "../src/engine/cpu/gemm-wasm.js";
import { matmulRoute } from "../src/engine/cpu/matmul.js";
import { locateModel, readHostModel } from "../src/model/locate.js";
import type { LoraTarget } from "../src/train/export-peft.js";
import { LoraDecoder } from "../src/train/lora-decoder.js";
import { arg } from "./args.js";

const modelRef = arg("model", "smollm2-135m-instruct");
const T = Number(arg("tokens", "512"));
const B = Number(arg("batch", "1"));
const reps = Number(arg("reps", "2"));
const base = arg("base", "nf4") as "nf4" | "f32";
// keep the NF4 base expanded between uses (the trainer's default where it fits, see
// keepExpansionByDefault); "both" builds one model each way and alternates their steps, so that
// the shared machine's drift falls on both alike
const keepArg = arg("keep-expanded", "on");
if (!["on", "off", "both"].includes(keepArg)) throw new Error(`--keep-expanded takes on, off or both, not "${keepArg}"`);
const keepSettings = keepArg === "both" ? [true, false] : [keepArg === "on"];
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
const lora = { rank: 16, alpha: 32, dropout: 0.05, targets: ["q", "k", "v", "o", "gate", "up", "down"] as LoraTarget[], seed: 0 };
const models = keepSettings.map((keepExpanded) => ({
  label: `keep-expanded ${keepExpanded ? "on" : "off"}`,
  model: new LoraDecoder(timed(createCpuBackend()), c, host.weights, lora, { baseFormat: base, keepExpanded }),
  ms: [] as number[],
}));
host.weights.clear();
console.log(`${modelRef}: ${c.numLayers} layers, hidden ${c.hiddenSize}, vocab ${c.vocabSize}; base ${base}; matmul route ${matmulRoute()}; load ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const N = B * T;
const ids = Int32Array.from({ length: N }, (_, i) => (i * 7919) % c.vocabSize);
const targets = Int32Array.from({ length: N }, (_, i) => (i % T >= T * (1 - lossShare) ? (i * 104729) % c.vocabSize : -100));
for (let r = 0; r < reps; r++) {
  for (const m of models) {
    times.clear();
    const s = performance.now();
    m.model.zeroGrad();
    m.model.lossAndGrad(ids, targets, B, T, 1 / N);
    const ms = performance.now() - s;
    m.ms.push(ms);
    console.log(`step ${r + 1} (${m.label}): ${(ms / 1000).toFixed(2)} s, ${((N / ms) * 1000).toFixed(1)} tokens/s`);
  }
}
const total = [...times.values()].reduce((a, b) => a + b.ms, 0);
console.log(`last step (${models.at(-1)?.label}) by backend op (ms; ${(total / 1000).toFixed(2)} s in ops):`);
for (const [name, e] of [...times.entries()].sort((a, b) => b[1].ms - a[1].ms)) console.log(`  ${name.padEnd(20)} ${e.ms.toFixed(0).padStart(7)}  (${e.calls} calls)`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
for (const m of models) {
  const best = Math.min(...m.ms);
  console.log(`${m.label}: best ${((N / best) * 1000).toFixed(1)} tokens/s, median ${((N / median(m.ms)) * 1000).toFixed(1)} at ${B}×${T} over ${m.ms.length} steps`);
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
