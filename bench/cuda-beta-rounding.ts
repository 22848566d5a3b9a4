// Where a bf16 product with beta = 1 rounds: is D = bf16(A·B + C) (C added to the fp32 sum), or
// D = bf16(bf16(A·B) + C) (the sum rounded to bf16 first)? A LoRA forward that writes s·xa·Bᵀ
// first and lets the base product add onto it loses the adapter's share in the second case.
// Prints, for cublasGemmEx (the default route) at two shapes, the share of D's elements that
// match each reading, and the share that match A·B alone (C lost).
// Usage (GPU machine): node .devexp/bench/cuda-beta-rounding.js
import { decodeBf16, encodeBf16 } from "../src/engine/cuda/bf16-host.js";
import { openCudaDevice } from "../src/engine/cuda/device.js";

const device = openCudaDevice(0);
let seed = 1;
const random = (count: number, scale: number) =>
  Float32Array.from({ length: count }, () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return scale * (seed / 2 ** 32 - 0.5) * 2;
  });
const bf = (x: Float32Array) => decodeBf16(encodeBf16(x));
const up = (x: Float32Array) => {
  const buffer = device.alloc(x.length * 2);
  device.upload(buffer.ptr, encodeBf16(x));
  return buffer;
};

for (const [m, n, k] of [
  [256, 256, 512],
  [512, 1024, 1024],
]) {
  const a = bf(random(m * k, 1));
  const b = bf(random(k * n, 1 / Math.sqrt(k)));
  const c = bf(random(m * n, 1e-3)); // the adapter's share: about a thousandth of the base output
  const exact = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      exact[i * n + j] = s;
    }
  }
  const addedInFp32 = encodeBf16(Float32Array.from(exact, (v, i) => v + c[i]));
  const roundedFirst = encodeBf16(Float32Array.from(bf(Float32Array.from(exact)), (v, i) => v + c[i]));
  const withoutC = encodeBf16(Float32Array.from(exact));
  const [pa, pb, pc] = [up(a), up(b), up(c)];
  device.cublas.gemmEx({ transA: false, transB: false, m, n, k, a: pa.ptr, b: pb.ptr, c: pc.ptr, dtype: "bf16", beta: 1 });
  const got = new Uint16Array(m * n);
  device.download(got, pc.ptr);
  const share = (want: Uint16Array) => Number((got.filter((v, i) => v === want[i]).length / got.length).toFixed(4));
  console.log(JSON.stringify({ route: "gemmex", m, n, k, c_scale: 1e-3, match_added_in_fp32: share(addedInFp32), match_rounded_first: share(roundedFirst), match_without_c: share(withoutC) }));
  for (const x of [pa, pb, pc]) x.free();
}
device.dispose();
