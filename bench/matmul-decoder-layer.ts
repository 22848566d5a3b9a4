// Time of one LoRA training step of SmolLM2-135M on the CPU backend, measured on one decoder layer
// (forward + backward, LoRA r16 on q, k, v, o, gate, up, down) and on the tied LM head with
// cross-entropy, then projected to the 30-layer model. Random weights; float32.
// Run: node --import tsx bench/matmul-decoder-layer.ts [--tokens 512] [--reps 3] [--dropout 0.05]
import { attentionBackward, attentionForward } from "../src/engine/cpu/attention.js";
import { crossEntropyForwardBackward } from "../src/engine/cpu/cross-entropy.js";
import { startWasmThreads } from "../src/engine/cpu/gemm-wasm.js";
import { gluBackward, gluForward } from "../src/engine/cpu/glu.js";
import { linearBackward, linearForward } from "../src/engine/cpu/linear.js";
import { type LoraShape, loraBackward, loraForward } from "../src/engine/cpu/lora-linear.js";
import { matmulRoute } from "../src/engine/cpu/matmul.js";
import { accumulate } from "../src/engine/cpu/residual.js";
import { rmsnormBackward, rmsnormForward } from "../src/engine/cpu/rmsnorm.js";
import { ropeBackward, ropeForward } from "../src/engine/cpu/rope.js";
import { arg } from "./args.js";

const T = Number(arg("tokens", "512"));
const reps = Number(arg("reps", "3"));
const dropout = Number(arg("dropout", "0.05"));
const D = 576;
const H = 9;
const HKV = 3;
const HD = 64;
const F = 1536;
const V = 49152;
const R = 16;
const LAYERS = 30;
if (matmulRoute() === "wasm") await startWasmThreads();

const rnd = (n: number, s = 0.05) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (Math.random() * 2 - 1) * s;
  return a;
};
interface Proj {
  w: Float32Array;
  a: Float32Array;
  b: Float32Array;
  dA: Float32Array;
  dB: Float32Array;
  s: LoraShape;
  h: Float32Array;
}
const proj = (inF: number, outF: number): Proj => ({
  w: rnd(outF * inF),
  a: rnd(R * inF),
  b: rnd(outF * R),
  dA: new Float32Array(R * inF),
  dB: new Float32Array(outF * R),
  s: { rows: T, inF, outF, rank: R, scaling: 2, dropout, seed: 1 },
  h: new Float32Array(T * R),
});
const P = { q: proj(D, H * HD), k: proj(D, HKV * HD), v: proj(D, HKV * HD), o: proj(H * HD, D), gate: proj(D, F), up: proj(D, F), down: proj(F, D) };
const n1 = rnd(D, 1);
const n2 = rnd(D, 1);
const pos = Int32Array.from({ length: T }, (_, i) => i);
const att = { batch: 1, tokens: T, heads: H, kvHeads: HKV, headDim: HD, scale: 1 / 8, window: 0 };
const f = (n: number) => new Float32Array(n);
const x = rnd(T * D, 1);
const [xn1, rstd1, q, k, v, ao, lse, o, x2, xn2, rstd2, g, u, hh, mo] = [f(T * D), f(T), f(T * D), f(T * HKV * HD), f(T * HKV * HD), f(T * D), f(H * T), f(T * D), f(T * D), f(T * D), f(T), f(T * F), f(T * F), f(T * F), f(T * D)];
const [dx2, dmo, dhh, dg, du, dxn2, tmpD, dao, dq, dk, dv, dxn1, dx] = [rnd(T * D), f(T * D), f(T * F), f(T * F), f(T * F), f(T * D), f(T * D), f(T * D), f(T * D), f(T * HKV * HD), f(T * HKV * HD), f(T * D), f(T * D)];
const emb = rnd(V * D);
const logits = f(T * V);
const targets = Int32Array.from({ length: T }, () => Math.floor(Math.random() * V));
const dEmbOut = f(T * D);

const times: Record<string, number> = {};
const timed = (name: string, fn: () => void) => {
  const t0 = performance.now();
  fn();
  times[name] = (times[name] ?? 0) + performance.now() - t0;
};

