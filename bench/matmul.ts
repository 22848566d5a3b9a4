// GFLOP/s of each matrix-product route of the CPU backend on the shapes a SmolLM2-135M LoRA step uses.
// Run: node --import tsx bench/matmul.ts [--routes blas,wasm,js] [--tokens 512,2048]
// Threads: OPENBLAS_NUM_THREADS for blas, AGENTTUNE_THREADS for wasm (default: all cores);
// OPENBLAS_CORETYPE overrides the core type the blas route names from the CPU's flags.
import { loadNativeBlas } from "../src/engine/cpu/gemm-blas.js";
import { startWasmThreads } from "../src/engine/cpu/gemm-wasm.js";
import type { Sgemm } from "../src/engine/cpu/gemm-types.js";
import { type MatmulRoute, sgemmFor } from "../src/engine/cpu/matmul.js";
import { arg } from "./args.js";

const routes = arg("routes", "blas,wasm,js").split(",") as MatmulRoute[];
const tokenList = arg("tokens", "512,2048").split(",").map(Number);
const wasmThreads = routes.includes("wasm") ? await startWasmThreads() : 0;

interface Shape {
  name: string;
  tA: boolean;
  tB: boolean;
  m: number;
  n: number;
  k: number;
}
function shapes(T: number): Shape[] {
  return [
    // forward y = x·Wᵀ: x [T, in], W [out, in]
    { name: `x·Wᵀ gate/up [${T},576]·[1536,576]ᵀ`, tA: false, tB: true, m: T, n: 1536, k: 576 },
    { name: `x·Wᵀ q/o [${T},576]·[576,576]ᵀ`, tA: false, tB: true, m: T, n: 576, k: 576 },
    { name: `x·Wᵀ k/v [${T},576]·[192,576]ᵀ`, tA: false, tB: true, m: T, n: 192, k: 576 },
    { name: `x·Wᵀ down [${T},1536]·[576,1536]ᵀ`, tA: false, tB: true, m: T, n: 576, k: 1536 },
    // backward dx = dy·W
    { name: `dy·W gate/up [${T},1536]·[1536,576]`, tA: false, tB: false, m: T, n: 576, k: 1536 },
    { name: `dy·W down [${T},576]·[576,1536]`, tA: false, tB: false, m: T, n: 1536, k: 576 },
    // LoRA r=16: x·Aᵀ, h·Bᵀ, dA = dhᵀ·x, dB = dyᵀ·h
    { name: `LoRA x·Aᵀ [${T},576]·[16,576]ᵀ`, tA: false, tB: true, m: T, n: 16, k: 576 },
    { name: `LoRA h·Bᵀ [${T},16]·[1536,16]ᵀ`, tA: false, tB: true, m: T, n: 1536, k: 16 },
    { name: `LoRA dA dhᵀ·x [16,${T}]·[${T},576]`, tA: true, tB: false, m: 16, n: 576, k: T },
    { name: `LoRA dB dyᵀ·h [1536,${T}]·[${T},16]`, tA: true, tB: false, m: 1536, n: 16, k: T },
  ];
}

function timeOne(f: Sgemm, s: Shape, budgetMs: number): number {
  const a = new Float32Array(s.m * s.k).map(() => Math.random() - 0.5);
  const b = new Float32Array(s.k * s.n).map(() => Math.random() - 0.5);
  const c = new Float32Array(s.m * s.n);
  const lda = s.tA ? s.m : s.k;
  const ldb = s.tB ? s.k : s.n;
  f(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, s.n); // warm-up
  let reps = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < budgetMs || reps < 2) {
    f(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, s.n);
    reps++;
    t = performance.now();
  }
  return (2 * s.m * s.n * s.k * reps) / ((t - t0) / 1000) / 1e9;
}

const available = routes.filter((r) => sgemmFor(r));
const blas = loadNativeBlas();
const blasNote = blas ? `; blas: ${blas.path}, ${blas.config()}, ${process.env.OPENBLAS_NUM_THREADS ?? "default"} threads` : "";
console.log(`# matmul GFLOP/s, node ${process.version}, routes: ${available.join(", ")}${blasNote}; wasm threads: ${wasmThreads}`);
console.log(`| shape | ${available.join(" | ")} |`);
console.log(`| --- | ${available.map(() => "---:").join(" | ")} |`);
for (const T of tokenList) {
  for (const s of shapes(T)) {
    const cells = available.map((r) => timeOne(sgemmFor(r)!, s, r === "js" ? 1500 : 700).toFixed(1));
    console.log(`| ${s.name} | ${cells.join(" | ")} |`);
  }
}
