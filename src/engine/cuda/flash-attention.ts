import { envChoice } from "../../env-choice.js";
import { InvalidInputError } from "../../errors.js";
import type { AttentionShape } from "../backend.js";
import type { CudaDevice, Kernel, ParamType } from "./device.js";
import type { DevicePtr } from "./ffi.js";
import { kernelSource } from "./kernel-source.js";

/**
 * The tile sizes of kernels/flash_attention.cu's instantiations (FA_INSTANCE), per head dim:
 * keys a forward tile, keys a dQ tile, queries a dK/dV tile. The host needs them for the dynamic
 * shared memory; the kernels trap when given less than they lay out.
 */
const TILES: Record<number, { forwardKeys: number; dqKeys: number; dkdvQueries: number }> = {
  64: { forwardKeys: 64, dqKeys: 64, dkdvQueries: 64 },
  128: { forwardKeys: 64, dqKeys: 32, dkdvQueries: 32 },
};
const QUERY_BLOCK = 64; // queries a block of the forward and dQ kernels
const KEY_BLOCK = 64; // keys a block of the dK/dV kernel
const THREADS = 128; // 4 warps
const MAX_SPLITS = 8;

/** Bytes of `rows` shared rows of d bf16, padded by 8 as the kernels lay them out. */
const rowBytes = (rows: number, d: number) => rows * (d + 8) * 2;

function sharedBytes(d: number): { forward: number; dq: number; dkdv: number } {
  const t = TILES[d];
  return {
    forward: 2 * rowBytes(2 * t.forwardKeys, d), // 2 stages × [K; V]
    dq: 2 * rowBytes(2 * t.dqKeys, d),
    dkdv: rowBytes(2 * KEY_BLOCK, d) + 2 * rowBytes(2 * t.dkdvQueries, d) + 2 * 2 * t.dkdvQueries * 4, // K, V; 2 × [Q; dO]; 2 × [lse; D]
  };
}

/**
 * Which kernel runs the forward pass: "mma" (flash_attention.cu, mma.sync, any sm_80+ GPU),
 * "wgmma" (flash_forward_wgmma.cu, Hopper's warpgroup MMA, sm_90 only) or "auto": wgmma at head
 * dim 128 on an sm_90 GPU, where it was measured faster (bench/results/attention-pipelined-h200),
 * mma elsewhere. All write the o and lse the backward kernels read.
 */
export type FlashForward = "auto" | "mma" | "wgmma";

/** The kernel asked for by $AGENTTUNE_FLASH_FORWARD (auto | mma | wgmma), "auto" when unset. */
export function flashForwardFromEnv(env: NodeJS.ProcessEnv = process.env): FlashForward {
  return envChoice(env, "AGENTTUNE_FLASH_FORWARD", ["auto", "mma", "wgmma"], "auto");
}

/**
 * Which kernels compute dQ and dK/dV: "mma" (flash_attention.cu's flash_backward_dq and
 * flash_backward_dkdv, any sm_80+ GPU), "wgmma" (flash_backward_wgmma.cu, Hopper's warpgroup MMA,
 * sm_90 only) or "auto": each kernel where it was measured faster on an sm_90 GPU
 * (bench/results/attention-pipelined-h200: dQ on wgmma, dK/dV on wgmma at head dim 128 and on mma
 * at 64), mma elsewhere. All write the same gradients within bf16 rounding.
 */
export type FlashBackward = "auto" | "mma" | "wgmma";

/** The kernel asked for by $AGENTTUNE_FLASH_BACKWARD (auto | mma | wgmma), "auto" when unset. */
export function flashBackwardFromEnv(env: NodeJS.ProcessEnv = process.env): FlashBackward {
  return envChoice(env, "AGENTTUNE_FLASH_BACKWARD", ["auto", "mma", "wgmma"], "auto");
}

export interface FlashAttentionOptions {
  /** Blocks sharing one key tile's (head, query tile) items in dK/dV; by default it follows the grid size. */
  dkdvSplits?: number;
  /** The forward's kernel (default $AGENTTUNE_FLASH_FORWARD). */
  forward?: FlashForward;
  /** The backward's kernels, dQ and dK/dV (default $AGENTTUNE_FLASH_BACKWARD). */
  backward?: FlashBackward;
}

/** Warpgroups of 64 queries a block of flash_forward_wgmma_d{d}: FwBlock<D>::WARPGROUPS (three at d 128, where the registers allow it). */
export function wgmmaForwardWarpgroups(d: number): number {
  return d === 128 ? 3 : 2;
}

