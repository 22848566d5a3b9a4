import type { CudaDevice, Kernel } from "./device.js";
import type { DevicePtr } from "./ffi.js";
import { kernelSource } from "./kernel-source.js";
import type { DeviceBuffer } from "./memory.js";

// The sizes of one attention call: the engine's shared shape (GQA, scale, sliding window).
import type { AttentionShape } from "../backend.js";

export type { AttentionShape };

/** What the forward pass keeps for the backward pass (head-major copies and the row logsumexps). */
export interface AttentionSaved {
  q: DeviceBuffer;
  k: DeviceBuffer;
  v: DeviceBuffer;
  o: DeviceBuffer;
  lse: DeviceBuffer;
  free(): void;
}

const THREADS = 256;

/**
 * Causal self-attention on the GPU through batched GEMMs: S = scale·Q·Kᵀ and O = P·V on tensor
 * cores (cuBLAS), the masked softmax in a kernel. The probabilities are recomputed in the
 * backward pass from Q, K and the saved logsumexp, so only O(B·H·T) extra is kept between the
 * passes; the scores of one layer exist only while that layer runs (B·H·T² fp32 scratch).
 */
export class CudaAttention {
  private readonly k: Record<string, Kernel>;

  constructor(private readonly device: CudaDevice) {
    this.k = device.compile(kernelSource("attention.cu"), "attention.cu", {
      to_head_major: ["ptr", "ptr", "i32", "i32", "i32", "i32", "i32"],
      causal_softmax_forward: ["ptr", "ptr", "ptr", "i64", "i32", "i32"],
      attention_row_dot: ["ptr", "ptr", "ptr", "i64", "i32"],
      causal_softmax_backward: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i64", "i32", "i32", "f32"],
    });
  }

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

  /**
   * q: [B, T, H, d], k, v: [B, T, Hkv, d] (RoPE applied) → out: [B, T, H, d], all bf16.
   * Returns what the backward pass needs; the caller frees it after the backward.
   */
  forward(out: DevicePtr, q: DevicePtr, k: DevicePtr, v: DevicePtr, s: AttentionShape): AttentionSaved {
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
    return { q: qh, k: kh, v: vh, o: oh, lse, free: () => {
        for (const b of [qh, kh, vh, oh, lse]) b.free();
      },
    };
  }

  /** dout: [B, T, H, d] → dq: [B, T, H, d], dk, dv: [B, T, Hkv, d] (written, bf16). */
  backward(dq: DevicePtr, dk: DevicePtr, dv: DevicePtr, dout: DevicePtr, saved: AttentionSaved, s: AttentionShape): void {
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
    this.k.attention_row_dot.launch([warps], [THREADS], 0, doh.ptr, saved.o.ptr, D.ptr, rows, d);
    this.scores(S.ptr, saved.q.ptr, saved.k.ptr, s);
    const entries = B * Hkv;
    // dP = dO·Vᵀ: [g·T, d]·[T, d]ᵀ
    dev.cublas.gemm({
      transA: false, transB: true, m: g * T, n: T, k: d, a: doh.ptr, b: saved.v.ptr, c: dP.ptr, dtype: "bf16", cType: "f32",
      batch: { count: entries, strideA: g * T * d, strideB: T * d, strideC: g * T * T },
    });
    this.k.causal_softmax_backward.launch([warps], [THREADS], 0, S.ptr, dP.ptr, saved.lse.ptr, D.ptr, P.ptr, dS.ptr, rows, T, s.window, s.scale);
    // dV = Pᵀ·dO: [g·T, T]ᵀ·[g·T, d] — the sum over the group's query heads falls out of the product
    dev.cublas.gemm({
      transA: true, transB: false, m: T, n: d, k: g * T, a: P.ptr, b: doh.ptr, c: dvh.ptr, dtype: "bf16",
      batch: { count: entries, strideA: g * T * T, strideB: g * T * d, strideC: T * d },
    });
    // dQ = dS·K: [g·T, T]·[T, d]
    dev.cublas.gemm({
      transA: false, transB: false, m: g * T, n: d, k: T, a: dS.ptr, b: saved.k.ptr, c: dqh.ptr, dtype: "bf16",
      batch: { count: entries, strideA: g * T * T, strideB: T * d, strideC: g * T * d },
    });
    // dK = dSᵀ·Q: [g·T, T]ᵀ·[g·T, d]
    dev.cublas.gemm({
      transA: true, transB: false, m: T, n: d, k: g * T, a: dS.ptr, b: saved.q.ptr, c: dkh.ptr, dtype: "bf16",
      batch: { count: entries, strideA: g * T * T, strideB: g * T * d, strideC: T * d },
    });
    this.permute(dq, dqh.ptr, s, H, true);
    this.permute(dk, dkh.ptr, s, Hkv, true);
    this.permute(dv, dvh.ptr, s, Hkv, true);
    for (const b of [doh, D, S, dP, P, dS, dqh, dkh, dvh]) b.free();
  }
}
