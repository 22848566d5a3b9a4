// Attention forward + backward on the GPU, fused kernels against batched GEMMs, at the training
// shapes of the Qwen2.5 configurations; on sm_90 also the fused path with the wgmma forward
// (flash_forward_wgmma.cu). Usage (on a GPU machine): node .devbuild/bench/cuda-attention.js
import { type AttentionPath, type AttentionShape, CudaAttention } from "../src/engine/cuda/attention.js";
import { encodeBf16 } from "../src/engine/cuda/bf16-host.js";
import { openCudaDevice } from "../src/engine/cuda/device.js";

const device = openCudaDevice(0);
const hopper = device.info.computeCapability.join(".") === "9.0";
const paths: Record<string, CudaAttention> = {
  fused: new CudaAttention(device, { path: "fused", flashForward: "mma" }),
  ...(hopper ? { "fused, wgmma forward": new CudaAttention(device, { path: "fused", flashForward: "wgmma" }) } : {}),
  gemm: new CudaAttention(device, { path: "gemm" }),
};
const pathName = (name: string): AttentionPath => (name.startsWith("fused") ? "fused" : "gemm");
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`device: ${device.info.name}`);
console.log("| shape | path | forward ms | backward ms | causal TFLOP/s (fwd+bwd) |");
console.log("| --- | --- | --- | --- | --- |");
for (const [label, s] of [
  ["0.5B 4×1024 (14/2 heads, d 64)", { batch: 4, tokens: 1024, heads: 14, kvHeads: 2, headDim: 64, scale: 0.125, window: 0 }],
  ["3B 4×1024 (16/2 heads, d 128)", { batch: 4, tokens: 1024, heads: 16, kvHeads: 2, headDim: 128, scale: 0.0884, window: 0 }],
  ["7B 4×1024 (28/4 heads, d 128)", { batch: 4, tokens: 1024, heads: 28, kvHeads: 4, headDim: 128, scale: 0.0884, window: 0 }],
  ["7B 1×2048 (28/4 heads, d 128)", { batch: 1, tokens: 2048, heads: 28, kvHeads: 4, headDim: 128, scale: 0.0884, window: 0 }],
] as [string, AttentionShape][]) {
  const nq = s.batch * s.tokens * s.heads * s.headDim;
  const nk = s.batch * s.tokens * s.kvHeads * s.headDim;
  const bufs = [nq, nk, nk, nq, nq, nq, nk, nk].map((n) => device.alloc(n * 2));
  const [q, k, v, o, dout, dq, dk, dv] = bufs.map((b) => b.ptr);
  for (const [ptr, n] of [[q, nq], [k, nk], [v, nk], [dout, nq]] as const) {
    device.upload(ptr, encodeBf16(Float32Array.from({ length: n }, () => Math.random() - 0.5)));
  }
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
  for (const b of bufs) b.free();
}
device.dispose();