/** Dynamic shared memory of flash_forward_wgmma_d{d}: FwTiles<D>::SMEM (Q tile, a ring of three K/V stages, 1024 for alignment). */
export function wgmmaForwardSharedBytes(d: number): number {
  const keys = 64;
  const queries = 64 * wgmmaForwardWarpgroups(d);
  const stages = 3;
  return queries * d * 2 + stages * (2 * keys * d * 2) + 1024;
}
const WGMMA_DQ_QUERIES = 128; // queries a block of the wgmma dQ kernel: two warpgroups of 64
const WGMMA_THREADS = 256; // two warpgroups: the dQ and dK/dV kernels

/** Dynamic shared memory of flash_backward_dq_wgmma_d{d}: DqTiles<D>::SMEM (Q and dO tiles of 128 queries, a ring of three stages of K and V tiles of 64 keys, 1024 for alignment). */
export function wgmmaDqSharedBytes(d: number): number {
  const queries = WGMMA_DQ_QUERIES;
  const keys = 64;
  const stages = 3;
  return 2 * queries * d * 2 + stages * 2 * keys * d * 2 + 1024;
}

/**
 * Dynamic shared memory of flash_backward_dkdv_wgmma_d{d}: BwTiles<D>::SMEM (the K and V tiles of
 * 128 keys; two stages of Q and dO tiles of 64 queries and their lse and Dsum rows; 1024 for alignment).
 */
export function wgmmaDkdvSharedBytes(d: number): number {
  const keys = 128;
  const queries = 64;
  return 2 * keys * d * 2 + 2 * 2 * queries * d * 2 + 2 * 2 * queries * 4 + 1024;
}
const WGMMA_KEY_BLOCK = 128; // two warpgroups of 64 keys
const WGMMA_DKDV_QUERIES = 64;

const FORWARD: ParamType[] = ["ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "f32"];
const BACKWARD_DQ: ParamType[] = ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "f32"];
const BACKWARD_DKDV: ParamType[] = ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "f32", "i32"];

/**
 * Causal self-attention in fused kernels (FlashAttention-2 style): scores and probabilities stay
 * in registers, key tiles outside the causal band or the sliding window are skipped, and only the
 * row logsumexps (fp32, [B, H, T]) are kept for the backward pass, which recomputes P. Tensors are
 * read and written token-major as the projections give them, so nothing is copied or permuted.
 */
export class CudaFlashAttention {
  /** The head dims with a fused kernel; other shapes go through the GEMM path. */
  static readonly headDims: readonly number[] = Object.keys(TILES).map(Number);

  static supports(s: AttentionShape): boolean {
    return s.headDim in TILES && s.kvHeads > 0 && s.heads % s.kvHeads === 0;
  }

  private readonly k: Record<string, Kernel>;
  private wgmmaForward: Record<string, Kernel> | undefined;
  private wgmmaBackward: Record<string, Kernel> | undefined;
  private readonly dkdvSplits: number | undefined;
  /** The forward's kernel asked for ("auto" resolves per head dim: `forwardKernelFor`). */
  readonly forwardKernel: FlashForward;
  /** The backward's kernels asked for ("auto" resolves per kernel and head dim: `dqKernel`, `dkdvKernel`). */
  readonly backwardKernel: FlashBackward;
  private readonly hopper: boolean;

  constructor(
    private readonly device: CudaDevice,
    options: FlashAttentionOptions = {},
  ) {
    this.dkdvSplits = options.dkdvSplits;
    this.forwardKernel = options.forward ?? flashForwardFromEnv();
    this.backwardKernel = options.backward ?? flashBackwardFromEnv();
    const [major, minor] = device.info.computeCapability;
    this.hopper = major === 9 && minor === 0;
    if (this.forwardKernel === "wgmma" && !this.hopper) throw needsHopper("forward", "AGENTTUNE_FLASH_FORWARD", device.arch);
    if (this.backwardKernel === "wgmma" && !this.hopper) throw needsHopper("backward", "AGENTTUNE_FLASH_BACKWARD", device.arch);
    const kernels: Record<string, ParamType[]> = {
      flash_backward_dot: ["ptr", "ptr", "ptr", "i64", "i32", "i32", "i32"],
      flash_dkdv_reduce: ["ptr", "ptr", "ptr", "i64", "i32"],
    };
    for (const d of CudaFlashAttention.headDims) {
      kernels[`flash_forward_d${d}`] = FORWARD;
      kernels[`flash_backward_dq_d${d}`] = BACKWARD_DQ;
      kernels[`flash_backward_dkdv_d${d}`] = BACKWARD_DKDV;
    }
    this.k = device.compile(kernelSource("flash_attention.cu"), "flash_attention.cu", kernels);
    for (const d of CudaFlashAttention.headDims) {
      const bytes = sharedBytes(d);
      this.k[`flash_forward_d${d}`].allowDynamicShared(bytes.forward);
      this.k[`flash_backward_dq_d${d}`].allowDynamicShared(bytes.dq);
      this.k[`flash_backward_dkdv_d${d}`].allowDynamicShared(bytes.dkdv);
    }
  }

