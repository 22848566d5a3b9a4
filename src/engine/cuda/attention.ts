import { envChoice } from "../../env-choice.js";
import type { CudaDevice, Kernel } from "./device.js";
import type { DevicePtr } from "./ffi.js";
import { type FlashAttentionOptions, type FlashBackward, CudaFlashAttention, type FlashForward } from "./flash-attention.js";
import { kernelSource } from "./kernel-source.js";

// The sizes of one attention call: the engine's shared shape (GQA, scale, sliding window).
import type { AttentionShape } from "../backend.js";

export type { AttentionShape };

/** How attention runs: fused flash-style kernels, or batched cuBLAS GEMMs around softmax kernels. */
export type AttentionPath = "fused" | "gemm";

export interface CudaAttentionOptions {
  /**
   * The path to take; default $AGENTTUNE_ATTENTION, else "fused". Head dims without a fused
   * kernel (`CudaFlashAttention.headDims`: 64, 128) take the GEMM path whichever is asked.
   */
  path?: AttentionPath;
  /** Blocks sharing one key tile in the fused dK/dV kernel (tests pin it; by default it follows the grid size). */
  dkdvSplits?: number;
  /** The fused path's forward kernel (default $AGENTTUNE_FLASH_FORWARD, else "auto"; "wgmma" needs sm_90). */
  flashForward?: FlashForward;
  /** The fused path's dK/dV kernel (default $AGENTTUNE_FLASH_BACKWARD, else "auto"; "wgmma" needs sm_90). */
  flashBackward?: FlashBackward;
}

/**
 * What the forward pass keeps for the backward pass. On the fused path q, k, v and o are the
 * caller's own token-major buffers, borrowed: they must stay unchanged until the backward (the
 * training step keeps them anyway). On the GEMM path they are head-major copies owned here.
 */
export interface AttentionSaved {
  /** The path that made it; the backward takes the same one. */
  readonly path: AttentionPath;
  readonly q: DevicePtr;
  readonly k: DevicePtr;
  readonly v: DevicePtr;
  readonly o: DevicePtr;
  /** Row logsumexps of the scaled scores, fp32 [B, H, T]. */
  readonly lse: DevicePtr;
  free(): void;
}

const THREADS = 256;

/** The path asked for by $AGENTTUNE_ATTENTION (fused | gemm), "fused" when unset. */
export function attentionPathFromEnv(env: NodeJS.ProcessEnv = process.env): AttentionPath {
  return envChoice(env, "AGENTTUNE_ATTENTION", ["fused", "gemm"], "fused");
}

/**
 * Causal self-attention on the GPU, on one of two paths.
 *
 * fused (flash-attention.ts): one kernel a pass, scores in registers, masked tiles skipped, only
 * the logsumexps kept between the passes.
 *
 * gemm: S = scale·Q·Kᵀ and O = P·V on tensor cores (cuBLAS), the masked softmax in a kernel. The
 * probabilities are recomputed in the backward pass from Q, K and the saved logsumexp, so only
 * O(B·H·T) extra is kept between the passes; the scores of one layer exist only while that layer
 * runs (B·H·T² fp32 scratch).
 */
export class CudaAttention {
  /** The path asked for; `pathFor(shape)` says which one a shape takes. */
  readonly path: AttentionPath;
  private readonly flashOptions: FlashAttentionOptions;
  private gemmKernels: Record<string, Kernel> | undefined;
  private flash: CudaFlashAttention | undefined;

  constructor(
    private readonly device: CudaDevice,
    options: CudaAttentionOptions = {},
  ) {
    this.path = options.path ?? attentionPathFromEnv();
    this.flashOptions = { dkdvSplits: options.dkdvSplits, forward: options.flashForward, backward: options.flashBackward };
  }

  /** The path a call of this shape takes. */
  pathFor(s: AttentionShape): AttentionPath {
    return this.path === "fused" && CudaFlashAttention.supports(s) ? "fused" : "gemm";
  }

