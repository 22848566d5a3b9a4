// NF4 → bf16 dequantisation on the GPU for the largest projection of each Qwen2.5 size, beside
// the bf16 GEMM it feeds (x[4096, in] · Wᵀ), to see what the dequantise-then-cuBLAS route costs.
// Usage (on a GPU machine): node .devbuild/bench/cuda-nf4.js
import { encodeBf16 } from "../src/engine/cuda/bf16-host.js";
import { openCudaDevice } from "../src/engine/cuda/device.js";
import { CudaNf4Weight, type Nf4Expansion } from "../src/engine/cuda/nf4-weight.js";
import { quantizeNf4 } from "../src/quant/nf4.js";

const device = openCudaDevice(0);
console.log(`device: ${device.info.name} (${device.arch})`);
console.log("| weight [out, in] | kernel | dequantise µs | GB/s (read+write) | GEMM x[4096,in]·Wᵀ µs | dequantise / GEMM |");
console.log("| --- | --- | --- | --- | --- | --- |");
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [label, rows, cols] of [
  ["0.5B up", 4864, 896],
  ["3B up", 11008, 2048],
  ["7B up", 18944, 3584],
] as const) {
  const w = new Float32Array(rows * cols);
  for (let i = 0; i < w.length; i++) w[i] = (Math.random() - 0.5) * 0.04;
  const nf4 = new CudaNf4Weight(device, quantizeNf4(w, rows, cols));
  const wBf16 = device.alloc(rows * cols * 2);
  const x = device.alloc(4096 * cols * 2);
  const y = device.alloc(4096 * rows * 2);
  device.upload(x.ptr, encodeBf16(Float32Array.from({ length: 4096 * cols }, () => Math.random() - 0.5)));
  const reps = 50;
  const timeExpansion = (expansion: Nf4Expansion) => {
    for (let i = 0; i < 3; i++) nf4.dequantizeInto(wBf16, expansion);
    return median(Array.from({ length: 5 }, () => device.time(() => { for (let i = 0; i < reps; i++) nf4.dequantizeInto(wBf16, expansion); }) / reps));
  };
  const deqs = (["word", "wide"] as const).map((e) => [e, timeExpansion(e)] as const);
  const gemm = () => device.cublas.gemm({ transA: false, transB: true, m: 4096, n: rows, k: cols, a: x.ptr, b: wBf16.ptr, c: y.ptr, dtype: "bf16" });
  gemm();
  const mm = median(Array.from({ length: 5 }, () => device.time(() => { for (let i = 0; i < reps; i++) gemm(); }) / reps));
  const bytes = nf4.residentBytes + rows * cols * 2;
  for (const [expansion, deq] of deqs) {
    console.log(`| ${label} [${rows}, ${cols}] | ${expansion} | ${(deq * 1e3).toFixed(1)} | ${(bytes / (deq / 1e3) / 1e9).toFixed(0)} | ${(mm * 1e3).toFixed(1)} | ${((100 * deq) / mm).toFixed(1)} % |`);
  }
  nf4.dispose();
  wBf16.free();
  x.free();
  y.free();
}
device.dispose();
