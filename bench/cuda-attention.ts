// Attention forward + backward on the GPU, fused kernels against batched GEMMs, at the training
// shapes of the Qwen2.5 configurations: the fused path with its default kernels ("auto"), and on
// sm_90 also with every kernel named (flash_attention.cu's mma.sync ones, or the wgmma ones of
// flash_forward_wgmma.cu and flash_backward_wgmma.cu), then each backward's time kernel by kernel,
// the dK/dV kernels over a range of splits.
// Usage (on a GPU machine): node .devbuild/bench/cuda-attention.js [--only TEXT] (the shapes whose label holds TEXT)
import { type AttentionPath, type AttentionShape, CudaAttention } from "../src/engine/cuda/attention.js";
import { encodeBf16 } from "../src/engine/cuda/bf16-host.js";
import { openCudaDevice } from "../src/engine/cuda/device.js";

const device = openCudaDevice(0);
const hopper = device.info.computeCapability.join(".") === "9.0";
const paths: Record<string, CudaAttention> = {
  "fused, auto": new CudaAttention(device, { path: "fused", flashForward: "auto", flashBackward: "auto" }),
  ...(hopper
    ? {
        "fused, all mma.sync": new CudaAttention(device, { path: "fused", flashForward: "mma", flashBackward: "mma" }),
        "fused, all wgmma": new CudaAttention(device, { path: "fused", flashForward: "wgmma", flashBackward: "wgmma" }),
      }
    : {}),
  gemm: new CudaAttention(device, { path: "gemm" }),
};
const pathName = (name: string): AttentionPath => (name.startsWith("fused") ? "fused" : "gemm");
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`device: ${device.info.name}`);
const only = process.argv.includes("--only") ? (process.argv[process.argv.indexOf("--only") + 1] ?? "") : "";
const SHAPES = ([
  ["0.5B 4×1024 (14/2 heads, d 64)", { batch: 4, tokens: 1024, heads: 14, kvHeads: 2, headDim: 64, scale: 0.125, window: 0 }],
  ["3B 4×1024 (16/2 heads, d 128)", { batch: 4, tokens: 1024, heads: 16, kvHeads: 2, headDim: 128, scale: 0.0884, window: 0 }],
  ["7B 4×1024 (28/4 heads, d 128)", { batch: 4, tokens: 1024, heads: 28, kvHeads: 4, headDim: 128, scale: 0.0884, window: 0 }],
  ["7B 1×2048 (28/4 heads, d 128)", { batch: 1, tokens: 2048, heads: 28, kvHeads: 4, headDim: 128, scale: 0.0884, window: 0 }],
] as [string, AttentionShape][]).filter(([label]) => label.includes(only));

/** The shape's q, k, v, o, dout, dq, dk, dv on the device, inputs random; `free` releases them. */
function buffersFor(s: AttentionShape) {
  const nq = s.batch * s.tokens * s.heads * s.headDim;
  const nk = s.batch * s.tokens * s.kvHeads * s.headDim;
  const bufs = [nq, nk, nk, nq, nq, nq, nk, nk].map((n) => device.alloc(n * 2));
  const [q, k, v, o, dout, dq, dk, dv] = bufs.map((b) => b.ptr);
  for (const [ptr, n] of [[q, nq], [k, nk], [v, nk], [dout, nq]] as const) {
    device.upload(ptr, encodeBf16(Float32Array.from({ length: n }, () => Math.random() - 0.5)));
  }
  return { q, k, v, o, dout, dq, dk, dv, free: () => { for (const b of bufs) b.free(); } };
}
console.log("| shape | path | forward ms | backward ms | causal TFLOP/s (fwd+bwd) |");
console.log("| --- | --- | --- | --- | --- |");
for (const [label, s] of SHAPES) {
  const { q, k, v, o, dout, dq, dk, dv, free } = buffersFor(s);
  for (const [name, attention] of Object.entries(paths)) {
    let saved = attention.forward(o, q, k, v, s);
    attention.backward(dq, dk, dv, dout, saved, s);
    saved.free();
    const fwd: number[] = [];
    const bwd: number[] = [];
    for (let r = 0; r < 7; r++) {
      fwd.push(device.time(() => { saved = attention.forward(o, q, k, v, s); }));
      bwd.push(device.time(() => attention.backward(dq, dk, dv, dout, saved, s)));
      saved.free();
    }
    // useful FLOPs of causal attention: forward 2 GEMMs, backward 4 (plus the recomputed scores), half of T² each
    const flops = (6 * 2 * s.batch * s.heads * s.tokens * s.tokens * s.headDim) / 2;
    const total = median(fwd) + median(bwd);
    const taken = attention.pathFor(s) === pathName(name) ? name : `${name} (takes ${attention.pathFor(s)})`;
    console.log(`| ${label} | ${taken} | ${median(fwd).toFixed(2)} | ${median(bwd).toFixed(2)} | ${(flops / (total / 1e3) / 1e12).toFixed(0)} |`);
  }
  free();
}

// The backward kernel by kernel (median of 7 runs' GPU times): the dK/dV kernel's share, and how it
// moves with the splits (0: the default the grid size picks).
if (hopper) {
  const variants = (["mma", "wgmma"] as const).flatMap((backward) =>
    [0, 1, 2, 3, 4, 8].map((splits) => ({
      backward,
      splits,
      attention: new CudaAttention(device, { path: "fused", flashForward: "mma", flashBackward: backward, ...(splits ? { dkdvSplits: splits } : {}) }),
    })),
  );
  console.log("\n| shape | backward kernels | dK/dV splits | flash_backward_dot ms | dQ ms | dK/dV ms | reduce ms |");
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const [label, s] of SHAPES) {
    const { q, k, v, o, dout, dq, dk, dv, free } = buffersFor(s);
    for (const { backward, splits, attention } of variants) {
      const saved = attention.forward(o, q, k, v, s);
      attention.backward(dq, dk, dv, dout, saved, s);
      const runs: Record<string, number[]> = {};
      for (let r = 0; r < 7; r++) {
        device.startProfiling();
        attention.backward(dq, dk, dv, dout, saved, s);
        // one name a kernel whatever its head dim or variant
        for (const t of device.stopProfiling()) {
          const name = t.name.replace(/_d\d+$/, "").replace(/^flash_backward_dkdv.*/, "dkdv").replace(/^flash_backward_dq.*/, "dq");
          runs[name] = [...(runs[name] ?? []), t.ms];
        }
      }
      saved.free();
      const ms = (name: string) => (runs[name] === undefined ? "–" : median(runs[name]).toFixed(3));
      console.log(`| ${label} | ${backward} | ${splits || "default"} | ${ms("flash_backward_dot")} | ${ms("dq")} | ${ms("dkdv")} | ${ms("flash_dkdv_reduce")} |`);
    }
    free();
  }
}
device.dispose();