  /** q: [B, T, H, d], k, v: [B, T, Hkv, d] → out: [B, T, H, d] (bf16), lse: [B, H, T] (fp32). */
  forward(out: DevicePtr, lse: DevicePtr, q: DevicePtr, k: DevicePtr, v: DevicePtr, s: AttentionShape): void {
    const { batch: B, tokens: T, heads: H, kvHeads: Hkv, headDim: d } = s;
    if (B === 0 || T === 0) return;
    if (this.forwardKernelFor(d) === "wgmma") {
      const warpgroups = wgmmaForwardWarpgroups(d);
      this.wgmmaForwardKernels()[`flash_forward_wgmma_d${d}`].launch(
        [Math.ceil(T / (64 * warpgroups)), H, B], [128 * warpgroups], wgmmaForwardSharedBytes(d), q, k, v, out, lse, T, H, Hkv, s.window, s.scale,
      );
      return;
    }
    this.k[`flash_forward_d${d}`].launch(
      [Math.ceil(T / QUERY_BLOCK), H, B], [THREADS], sharedBytes(d).forward, q, k, v, out, lse, T, H, Hkv, s.window, s.scale,
    );
  }

  /** The wgmma forward's kernels, compiled on first use (sm_90a). */
  private wgmmaForwardKernels(): Record<string, Kernel> {
    if (!this.wgmmaForward) {
      const kernels = Object.fromEntries(CudaFlashAttention.headDims.map((d) => [`flash_forward_wgmma_d${d}`, FORWARD]));
      this.wgmmaForward = this.device.compile(kernelSource("flash_forward_wgmma.cu"), "flash_forward_wgmma.cu", kernels);
      for (const d of CudaFlashAttention.headDims) this.wgmmaForward[`flash_forward_wgmma_d${d}`].allowDynamicShared(wgmmaForwardSharedBytes(d));
    }
    return this.wgmmaForward;
  }

  /** The wgmma backward's kernels, dQ and dK/dV, compiled on first use (sm_90a). */
  private wgmmaBackwardKernels(): Record<string, Kernel> {
    if (!this.wgmmaBackward) {
      const kernels: Record<string, ParamType[]> = {};
      for (const d of CudaFlashAttention.headDims) {
        kernels[`flash_backward_dq_wgmma_d${d}`] = BACKWARD_DQ;
        kernels[`flash_backward_dkdv_wgmma_d${d}`] = BACKWARD_DKDV;
      }
      this.wgmmaBackward = this.device.compile(kernelSource("flash_backward_wgmma.cu"), "flash_backward_wgmma.cu", kernels);
      for (const d of CudaFlashAttention.headDims) {
        this.wgmmaBackward[`flash_backward_dq_wgmma_d${d}`].allowDynamicShared(wgmmaDqSharedBytes(d));
        this.wgmmaBackward[`flash_backward_dkdv_wgmma_d${d}`].allowDynamicShared(wgmmaDkdvSharedBytes(d));
      }
    }
    return this.wgmmaBackward;
  }

  /** The forward kernel a call of head dim d runs. */
  forwardKernelFor(d: number): "mma" | "wgmma" {
    if (this.forwardKernel === "auto") return this.hopper && d === 128 ? "wgmma" : "mma";
    return this.forwardKernel;
  }

  /** The dQ kernel a call of head dim d runs. */
  dqKernel(_d: number): "mma" | "wgmma" {
    if (this.backwardKernel === "auto") return this.hopper ? "wgmma" : "mma";
    return this.backwardKernel;
  }

  /** The dK/dV kernel a call of head dim d runs. */
  dkdvKernel(d: number): "mma" | "wgmma" {
    if (this.backwardKernel === "auto") return this.hopper && d === 128 ? "wgmma" : "mma";
    return this.backwardKernel;
  }

