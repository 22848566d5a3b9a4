import { GEMM_KERNEL_WASM_BASE64 } from "./gemm-kernel-wasm.js";

/** The few WebAssembly calls used here (the project's type libraries do not declare WebAssembly). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** gemm(ap, bp, cp, mb, np, k, group, jp0, jp1): byte offsets into the shared memory; see gemm-kernel.wat. */
export type GemmKernel = (ap: number, bp: number, cp: number, mb: number, np: number, k: number, group: number, jp0: number, jp1: number) => void;

let compiled: object | null | undefined;

/** The compiled kernels, compiled once (null where the runtime lacks WASM SIMD or threads). */
export function compileGemmModule(): object | null {
  if (compiled === undefined) {
    try {
      compiled = wasm ? new wasm.Module(Buffer.from(GEMM_KERNEL_WASM_BASE64, "base64")) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** A shared memory of `pages` 64 KiB pages (at most 1 GiB). */
export function sharedMemory(pages: number): WasmMemory {
  return new wasm!.Memory({ initial: pages, maximum: 16384, shared: true });
}

/** Instantiates the kernel on a memory (in this thread or a worker). */
export function instantiateGemm(module: object, memory: WasmMemory): GemmKernel {
  return new wasm!.Instance(module, { env: { memory } }).exports.gemm as GemmKernel;
}

/** Layout of the control block shared with the workers (Int32Array indices). */
export const CTL = {
  seq: 0,
  /** ap, bp, cp, mb, np, k, group at 1..7 */
  params: 1,
  /** jp0, jp1 of worker w at range + 2w */
  range: 16,
  /** the last seq worker w finished */
  done: 32,
  /** 1 once worker w is ready */
  ready: 48,
  maxWorkers: 8,
  length: 64,
} as const;