function layerStep() {
  timed("rmsnorm", () => rmsnormForward(xn1, rstd1, x, n1, T, D, 1e-5, false));
  timed("lora linear", () => {
    loraForward(q, P.q.h, xn1, P.q.w, null, P.q.a, P.q.b, P.q.s);
    loraForward(k, P.k.h, xn1, P.k.w, null, P.k.a, P.k.b, P.k.s);
    loraForward(v, P.v.h, xn1, P.v.w, null, P.v.a, P.v.b, P.v.s);
  });
  timed("rope", () => {
    ropeForward(q, pos, T, H, HD, 1e5);
    ropeForward(k, pos, T, HKV, HD, 1e5);
  });
  timed("attention", () => attentionForward(ao, lse, q, k, v, att));
  timed("lora linear", () => loraForward(o, P.o.h, ao, P.o.w, null, P.o.a, P.o.b, P.o.s));
  timed("residual", () => {
    for (let i = 0; i < T * D; i++) x2[i] = x[i] + o[i];
  });
  timed("rmsnorm", () => rmsnormForward(xn2, rstd2, x2, n2, T, D, 1e-5, false));
  timed("lora linear", () => {
    loraForward(g, P.gate.h, xn2, P.gate.w, null, P.gate.a, P.gate.b, P.gate.s);
    loraForward(u, P.up.h, xn2, P.up.w, null, P.up.a, P.up.b, P.up.s);
  });
  timed("glu", () => gluForward(hh, g, u, T * F, "silu"));
  timed("lora linear", () => loraForward(mo, P.down.h, hh, P.down.w, null, P.down.a, P.down.b, P.down.s));
  // backward: dx2 arrives from the layer above
  timed("lora linear", () => loraBackward(dhh, P.down.dA, P.down.dB, dx2, hh, P.down.w, P.down.a, P.down.b, P.down.h, P.down.s));
  timed("glu", () => gluBackward(dg, du, dhh, g, u, T * F, "silu"));
  timed("lora linear", () => {
    loraBackward(dxn2, P.gate.dA, P.gate.dB, dg, xn2, P.gate.w, P.gate.a, P.gate.b, P.gate.h, P.gate.s);
    loraBackward(tmpD, P.up.dA, P.up.dB, du, xn2, P.up.w, P.up.a, P.up.b, P.up.h, P.up.s);
  });
  timed("residual", () => accumulate(dxn2, tmpD, T * D));
  timed("rmsnorm", () => rmsnormBackward(dmo, null, dxn2, x2, n2, rstd2, T, D, false));
  timed("residual", () => accumulate(dmo, dx2, T * D));
  timed("lora linear", () => loraBackward(dao, P.o.dA, P.o.dB, dmo, ao, P.o.w, P.o.a, P.o.b, P.o.h, P.o.s));
  timed("attention", () => attentionBackward(dq, dk, dv, dao, q, k, v, ao, lse, att));
  timed("rope", () => {
    ropeBackward(dq, pos, T, H, HD, 1e5);
    ropeBackward(dk, pos, T, HKV, HD, 1e5);
  });
  timed("lora linear", () => {
    loraBackward(dxn1, P.q.dA, P.q.dB, dq, xn1, P.q.w, P.q.a, P.q.b, P.q.h, P.q.s);
    loraBackward(tmpD, P.k.dA, P.k.dB, dk, xn1, P.k.w, P.k.a, P.k.b, P.k.h, P.k.s);
    accumulate(dxn1, tmpD, T * D);
    loraBackward(tmpD, P.v.dA, P.v.dB, dv, xn1, P.v.w, P.v.a, P.v.b, P.v.h, P.v.s);
    accumulate(dxn1, tmpD, T * D);
  });
  timed("rmsnorm", () => rmsnormBackward(dx, null, dxn1, x, n1, rstd1, T, D, false));
  timed("residual", () => accumulate(dx, dmo, T * D));
}

function headStep() {
  timed("head", () => {
    linearForward(logits, xn1, emb, null, T, D, V);
    crossEntropyForwardBackward(f(T), logits, logits, targets, T, V);
    linearBackward(dEmbOut, null, null, logits, xn1, emb, T, D, V);
  });
}

layerStep();
headStep();
for (const key of Object.keys(times)) times[key] = 0;
const t0 = performance.now();
for (let r = 0; r < reps; r++) {
  layerStep();
  headStep();
}
const per = (name: string) => (times[name] ?? 0) / reps;
const layerMs = Object.keys(times)
  .filter((key) => key !== "head")
  .reduce((s, key) => s + per(key), 0);
const stepMs = LAYERS * layerMs + per("head");
console.log(`# SmolLM2-135M LoRA step on the CPU backend: ${T} tokens, LoRA dropout ${dropout}, matmul route ${matmulRoute()}, node ${process.version}, ${reps} reps (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
console.log("| part | ms per layer (head: per step) | share of step |");
console.log("| --- | ---: | ---: |");
for (const key of Object.keys(times)) {
  const ms = per(key);
  const total = key === "head" ? ms : LAYERS * ms;
  console.log(`| ${key} | ${ms.toFixed(1)} | ${((100 * total) / stepMs).toFixed(1)} % |`);
}
console.log(`projected step (30 layers + head): ${(stepMs / 1000).toFixed(2)} s for ${T} tokens = ${((T * 1000) / stepMs).toFixed(0)} tokens/s`);
