import { fastExp } from "./fast-exp.js";
import { SimdScratch } from "./simd-exp.js";

const scratch = new SimdScratch();

/** Copies gate, up (and dh) into the scratch's slots, zero-padded to n4 = n rounded up to 4. */
function stage(n: number, arrays: Float32Array[]): { v: Float32Array; n4: number } {
  const n4 = (n + 3) & ~3;
  const v = scratch.reserve(5 * n4);
  arrays.forEach((a, slot) => {
    v.set(a.subarray(0, n), slot * n4);
    v.fill(0, slot * n4 + n, (slot + 1) * n4);
  });
  return { v, n4 };
}

/** Activation of the gated MLP: SwiGLU (Llama, Qwen) or GeGLU with tanh-approximate GELU (Gemma). */
export type GluActivation = "silu" | "gelu_tanh";

const GELU_C = Math.sqrt(2 / Math.PI);

/** gate, up: [n] → h: [n] = act(gate) · up (WASM SIMD where available, float32 throughout). */
export function gluForward(h: Float32Array, gate: Float32Array, up: Float32Array, n: number, act: GluActivation): void {
  if (scratch.hasWasm) {
    const { v, n4 } = stage(n, [gate, up]);
    scratch.glu(n4, act === "gelu_tanh", false);
    h.set(v.subarray(3 * n4, 3 * n4 + n));
  } else gluForwardPlain(h, gate, up, n, act);
}

/** `gluForward` in plain TypeScript (float64 arithmetic): the fallback, and the tests' cross-check. */
export function gluForwardPlain(h: Float32Array, gate: Float32Array, up: Float32Array, n: number, act: GluActivation): void {
  if (act === "silu") {
    for (let i = 0; i < n; i++) {
      const g = gate[i];
      h[i] = (g / (1 + fastExp(-g))) * up[i];
    }
  } else {
    for (let i = 0; i < n; i++) {
      const g = gate[i];
      h[i] = 0.5 * g * (1 + Math.tanh(GELU_C * (g + 0.044715 * g * g * g))) * up[i];
    }
  }
}

/** dh: [n] → dgate, dup: [n] (overwritten). */
export function gluBackward(dgate: Float32Array, dup: Float32Array, dh: Float32Array, gate: Float32Array, up: Float32Array, n: number, act: GluActivation): void {
  if (scratch.hasWasm) {
    const { v, n4 } = stage(n, [gate, up, dh]);
    scratch.glu(n4, act === "gelu_tanh", true);
    dgate.set(v.subarray(3 * n4, 3 * n4 + n));
    dup.set(v.subarray(4 * n4, 4 * n4 + n));
  } else gluBackwardPlain(dgate, dup, dh, gate, up, n, act);
}

/** `gluBackward` in plain TypeScript (float64 arithmetic): the fallback, and the tests' cross-check. */
export function gluBackwardPlain(dgate: Float32Array, dup: Float32Array, dh: Float32Array, gate: Float32Array, up: Float32Array, n: number, act: GluActivation): void {
  if (act === "silu") {
    for (let i = 0; i < n; i++) {
      const g = gate[i];
      const sig = 1 / (1 + fastExp(-g));
      const d = dh[i];
      dup[i] = d * g * sig;
      dgate[i] = d * up[i] * sig * (1 + g * (1 - sig));
    }
  } else {
    for (let i = 0; i < n; i++) {
      const g = gate[i];
      const inner = GELU_C * (g + 0.044715 * g * g * g);
      const th = Math.tanh(inner);
      const d = dh[i];
      dup[i] = d * 0.5 * g * (1 + th);
      const dInner = GELU_C * (1 + 3 * 0.044715 * g * g);
      dgate[i] = d * up[i] * (0.5 * (1 + th) + 0.5 * g * (1 - th * th) * dInner);
    }
  }
}