  /**
   * dout: [B, T, H, d] with the forward's q, k, v, out and lse → dq: [B, T, H, d], dk, dv:
   * [B, T, Hkv, d] (written, bf16).
   */
  backward(
    dq: DevicePtr, dk: DevicePtr, dv: DevicePtr, dout: DevicePtr,
    q: DevicePtr, k: DevicePtr, v: DevicePtr, out: DevicePtr, lse: DevicePtr, s: AttentionShape,
  ): void {
    const { batch: B, tokens: T, heads: H, kvHeads: Hkv, headDim: d } = s;
    if (B === 0 || T === 0) return;
    const dev = this.device;
    const rows = B * T * H;
    const D = dev.alloc(rows * 4); // [B, H, T]
    this.k.flash_backward_dot.launch([Math.ceil((rows * 32) / 256)], [256], 0, dout, out, D.ptr, rows, T, H, d);
    const bytes = sharedBytes(d);
    const dqArgs = [q, k, v, dout, lse, D.ptr, dq, T, H, Hkv, s.window, s.scale];
    if (this.dqKernel(d) === "wgmma") {
      this.wgmmaBackwardKernels()[`flash_backward_dq_wgmma_d${d}`].launch([Math.ceil(T / WGMMA_DQ_QUERIES), H, B], [WGMMA_THREADS], wgmmaDqSharedBytes(d), ...dqArgs);
    } else {
      this.k[`flash_backward_dq_d${d}`].launch([Math.ceil(T / QUERY_BLOCK), H, B], [THREADS], bytes.dq, ...dqArgs);
    }
    // dK/dV: one block a (key tile, KV head) holds the whole group's sum; with few KV heads that
    // grid is small and the causal band makes the first key tiles the longest, so `splits` blocks
    // share a key tile's items and a reduction adds them up (on an H200 at 7B 4×1024 the mma kernel
    // took 0.50 ms with one split, 0.39 with two, 0.32 with four). The wgmma kernel takes two key
    // tiles a block, the first and the last, so its blocks get equal work, and holds one block an
    // SM (its registers): its splits fill whole waves of the SMs.
    const wgmma = this.dkdvKernel(d) === "wgmma";
    const keyTiles = Math.ceil(T / (wgmma ? WGMMA_KEY_BLOCK : KEY_BLOCK));
    const blockColumns = wgmma ? Math.ceil(keyTiles / 2) : keyTiles;
    const queryTiles = Math.ceil(T / (wgmma ? WGMMA_DKDV_QUERIES : TILES[d].dkdvQueries));
    const sms = dev.info.multiprocessors;
    const splits = Math.max(1, Math.min(
      this.dkdvSplits ?? (wgmma ? splitsFillingWaves(blockColumns * Hkv * B, sms) : Math.ceil((6 * sms) / (keyTiles * Hkv * B))),
      MAX_SPLITS,
      (H / Hkv) * queryTiles,
    ));
    const n = B * T * Hkv * d; // elements of dk
    const part = splits > 1 ? dev.alloc(2 * splits * n * 4) : null;
    const args = [q, k, v, dout, lse, D.ptr, dk, dv, part?.ptr ?? 0, T, H, Hkv, s.window, s.scale, splits];
    if (wgmma) {
      this.wgmmaBackwardKernels()[`flash_backward_dkdv_wgmma_d${d}`].launch([blockColumns, Hkv * splits, B], [WGMMA_THREADS], wgmmaDkdvSharedBytes(d), ...args);
    } else {
      this.k[`flash_backward_dkdv_d${d}`].launch([keyTiles, Hkv * splits, B], [THREADS], bytes.dkdv, ...args);
    }
    if (part) {
      this.k.flash_dkdv_reduce.launch([Math.ceil((2 * n) / 4 / 256)], [256], 0, part.ptr, dk, dv, n, splits);
      part.free();
    }
    D.free();
  }
}

function needsHopper(pass: "forward" | "backward", variable: string, arch: string): InvalidInputError {
  return new InvalidInputError(`the wgmma attention ${pass} runs Hopper's warpgroup MMA and needs an sm_90 GPU; this one is ${arch}`, {
    field: variable,
    hint: `unset ${variable} (or set it to "mma") on this GPU`,
  });
}

/**
 * The fewest splits (of 1 to MAX_SPLITS) for which `blocks` × splits blocks, one an SM, fill at
 * least 90 % of the waves they take on `sms` SMs; the best filling when none does.
 */
export function splitsFillingWaves(blocks: number, sms: number): number {
  const filling = (s: number) => (blocks * s) / (Math.ceil((blocks * s) / sms) * sms);
  let best = 1;
  for (let s = 1; s <= MAX_SPLITS; s++) {
    if (filling(s) >= 0.9) return s;
    if (filling(s) > filling(best)) best = s;
  }
  return best;
}
