// What widening a 7B projection's product by a folded LoRA B side costs cuBLAS, on random data (a
// constant fill draws less power, and the chip then holds a higher clock than in a step): the
// gate/up and q shapes of Qwen2.5-7B, forward ([x | xa]·[W | s·B]ᵀ: k grows) and input gradient
// (dy·[W | s·B]: n grows), at the widths a fold of one to three rank-16 adapters gives and at
// widths padded to 64 and 128 columns, beside the products the fold replaces.
// Usage (GPU machine): node .devexp/bench/cuda-fold-widths.js [--tokens 2048]
import { parseArgs } from "node:util";
import type { GemmArgs } from "../src/engine/cuda/cublas.js";
import { openCudaDevice } from "../src/engine/cuda/device.js";
import { CudaOps } from "../src/engine/cuda/ops.js";

const { values } = parseArgs({ options: { tokens: { type: "string", default: "2048" } } });
const M = Number(values.tokens);
const d = 3584, ff = 18944, r = 16;
const device = openCudaDevice(0);
const ops = new CudaOps(device);

function timeIt(run: () => void): number {
  for (let i = 0; i < 3; i++) run();
  const times: number[] = [];
  for (let i = 0; i < 7; i++) times.push(device.time(() => { for (let j = 0; j < 10; j++) run(); }) / 10);
  times.sort((a, b) => a - b);
  return times[3];
}

/** Median ms of C [m, n] (beta) = A [m, k] · op(B), every operand random bf16, rows ld elements apart. */
function product(m: number, n: number, k: number, transB: boolean, beta: number, ld: { a?: number; c?: number } = {}): number {
  const lda = ld.a ?? k;
  const ldc = ld.c ?? n;
  const bElems = n * k;
  const a = device.alloc(m * lda * 2);
  const b = device.alloc(bElems * 2);
  const c = device.alloc(m * ldc * 2);
  ops.fillRandomBf16(a.ptr, m * lda, 1, 1);
  ops.fillRandomBf16(b.ptr, bElems, 0.02, 2);
  ops.fillRandomBf16(c.ptr, m * ldc, 1, 3);
  const args: GemmArgs = { transA: false, transB, m, n, k, a: a.ptr, b: b.ptr, c: c.ptr, dtype: "bf16", beta, lda, ldb: transB ? k : n, ldc };
  const ms = timeIt(() => device.cublas.gemm(args));
  for (const x of [a, b, c]) x.free();
  return ms;
}

console.log(`device: ${device.info.name}; ${M} tokens; random bf16 operands; median of 7 × 10 calls`);
console.log("| projection | direction | product | ms |");
console.log("| --- | --- | --- | ---: |");
for (const [name, out] of [["gate/up", ff], ["q", d]] as const) {
  const row = (what: string, dir: string, ms: number) => console.log(`| ${name} | ${dir} | ${what} | ${ms.toFixed(4)} |`);
  row(`x·Wᵀ (+C), k ${d}`, "forward", product(M, out, d, true, 1));
  row("y = s·xa·Bᵀ (the product a fold removes)", "forward", product(M, out, r, true, 0, { a: 3 * r }));
  for (const k of [d + r, d + 2 * r, d + 3 * r, d + 64, d + 128]) row(`[x | xa]·[W | s·B]ᵀ, k ${k}`, "forward", product(M, out, k, true, 0, { a: Math.max(k, d + 3 * r) }));
  row(`dx (+)= dy·W, n ${d}`, "input gradient", product(M, d, out, false, 1));
  row("dxa = s·dy·B (the product a fold removes)", "input gradient", product(M, r, out, false, 0, { c: 3 * r }));
  for (const n of [d + r, d + 2 * r, d + 3 * r, d + 64, d + 128]) row(`[dx | dxa] = dy·[W | s·B], n ${n}`, "input gradient", product(M, n, out, false, 0, { c: Math.max(n, d + 3 * r) }));
}
device.dispose();