  // Each path's kernels are compiled on first use, so a run pays NVRTC only for what it takes.
  private get k(): Record<string, Kernel> {
    this.gemmKernels ??= this.device.compile(kernelSource("attention.cu"), "attention.cu", {
      to_head_major: ["ptr", "ptr", "i32", "i32", "i32", "i32", "i32"],
      causal_softmax_forward: ["ptr", "ptr", "ptr", "i64", "i32", "i32"],
      attention_row_dot: ["ptr", "ptr", "ptr", "i64", "i32"],
      causal_softmax_backward: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i64", "i32", "i32", "f32"],
    });
    return this.gemmKernels;
  }

  private get fused(): CudaFlashAttention {
    this.flash ??= new CudaFlashAttention(this.device, this.flashOptions);
    return this.flash;
  }

  /**
   * q: [B, T, H, d], k, v: [B, T, Hkv, d] (RoPE applied) → out: [B, T, H, d], all bf16.
   * Returns what the backward pass needs; the caller frees it after the backward.
   */
  forward(out: DevicePtr, q: DevicePtr, k: DevicePtr, v: DevicePtr, s: AttentionShape): AttentionSaved {
    if (this.pathFor(s) === "gemm") return this.gemmForward(out, q, k, v, s);
    const lse = this.device.alloc(s.batch * s.heads * s.tokens * 4);
    this.fused.forward(out, lse.ptr, q, k, v, s);
    return { path: "fused", q, k, v, o: out, lse: lse.ptr, free: () => lse.free() };
  }

  /** dout: [B, T, H, d] → dq: [B, T, H, d], dk, dv: [B, T, Hkv, d] (written, bf16). */
  backward(dq: DevicePtr, dk: DevicePtr, dv: DevicePtr, dout: DevicePtr, saved: AttentionSaved, s: AttentionShape): void {
    if (saved.path === "gemm") this.gemmBackward(dq, dk, dv, dout, saved, s);
    else this.fused.backward(dq, dk, dv, dout, saved.q, saved.k, saved.v, saved.o, saved.lse, s);
  }

  // ---- the GEMM path ------------------------------------------------------------------------

  /** [B, T, heads, d] ↔ [B, heads, T, d], bf16. */
  private permute(dst: DevicePtr, src: DevicePtr, s: AttentionShape, heads: number, inverse: boolean): void {
    const n = (s.batch * s.tokens * heads * s.headDim) / 8;
    this.k.to_head_major.launch([Math.ceil(n / THREADS)], [THREADS], 0, src, dst, s.batch, s.tokens, heads, s.headDim / 8, inverse ? 1 : 0);
  }

  /** Scores S = scale·Q·Kᵀ (fp32) for every (batch, KV head) entry: [B·Hkv] × [g·T, T]. */
  private scores(S: DevicePtr, q: DevicePtr, k: DevicePtr, s: AttentionShape): void {
    const g = s.heads / s.kvHeads;
    const T = s.tokens;
    const d = s.headDim;
    this.device.cublas.gemm({
      transA: false, transB: true, m: g * T, n: T, k: d, a: q, b: k, c: S, dtype: "bf16", cType: "f32", alpha: s.scale,
      batch: { count: s.batch * s.kvHeads, strideA: g * T * d, strideB: T * d, strideC: g * T * T },
    });
  }

  /** The forward through batched GEMMs: head-major copies of q, k, v, then S, P and O = P·V. */
  private gemmForward(out: DevicePtr, q: DevicePtr, k: DevicePtr, v: DevicePtr, s: AttentionShape): AttentionSaved {
    const { batch: B, tokens: T, heads: H, kvHeads: Hkv, headDim: d } = s;
    const g = H / Hkv;
    const dev = this.device;
    const qh = dev.alloc(B * H * T * d * 2);
    const kh = dev.alloc(B * Hkv * T * d * 2);
    const vh = dev.alloc(B * Hkv * T * d * 2);
    const oh = dev.alloc(B * H * T * d * 2);
    const lse = dev.alloc(B * H * T * 4);
    this.permute(qh.ptr, q, s, H, false);
    this.permute(kh.ptr, k, s, Hkv, false);
    this.permute(vh.ptr, v, s, Hkv, false);
    const rows = B * H * T;
    const S = dev.alloc(rows * T * 4);
    const P = dev.alloc(rows * T * 2);
    this.scores(S.ptr, qh.ptr, kh.ptr, s);
    this.k.causal_softmax_forward.launch([Math.ceil((rows * 32) / THREADS)], [THREADS], 0, S.ptr, P.ptr, lse.ptr, rows, T, s.window);
    dev.cublas.gemm({
      transA: false, transB: false, m: g * T, n: d, k: T, a: P.ptr, b: vh.ptr, c: oh.ptr, dtype: "bf16",
      batch: { count: B * Hkv, strideA: g * T * T, strideB: T * d, strideC: g * T * d },
    });
    this.permute(out, oh.ptr, s, H, true);
    S.free();
    P.free();
    return {
      path: "gemm", q: qh.ptr, k: kh.ptr, v: vh.ptr, o: oh.ptr, lse: lse.ptr,
      free: () => {
        for (const b of [qh, kh, vh, oh, lse]) b.free();
      },
    };
  }

