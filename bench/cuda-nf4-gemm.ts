// The fused NF4 matrix products (nf4_gemm.cu: each weight tile expanded into shared memory and
// multiplied there with wgmma), forward and input gradient, beside what the trainer runs by default
// (the NF4 expansion into a bf16 scratch weight, then cuBLAS), on the projection shapes of
// Qwen2.5-7B at 4096 and 2048 tokens.
// Prints a Markdown table: µs a product, TFLOP/s, and the fused kernel's time as a share of the
// two-pass route's. Random weights (speed only; correctness is test/engine/cuda/nf4.test.ts).
// Usage (on an sm_90 GPU machine): node .devexp/bench/cuda-nf4-gemm.js [--reps 20]
import { decodeBf16 } from "../src/engine/cuda/bf16-host.js";
import { openCudaDevice } from "../src/engine/cuda/device.js";
import type { DeviceBuffer } from "../src/engine/cuda/memory.js";
import { CudaNf4Weight } from "../src/engine/cuda/nf4-weight.js";
import { CudaOps } from "../src/engine/cuda/ops.js";

const repsAt = process.argv.indexOf("--reps");
const reps = repsAt >= 0 ? Number(process.argv[repsAt + 1]) : 20;
const device = openCudaDevice(0);
const ops = new CudaOps(device);
let seed = 0;
console.log(`device: ${device.info.name} (${device.arch}), ${new Date().toISOString()}`);
console.log("| projection [out, in] | tokens | expand + cuBLAS µs | TFLOP/s | fused µs | TFLOP/s | fused / two-pass | largest difference, first 256 rows |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
for (const [label, rows, cols] of [
  ["q, o", 3584, 3584],
  ["k, v", 512, 3584],
  ["gate, up", 18944, 3584],
  ["down", 3584, 18944],
] as const) {
  // random codes made on the device, as the training benchmark's weights (quantising 68 M host weights would only time the host)
  const nf4 = CudaNf4Weight.random(device, rows, cols, (b, n) => ops.fillRandomBytes(b.ptr, n, ++seed));
  const scratch = device.alloc(rows * cols * 2);
  for (const tokens of [4096, 2048]) {
    const x = device.alloc(tokens * cols * 2);
    const y = device.alloc(tokens * rows * 2);
    ops.fillRandomBf16(x.ptr, tokens * cols, 1, ++seed);
    const timeOf = (work: () => void) => {
      for (let i = 0; i < 3; i++) work();
      return median(Array.from({ length: 5 }, () => device.time(() => { for (let i = 0; i < reps; i++) work(); }) / reps));
    };
    const tflops = (ms: number) => ((2 * tokens * rows * cols) / (ms / 1e3) / 1e12).toFixed(0);
    /** Times both routes into `out` ([tokens, width] bf16) and prints a row, with their results compared on the first 256 rows. */
    const row = (name: string, twoPass: () => void, fused: () => void, out: DeviceBuffer, width: number) => {
      const first256 = (run: () => void) => {
        // all-ones bytes are bf16 NaNs: a route that leaves any of `out` unwritten shows as NaN, not as the other route's result
        device.fill(out.ptr, 0xff, out.bytes);
        run();
        const bits = new Uint16Array(256 * width);
        device.download(bits, out.ptr);
        return decodeBf16(bits);
      };
      const [want, got] = [first256(twoPass), first256(fused)];
      let [diff, scale] = [0, 0];
      for (let i = 0; i < want.length; i++) {
        diff = Math.max(diff, Math.abs((got[i] as number) - (want[i] as number)));
        scale = Math.max(scale, Math.abs(want[i] as number));
      }
      const [a, b] = [timeOf(twoPass), timeOf(fused)];
      console.log(`| ${name} | ${tokens} | ${(a * 1e3).toFixed(1)} | ${tflops(a)} | ${(b * 1e3).toFixed(1)} | ${tflops(b)} | ${((100 * b) / a).toFixed(0)} % | ${(diff / scale).toExponential(1)} |`);
    };
    // the forward y: [tokens, out] = x·Wᵀ
    row(
      `${label} [${rows}, ${cols}]`,
      () => {
        nf4.dequantizeInto(scratch);
        device.cublas.gemm({ transA: false, transB: true, m: tokens, n: rows, k: cols, a: x.ptr, b: scratch.ptr, c: y.ptr, dtype: "bf16" });
      },
      () => nf4.matmulInto(y.ptr, x.ptr, tokens),
      y,
      rows,
    );
    // the input gradient dx: [tokens, in] = dy: [tokens, out] · W, x and y swapping places
    row(
      `${label} [${rows}, ${cols}], input gradient`,
      () => {
        nf4.dequantizeInto(scratch);
        device.cublas.gemm({ transA: false, transB: false, m: tokens, n: cols, k: rows, a: y.ptr, b: scratch.ptr, c: x.ptr, dtype: "bf16" });
      },
      () => nf4.matmulTransposedInto(x.ptr, y.ptr, tokens),
      x,
      cols,
    );
    x.free();
    y.free();
  }
  scratch.free();
  nf4.dispose();
}
device.dispose();
