// The matrix products of one Qwen2.5-7B LoRA training step (rank 16 on all seven projections,
// q/k/v and gate/up sharing their A-side products, as CudaSharedInputGroup runs them) through
// cublasGemmEx (the heuristic's first algorithm, the backend's default) beside cuBLASLt with each
// shape's candidates timed and the fastest kept (AGENTTUNE_GEMM=lt), and what each would cost a
// step (calls a layer × layers). Also the products the LoRA B side would become if it were folded
// into the base product ([x | xa]·[W | s·B]ᵀ, K grown by the group's L·r columns).
// Usage (GPU machine): node .devexp/bench/cuda-gemm-lt.js [--tokens 4096] [--layers 28] [--json out.jsonl]
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { GemmArgs } from "../src/engine/cuda/cublas.js";
import { CublasLt } from "../src/engine/cuda/cublas-lt.js";
import { openCudaDevice } from "../src/engine/cuda/device.js";

const { values } = parseArgs({ options: { tokens: { type: "string", default: "4096" }, layers: { type: "string", default: "28" }, json: { type: "string" } } });
const M = Number(values.tokens);
const layers = Number(values.layers);
const d = 3584, kv = 512, ff = 18944, vocab = 152064, r = 16;

/** A product of the step: its shape as Cublas.gemm takes it and how many a layer (or a step, for the LM head). */
interface Product {
  label: string;
  group: "base" | "lora" | "lm head" | "fold";
  perLayer: number;
  perStep?: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  beta: number;
  lda?: number;
  ldb?: number;
  ldc?: number;
}
const P = (label: string, group: Product["group"], perLayer: number, m: number, n: number, k: number, t: string, beta: number, ld: Partial<Product> = {}): Product => ({
  label, group, perLayer, m, n, k, transA: t[0] === "T", transB: t[1] === "T", beta, ...ld,
});

const products: Product[] = [
  // base products: forward y (+)= x·Wᵀ after the adapter's B side, backward dx += dy·W
  P("fwd q,o x·Wᵀ", "base", 2, M, d, d, "NT", 1),
  P("fwd k,v x·Wᵀ", "base", 2, M, kv, d, "NT", 1),
  P("fwd gate,up x·Wᵀ", "base", 2, M, ff, d, "NT", 1),
  P("fwd down x·Wᵀ", "base", 1, M, d, ff, "NT", 1),
  P("fwd gate,up x·Wᵀ, beta 0", "fold", 0, M, ff, d, "NT", 0),
  P("bwd q,o dx += dy·W", "base", 2, M, d, d, "NN", 1),
  P("bwd k,v dx += dy·W", "base", 2, M, d, kv, "NN", 1),
  P("bwd gate,up dx += dy·W", "base", 2, M, d, ff, "NN", 1),
  P("bwd down dx += dy·W", "base", 1, M, ff, d, "NN", 1),
  // LoRA, rank 16: forward xa_G = x·A_Gᵀ, y = s·xa·Bᵀ; backward dxa = dy·B, dB = dyᵀ·xa, dA_G = dxa_Gᵀ·x, dx = dxa_G·A_G
  P("fwd xa qkv", "lora", 1, M, 3 * r, d, "NT", 0),
  P("fwd xa gate/up", "lora", 1, M, 2 * r, d, "NT", 0),
  P("fwd xa o", "lora", 1, M, r, d, "NT", 0),
  P("fwd xa down", "lora", 1, M, r, ff, "NT", 0),
  P("fwd y = xa·Bᵀ q", "lora", 1, M, d, r, "NT", 0, { lda: 3 * r }),
  P("fwd y = xa·Bᵀ k,v", "lora", 2, M, kv, r, "NT", 0, { lda: 3 * r }),
  P("fwd y = xa·Bᵀ gate,up", "lora", 2, M, ff, r, "NT", 0, { lda: 2 * r }),
  P("fwd y = xa·Bᵀ o,down", "lora", 2, M, d, r, "NT", 0),
  P("bwd dxa = dy·B q,o,down", "lora", 3, M, r, d, "NN", 0, { ldc: 3 * r }),
  P("bwd dxa = dy·B k,v", "lora", 2, M, r, kv, "NN", 0, { ldc: 3 * r }),
  P("bwd dxa = dy·B gate,up", "lora", 2, M, r, ff, "NN", 0, { ldc: 2 * r }),
  P("bwd dB = dyᵀ·xa q,o,down", "lora", 3, d, r, M, "TN", 1, { ldb: 3 * r }),
  P("bwd dB = dyᵀ·xa k,v", "lora", 2, kv, r, M, "TN", 1, { ldb: 3 * r }),
  P("bwd dB = dyᵀ·xa gate,up", "lora", 2, ff, r, M, "TN", 1, { ldb: 2 * r }),
  P("bwd dA = dxaᵀ·x qkv", "lora", 1, 3 * r, d, M, "TN", 1),
  P("bwd dA = dxaᵀ·x gate/up", "lora", 1, 2 * r, d, M, "TN", 1),
  P("bwd dA = dxaᵀ·x o", "lora", 1, r, d, M, "TN", 1),
  P("bwd dA = dxaᵀ·x down", "lora", 1, r, ff, M, "TN", 1),
  P("bwd dx = dxa·A qkv", "lora", 1, M, d, 3 * r, "NN", 0),
  P("bwd dx = dxa·A gate/up", "lora", 1, M, d, 2 * r, "NN", 0),
  P("bwd dx = dxa·A o", "lora", 1, M, d, r, "NN", 0),
  P("bwd dx = dxa·A down", "lora", 1, M, ff, r, "NN", 0),
  // the LM head over chunks of 1024 rows: logits = h·Eᵀ, dh = dlogits·E
  { ...P("LM head logits", "lm head", 0, 1024, vocab, d, "NT", 0), perStep: M / 1024 },
  { ...P("LM head dh", "lm head", 0, 1024, d, vocab, "NN", 0), perStep: M / 1024 },
  // folded B side: K grows by the group's L·r; beta 0 (nothing written before)
  P("fold fwd q [x|xa]·[W|sB]ᵀ", "fold", 0, M, d, d + 3 * r, "NT", 0),
  P("fold fwd k,v [x|xa]·[W|sB]ᵀ", "fold", 0, M, kv, d + 3 * r, "NT", 0),
  P("fold fwd gate,up [x|xa]·[W|sB]ᵀ", "fold", 0, M, ff, d + 2 * r, "NT", 0),
];

