// bf16 GEMM throughput through our cuBLAS binding, for the matrix shapes of LoRA training on
// Qwen2.5 configurations (tokens = batch × length = 4096), plus the cost of one kernel launch.
// Usage (on a GPU machine): node .devbuild/bench/cuda-gemm.js
import { encodeBf16 } from "../src/engine/cuda/bf16-host.js";
import { openCudaDevice } from "../src/engine/cuda/device.js";

const device = openCudaDevice(0);
console.log(`device: ${device.info.name} (${device.arch}), driver ${device.info.driverVersion}, NVRTC ${device.info.nvrtcVersion}`);

const tokens = 4096;
const shapes: [string, number, number, number][] = [
  ["square 8192³", 8192, 8192, 8192],
  ["0.5B q_proj  x[4096,896]·W[896,896]ᵀ", tokens, 896, 896],
  ["0.5B up_proj x[4096,896]·W[4864,896]ᵀ", tokens, 4864, 896],
  ["3B up_proj   x[4096,2048]·W[11008,2048]ᵀ", tokens, 11008, 2048],
  ["3B down_proj x[4096,11008]·W[2048,11008]ᵀ", tokens, 2048, 11008],
  ["7B up_proj   x[4096,3584]·W[18944,3584]ᵀ", tokens, 18944, 3584],
];

function random(n: number): Uint16Array {
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = Math.random() - 0.5;
  return encodeBf16(f);
}

console.log("| shape | m | n | k | ms | TFLOP/s |");
console.log("| --- | --- | --- | --- | --- | --- |");
for (const [label, m, n, k] of shapes) {
  const a = device.alloc(m * k * 2);
  const b = device.alloc(n * k * 2);
  const c = device.alloc(m * n * 2);
  device.upload(a.ptr, random(m * k));
  device.upload(b.ptr, random(n * k));
  const run = () => device.cublas.gemm({ transA: false, transB: true, m, n, k, a: a.ptr, b: b.ptr, c: c.ptr, dtype: "bf16" });
  for (let i = 0; i < 3; i++) run();
  const reps = 20;
  const times: number[] = [];
  for (let r = 0; r < 5; r++) times.push(device.time(() => { for (let i = 0; i < reps; i++) run(); }) / reps);
  times.sort((x, y) => x - y);
  const ms = times[2];
  console.log(`| ${label} | ${m} | ${n} | ${k} | ${ms.toFixed(3)} | ${((2 * m * n * k) / (ms / 1e3) / 1e12).toFixed(0)} |`);
  a.free();
  b.free();
  c.free();
}

const { noop } = device.compile(`extern "C" __global__ void noop(int n) {}`, "noop.cu", { noop: ["i32"] });
const launches = 20000;
for (let i = 0; i < 100; i++) noop.launch([1], [32], 0, 1);
device.synchronize();
const t0 = process.hrtime.bigint();
for (let i = 0; i < launches; i++) noop.launch([1], [32], 0, i);
device.synchronize();
const us = Number(process.hrtime.bigint() - t0) / 1e3 / launches;
console.log(`kernel launch from Node (host side, empty kernel): ${us.toFixed(2)} µs each`);
device.dispose();