  private gemmBackward(dq: DevicePtr, dk: DevicePtr, dv: DevicePtr, dout: DevicePtr, saved: AttentionSaved, s: AttentionShape): void {
    const { batch: B, tokens: T, heads: H, kvHeads: Hkv, headDim: d } = s;
    const g = H / Hkv;
    const dev = this.device;
    const rows = B * H * T;
    const doh = dev.alloc(rows * d * 2);
    const D = dev.alloc(rows * 4);
    const S = dev.alloc(rows * T * 4);
    const dP = dev.alloc(rows * T * 4);
    const P = dev.alloc(rows * T * 2);
    const dS = dev.alloc(rows * T * 2);
    const dqh = dev.alloc(rows * d * 2);
    const dkh = dev.alloc(B * Hkv * T * d * 2);
    const dvh = dev.alloc(B * Hkv * T * d * 2);
    this.permute(doh.ptr, dout, s, H, false);
    const warps = Math.ceil((rows * 32) / THREADS);
    this.k.attention_row_dot.launch([warps], [THREADS], 0, doh.ptr, saved.o, D.ptr, rows, d);
    this.scores(S.ptr, saved.q, saved.k, s);
    const entries = B * Hkv;
    // dP = dO·Vᵀ: [g·T, d]·[T, d]ᵀ
    dev.cublas.gemm({
      transA: false, transB: true, m: g * T, n: T, k: d, a: doh.ptr, b: saved.v, c: dP.ptr, dtype: "bf16", cType: "f32",
      batch: { count: entries, strideA: g * T * d, strideB: T * d, strideC: g * T * T },
    });
    this.k.causal_softmax_backward.launch([warps], [THREADS], 0, S.ptr, dP.ptr, saved.lse, D.ptr, P.ptr, dS.ptr, rows, T, s.window, s.scale);
    // dV = Pᵀ·dO: [g·T, T]ᵀ·[g·T, d] — the sum over the group's query heads falls out of the product
    dev.cublas.gemm({
      transA: true, transB: false, m: T, n: d, k: g * T, a: P.ptr, b: doh.ptr, c: dvh.ptr, dtype: "bf16",
      batch: { count: entries, strideA: g * T * T, strideB: g * T * d, strideC: T * d },
    });
    // dQ = dS·K: [g·T, T]·[T, d]
    dev.cublas.gemm({
      transA: false, transB: false, m: g * T, n: d, k: T, a: dS.ptr, b: saved.k, c: dqh.ptr, dtype: "bf16",
      batch: { count: entries, strideA: g * T * T, strideB: T * d, strideC: g * T * d },
    });
    // dK = dSᵀ·Q: [g·T, T]ᵀ·[g·T, d]
    dev.cublas.gemm({
      transA: true, transB: false, m: T, n: d, k: g * T, a: dS.ptr, b: saved.q, c: dkh.ptr, dtype: "bf16",
      batch: { count: entries, strideA: g * T * T, strideB: g * T * d, strideC: T * d },
    });
    this.permute(dq, dqh.ptr, s, H, true);
    this.permute(dk, dkh.ptr, s, Hkv, true);
    this.permute(dv, dvh.ptr, s, Hkv, true);
    for (const b of [doh, D, S, dP, P, dS, dqh, dkh, dvh]) b.free();
  }
}
