import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { type Sgemm, scaleC } from "./gemm-types.js";
import { CTL, type GemmKernel, type WasmMemory, compileGemmModule, instantiateGemm, sharedMemory } from "./gemm-wasm-module.js";

interface State {
  module: object;
  memory: WasmMemory;
  gemm: GemmKernel;
  control: Int32Array;
  workers: Worker[];
}
let state: State | null | undefined;

/** Below this many multiply-adds a product runs on the calling thread alone. */
const THREADED_MIN_WORK = 1 << 20;

function init(): State | null {
  if (state !== undefined) return state;
  state = null;
  const module = compileGemmModule();
  if (!module) return state;
  try {
    const memory = sharedMemory(16);
    state = { module, memory, gemm: instantiateGemm(module, memory), control: new Int32Array(new SharedArrayBuffer(CTL.length * 4)), workers: [] };
  } catch {
    state = null;
  }
  return state;
}

/** Whether the WASM SIMD kernel runs here. */
export function wasmGemmAvailable(): boolean {
  return init() !== null;
}

/**
 * Starts the worker threads of the WASM route (one fewer than the cores, at most 8; $AGENTTUNE_THREADS
 * overrides the total) and resolves once they are ready. Until then products run on the calling thread.
 */
export async function startWasmThreads(threads = Number(process.env.AGENTTUNE_THREADS) || availableParallelism()): Promise<number> {
  const s = init();
  if (!s) return 0;
  const wanted = Math.min(CTL.maxWorkers, Math.max(0, threads - 1));
  const url = workerUrl();
  if (!url) return 1;
  while (s.workers.length < wanted) {
    const index = s.workers.length;
    const w = new Worker(url, { workerData: { module: s.module, memory: s.memory, control: s.control.buffer, index } });
    // a worker that fails never reports ready, so products simply do not use it
    w.on("error", () => {});
    w.unref();
    s.workers.push(w);
  }
  const deadline = Date.now() + 30_000;
  while (s.workers.some((_, i) => Atomics.load(s.control, CTL.ready + i) !== 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  return readyWorkers(s) + 1;
}

/** The worker script: beside this module (src/), or in the package's src/ when running from dist/. */
function workerUrl(): URL | null {
  for (const rel of ["./gemm-worker.mjs", "../../../../src/engine/cpu/gemm-worker.mjs"]) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  return null;
}

function readyWorkers(s: State): number {
  let n = 0;
  while (n < s.workers.length && Atomics.load(s.control, CTL.ready + n) === 1) n++;
  return n;
}

/** Most WASM memory one product's packed operands may take (the memory's own limit is 1 GiB). */
let MAX_BYTES = 256 * 1024 * 1024;

/** Sets that limit (tests use a small one to exercise the row split); returns the previous one. */
export function setWasmGemmLimit(bytes: number): number {
  const old = MAX_BYTES;
  MAX_BYTES = bytes;
  return old;
}

/** Rows of A blocks kept together (16 blocks = 64 rows: ~150 KB of A at k = 576, an L2's worth). */
const GROUP = 16;

/**
 * sgemm through the WASM SIMD micro-kernel (4×8 register block, f32x4): op(A) and op(B) are packed
 * zero-padded into shared WASM memory (A in 4-row blocks, B in 8-column panels); the panels are
 * split between this thread and the ready workers (`startWasmThreads`); alpha and beta are applied
 * while copying the padded product out.
 */
export const sgemmWasm: Sgemm = (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
  if (m === 0 || n === 0) return;
  if (k === 0 || alpha === 0) return scaleC(m, n, beta, c, ldc);
  const s = init();
  if (!s) throw new Error("WASM SIMD is not available in this runtime");
  // keep the packed operands within MAX_BYTES of WASM memory: split C by rows where needed
  const rowBytes = 4 * (k + n + 8);
  if (m > 4 && 4 * (k + 8) * (n + 8) + m * rowBytes > MAX_BYTES) {
    const rows = Math.max(4, Math.floor((MAX_BYTES - 4 * (k + 8) * (n + 8)) / rowBytes / 4) * 4);
    if (rows < m) {
      for (let i0 = 0; i0 < m; i0 += rows) {
        const mi = Math.min(rows, m - i0);
        sgemmWasm(transA, transB, mi, n, k, alpha, a.subarray(transA ? i0 : i0 * lda), lda, b, ldb, beta, c.subarray(i0 * ldc), ldc);
      }
      return;
    }
  }
  const mb = Math.ceil(m / 4);
  const np = Math.ceil(n / 8);
  const aFloats = mb * 4 * k;
  const bFloats = np * 8 * k;
  const cFloats = mb * 4 * np * 8;
  const bytes = (aFloats + bFloats + cFloats) * 4;
  const have = s.memory.buffer.byteLength;
  if (have < bytes) s.memory.grow(Math.ceil((bytes - have) / 65536));
  const mem = new Float32Array(s.memory.buffer);
  const aOff = 0;
  const bOff = aFloats;
  const cOff = aFloats + bFloats;
  // A blocks: element (i, p) → block i>>2 at (i>>2)·4k + 4p + (i&3); source read row by row
  if (transA) {
    for (let p = 0; p < k; p++) {
      const row = p * lda;
      for (let i = 0; i < m; i++) mem[aOff + (i >> 2) * 4 * k + 4 * p + (i & 3)] = a[row + i];
    }
  } else {
    for (let i = 0; i < m; i++) {
      const base = aOff + (i >> 2) * 4 * k + (i & 3);
      const row = i * lda;
      for (let p = 0; p < k; p++) mem[base + 4 * p] = a[row + p];
    }
  }
  for (let i = m; i < mb * 4; i++) {
    const base = aOff + (i >> 2) * 4 * k + (i & 3);
    for (let p = 0; p < k; p++) mem[base + 4 * p] = 0;
  }
  // B panels: element (p, j) → panel j>>3 at (j>>3)·8k + 8p + (j&7); source read row by row
  if (transB) {
    for (let j = 0; j < n; j++) {
      const base = bOff + (j >> 3) * 8 * k + (j & 7);
      const row = j * ldb;
      for (let p = 0; p < k; p++) mem[base + 8 * p] = b[row + p];
    }
  } else {
    for (let p = 0; p < k; p++) {
      const row = p * ldb;
      const base = bOff + 8 * p;
      for (let j = 0; j < n; j++) mem[base + (j >> 3) * 8 * k + (j & 7)] = b[row + j];
    }
  }
  for (let j = n; j < np * 8; j++) {
    const base = bOff + (j >> 3) * 8 * k + (j & 7);
    for (let p = 0; p < k; p++) mem[base + 8 * p] = 0;
  }
  const workers = m * n * k >= THREADED_MIN_WORK ? Math.min(readyWorkers(s), np - 1) : 0;
  if (workers <= 0) s.gemm(aOff * 4, bOff * 4, cOff * 4, mb, np, k, GROUP, 0, np);
  else {
    const ctl = s.control;
    const params = [aOff * 4, bOff * 4, cOff * 4, mb, np, k, GROUP];
    for (let i = 0; i < params.length; i++) ctl[CTL.params + i] = params[i];
    // panels split evenly: this thread takes the first share, worker w the (w + 1)-th
    const share = (t: number) => Math.round((np * t) / (workers + 1));
    for (let w = 0; w < s.workers.length; w++) {
      ctl[CTL.range + 2 * w] = w < workers ? share(w + 1) : 0;
      ctl[CTL.range + 2 * w + 1] = w < workers ? share(w + 2) : 0;
    }
    const seq = (ctl[CTL.seq] + 1) & 0x3fffffff || 1;
    Atomics.store(ctl, CTL.seq, seq);
    Atomics.notify(ctl, CTL.seq);
    s.gemm(aOff * 4, bOff * 4, cOff * 4, mb, np, k, GROUP, 0, share(1));
    for (let w = 0; w < s.workers.length; w++) {
      for (;;) {
        const done = Atomics.load(ctl, CTL.done + w);
        if (done === seq) break;
        Atomics.wait(ctl, CTL.done + w, done);
      }
    }
  }
  const ldw = np * 8;
  for (let i = 0; i < m; i++) {
    const src = cOff + i * ldw;
    const dst = i * ldc;
    if (beta === 0) for (let j = 0; j < n; j++) c[dst + j] = alpha * mem[src + j];
    else for (let j = 0; j < n; j++) c[dst + j] = alpha * mem[src + j] + beta * c[dst + j];
  }
};
