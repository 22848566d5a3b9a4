import { compileGemmModule, sharedMemory, type WasmMemory } from "./gemm-wasm-module.js";
import { dropoutMultiplier } from "./dropout.js";
import { fastExp } from "./fast-exp.js";

type ExpSub = (byteOffset: number, n: number, shift: number) => void;
type Dropout = (byteOffset: number, n: number, seed: number, threshold: number, scale: number, start: number) => void;
type Glu = (gate: number, up: number, dh: number, out0: number, out1: number, n: number, gelu: number, back: number) => void;
interface RowKernels {
  rowMax: (byteOffset: number, n: number) => number;
  rowSum: (byteOffset: number, n: number) => number;
  scale: (byteOffset: number, n: number, a: number) => void;
  scaleSubMul: (x: number, y: number, n: number, a: number, b: number) => void;
}

/**
 * Float32 scratch that lives in its own WASM memory, so the softmax loops can take e^x, and LoRA
 * its dropout mask, four lanes at a time (`exp_sub`, `dropout` of gemm-kernel.wat) without copying. Matrix products write straight into
 * its views. Without WASM SIMD it is plain memory and `expSub` runs `fastExp`.
 */
export class SimdScratch {
  private memory: WasmMemory | null = null;
  private kernel: ExpSub | null = null;
  private dropoutKernel: Dropout | null = null;
  private rows: RowKernels | null = null;
  private gluKernel: Glu | null = null;
  private view: Float32Array = new Float32Array(0);

  /** useWasm = false forces the plain fallback (tests compare the two). */
  constructor(useWasm = true) {
    const module = useWasm ? compileGemmModule() : null;
    if (!module) return;
    try {
      this.memory = sharedMemory(1);
      const wasm = (globalThis as unknown as { WebAssembly: { Instance: new (m: object, i: object) => { exports: Record<string, unknown> } } }).WebAssembly;
      const ex = new wasm.Instance(module, { env: { memory: this.memory } }).exports;
      this.kernel = ex.exp_sub as ExpSub;
      this.dropoutKernel = ex.dropout as Dropout;
      this.gluKernel = ex.glu as Glu;
      this.rows = { rowMax: ex.row_max, rowSum: ex.row_sum, scale: ex.scale, scaleSubMul: ex.scale_sub_mul } as RowKernels;
      this.view = new Float32Array(this.memory.buffer);
    } catch {
      this.memory = null;
      this.kernel = null;
      this.dropoutKernel = null;
      this.rows = null;
      this.gluKernel = null;
    }
  }

  /** A view of at least n floats; views from earlier calls may be stale after it. */
  reserve(n: number): Float32Array {
    const need = n;
    if (this.view.length < need) {
      if (this.memory) {
        this.memory.grow(Math.ceil(((need - this.view.length) * 4) / 65536));
        this.view = new Float32Array(this.memory.buffer);
      } else this.view = new Float32Array(need);
    }
    return this.view;
  }

  /** view[offset .. offset + n) = e^(view[i] − shift), for arguments ≥ −87 after the shift (smaller give e^−87 ≈ 0). */
  expSub(offset: number, n: number, shift: number): void {
    if (n <= 0) return;
    if (this.kernel) this.kernel(offset * 4, n, shift);
    else {
      const v = this.view;
      for (let i = offset; i < offset + n; i++) v[i] = fastExp(v[i] - shift);
    }
  }

  /** view[offset + i] *= dropoutMultiplier(seed, start + i, p) for i in [0, n) (see dropout.ts). */
  dropout(offset: number, n: number, seed: number, p: number, start: number): void {
    if (p <= 0 || n <= 0) return;
    if (this.dropoutKernel) {
      // keep iff hash / 2^32 ≥ p, i.e. hash ≥ ⌈p·2^32⌉ (passed as the same 32 bits, signed)
      this.dropoutKernel(offset * 4, n, seed | 0, Math.ceil(p * 4294967296) | 0, 1 / (1 - p), start);
    } else {
      const v = this.view;
      for (let i = 0; i < n; i++) v[offset + i] *= dropoutMultiplier(seed, start + i, p);
    }
  }

  /** max of view[offset .. offset + n), n ≥ 1. */
  max(offset: number, n: number): number {
    if (this.rows) return this.rows.rowMax(offset * 4, n);
    const v = this.view;
    let m = Number.NEGATIVE_INFINITY;
    for (let i = offset; i < offset + n; i++) if (v[i] > m) m = v[i];
    return m;
  }

  /** Σ view[offset .. offset + n). */
  sum(offset: number, n: number): number {
    if (this.rows) return this.rows.rowSum(offset * 4, n);
    const v = this.view;
    let s = 0;
    for (let i = offset; i < offset + n; i++) s += v[i];
    return s;
  }

  /** view[offset .. offset + n) *= a. */
  scale(offset: number, n: number, a: number): void {
    if (this.rows) {
      this.rows.scale(offset * 4, n, a);
      return;
    }
    const v = this.view;
    for (let i = offset; i < offset + n; i++) v[i] *= a;
  }

  /** view[x + i] = (view[x + i] − b) · view[y + i] for i in [0, n): the softmax backward. */
  subMul(x: number, y: number, n: number, b: number): void {
    if (this.rows) {
      this.rows.scaleSubMul(x * 4, y * 4, n, 1, b);
      return;
    }
    const v = this.view;
    for (let i = 0; i < n; i++) v[x + i] = (v[x + i] - b) * v[y + i];
  }

  /** Whether the WASM kernels run (else the plain fallbacks). */
  get hasWasm(): boolean {
    return this.gluKernel !== null;
  }

  /**
   * The gated MLP on five slots of n4 floats (n4 a multiple of 4): gate at 0, up at n4, dh at 2·n4;
   * forward writes h at 3·n4; backward writes dgate at 3·n4 and dup at 4·n4. WASM only (see hasWasm).
   */
  glu(n4: number, gelu: boolean, back: boolean): void {
    const b = n4 * 4;
    this.gluKernel!(0, b, 2 * b, 3 * b, 4 * b, n4, gelu ? 1 : 0, back ? 1 : 0);
  }
}