const device = openCudaDevice(0);
console.log(`device: ${device.info.name} (${device.arch}), driver ${device.info.driverVersion}; ${M} tokens, ${layers} layers`);
const workspace = device.alloc(32 << 20);
const lt = new CublasLt(device.stream, { ptr: workspace.ptr, bytes: 32 << 20 }, (w) => device.time(w), (b) => device.alloc(b), (a) => device.cublas.gemmEx(a));
// what AGENTTUNE_GEMM=lt runs: Cublas.gemm with cuBLASLt set (its tuned choice, cublasGemmEx where
// that timed fastest); the GemmEx column calls cublasGemmEx itself
device.cublas.lt = lt;
const tunedGemm = (args: GemmArgs) => device.cublas.gemm(args);

function timeIt(run: () => void): number {
  for (let i = 0; i < 3; i++) run();
  const reps = 10;
  const times: number[] = [];
  for (let i = 0; i < 5; i++) times.push(device.time(() => { for (let j = 0; j < reps; j++) run(); }) / reps);
  times.sort((a, b) => a - b);
  return times[2];
}

const rows: Record<string, unknown>[] = [];
console.log("| product | m × n × k | calls a step | GemmEx ms | Lt first ms | Lt tuned ms | tuned ÷ GemmEx | GemmEx ms a step | tuned ms a step |");
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
const total = { base: [0, 0], lora: [0, 0], "lm head": [0, 0] } as Record<string, [number, number]>;
for (const p of products) {
  const lda = p.lda ?? (p.transA ? p.m : p.k);
  const ldb = p.ldb ?? (p.transB ? p.k : p.n);
  const ldc = p.ldc ?? p.n;
  const aRows = p.transA ? p.k : p.m;
  const bRows = p.transB ? p.n : p.k;
  const a = device.alloc(aRows * lda * 2);
  const b = device.alloc(bRows * ldb * 2);
  const c = device.alloc(p.m * ldc * 2);
  // bf16 0x3c3c ≈ 0.0115: finite, no denormals. A constant fill times large products faster than a
  // step's data does (7B gate/up at 2048 tokens: 0.319 ms here, 0.362 with random operands in
  // bench/cuda-fold-widths.ts): compare products within this table, not with a step's profile
  device.fill(a.ptr, 0x3c, aRows * lda * 2);
  device.fill(b.ptr, 0x3c, bRows * ldb * 2);
  device.fill(c.ptr, 0, p.m * ldc * 2);
  const args: GemmArgs = { transA: p.transA, transB: p.transB, m: p.m, n: p.n, k: p.k, a: a.ptr, b: b.ptr, c: c.ptr, dtype: "bf16", beta: p.beta, lda, ldb, ldc };
  const gemmEx = timeIt(() => device.cublas.gemmEx(args));
  tunedGemm(args); // tunes this shape
  const tuning = lt.tunings().at(-1)!;
  const first = tuning.times[0] ?? Number.NaN;
  const tuned = timeIt(() => tunedGemm(args));
  const calls = p.perStep ?? p.perLayer * layers;
  if (p.group !== "fold") {
    total[p.group][0] += calls * gemmEx;
    total[p.group][1] += calls * tuned;
  }
  const flops = 2 * p.m * p.n * p.k;
  rows.push({ ...p, calls, gemmEx_ms: gemmEx, lt_first_ms: first, lt_tuned_ms: tuned, lt_chosen: tuning.chosen, lt_candidates: tuning.candidates, tflops_gemmex: flops / gemmEx / 1e9 });
  console.log(
    `| ${p.label} | ${p.m}×${p.n}×${p.k}${p.beta ? " +C" : ""} | ${calls} | ${gemmEx.toFixed(4)} | ${first.toFixed(4)} | ${tuned.toFixed(4)} (${tuning.chosen === tuning.candidates ? "GemmEx" : `#${tuning.chosen}`} of ${tuning.candidates} + GemmEx) | ${(tuned / gemmEx).toFixed(3)} | ${(calls * gemmEx).toFixed(2)} | ${(calls * tuned).toFixed(2)} |`,
  );
  a.free();
  b.free();
  c.free();
}
console.log("");
for (const [g, [e, t]] of Object.entries(total)) console.log(`${g}: GemmEx ${e.toFixed(1)} ms a step, cuBLASLt tuned ${t.toFixed(1)} ms (${(t - e).toFixed(1)} ms)`);
if (values.json) writeFileSync(values.json, `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
device.cublas.lt = undefined;
lt.dispose();
workspace.free();
device.dispose();
