import type { CudaDevice } from "./device.js";
import type { DevicePtr } from "./ffi.js";
import type { LoraParam } from "./lora-arena.js";
import type { DeviceBuffer } from "./memory.js";
import type { CudaNf4Weight } from "./nf4-weight.js";
import type { CudaOps } from "./ops.js";

/**
 * A frozen NF4 linear layer with a LoRA adapter (QLoRA):
 *   y = x·Wᵀ + b + s·(x·Aᵀ)·Bᵀ,   s = α/r,  W: [out, in] NF4, A: [r, in], B: [out, r]
 * The backward pass gives dx and accumulates dA, dB in fp32; W and b are frozen. W is expanded
 * into a shared bf16 scratch tile right before each product that reads it. A and B are views into
 * the trainer's LoraArena: the products read their bf16 shadows and accumulate into their grads.
 * With dropout p > 0 the adapter reads dropout(x) (the CPU's mask for the call's seed, drawn
 * again in the backward pass rather than stored), as PEFT's lora_dropout does.
 */
export class CudaLoraLinear {
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(
    private readonly device: CudaDevice,
    private readonly ops: CudaOps,
    readonly weight: CudaNf4Weight,
    readonly bias: DeviceBuffer | null,
    readonly lora: { a: LoraParam; b: LoraParam; rank: number; scale: number; dropout: number } | null,
    /** bf16 scratch of at least out·in elements, shared by every layer. */
    private readonly scratch: DeviceBuffer,
  ) {
    this.inFeatures = weight.cols;
    this.outFeatures = weight.rows;
  }

  /** dropout(x) [n, in] in a new buffer (free it after), or null when the adapter has no dropout. */
  private dropped(x: DevicePtr, n: number, seed: number): { ptr: DevicePtr; free(): void } | null {
    if (!this.lora || this.lora.dropout <= 0) return null;
    const xd = this.device.alloc(n * this.inFeatures * 2);
    this.ops.dropout(xd.ptr, x, n * this.inFeatures, seed, this.lora.dropout);
    return xd;
  }

  /**
   * x: [n, in] → y: [n, out]; xa: [n, r] bf16 = dropout(x)·Aᵀ is written for the backward pass
   * (when LoRA is on). `seed` names this call's dropout mask (loraDropoutSeed).
   */
  forward(y: DevicePtr, x: DevicePtr, n: number, xa: DevicePtr | null, seed = 0): void {
    const { inFeatures: k, outFeatures: out } = this;
    const blas = this.device.cublas;
    this.weight.dequantizeInto(this.scratch);
    blas.gemm({ transA: false, transB: true, m: n, n: out, k, a: x, b: this.scratch.ptr, c: y, dtype: "bf16" });
    if (this.bias) this.ops.addBias(y, this.bias.ptr, n, out);
    if (this.lora && xa !== null) {
      const { a, b, rank, scale } = this.lora;
      const xd = this.dropped(x, n, seed);
      blas.gemm({ transA: false, transB: true, m: n, n: rank, k, a: xd?.ptr ?? x, b: a.shadow.ptr, c: xa, dtype: "bf16" });
      xd?.free();
      blas.gemm({ transA: false, transB: true, m: n, n: out, k: rank, a: xa, b: b.shadow.ptr, c: y, dtype: "bf16", alpha: scale, beta: 1 });
    }
  }

  /**
   * dy: [n, out] → dx: [n, in] (written, or added to when accumulate); dA, dB += their gradients.
   * dxa: [n, r] bf16 scratch.
   */
  backward(dx: DevicePtr, dy: DevicePtr, x: DevicePtr, xa: DevicePtr | null, dxa: DevicePtr, n: number, accumulate: boolean, seed = 0): void {
    const { inFeatures: k, outFeatures: out } = this;
    const blas = this.device.cublas;
    this.weight.dequantizeInto(this.scratch);
    blas.gemm({ transA: false, transB: false, m: n, n: k, k: out, a: dy, b: this.scratch.ptr, c: dx, dtype: "bf16", beta: accumulate ? 1 : 0 });
    if (!this.lora || xa === null) return;
    const { a, b, rank, scale } = this.lora;
    // dB += s·dyᵀ·xa: [out, n]·[n, r]
    blas.gemm({ transA: true, transB: false, m: out, n: rank, k: n, a: dy, b: xa, c: b.grad.ptr, dtype: "bf16", cType: "f32", alpha: scale, beta: 1 });
    // dxa = s·dy·B: [n, out]·[out, r]
    blas.gemm({ transA: false, transB: false, m: n, n: rank, k: out, a: dy, b: b.shadow.ptr, c: dxa, dtype: "bf16", alpha: scale });
    // dA += dxaᵀ·dropout(x): [r, n]·[n, in]
    const xd = this.dropped(x, n, seed);
    blas.gemm({ transA: true, transB: false, m: rank, n: k, k: n, a: dxa, b: xd?.ptr ?? x, c: a.grad.ptr, dtype: "bf16", cType: "f32", beta: 1 });
    if (xd === null) {
      // dx += dxa·A: [n, r]·[r, in]
      blas.gemm({ transA: false, transB: false, m: n, n: k, k: rank, a: dxa, b: a.shadow.ptr, c: dx, dtype: "bf16", beta: 1 });
      return;
    }
    // dx += dropout'(dxa·A): the adapter's share goes back through the same mask
    blas.gemm({ transA: false, transB: false, m: n, n: k, k: rank, a: dxa, b: a.shadow.ptr, c: xd.ptr, dtype: "bf16" });
    this.ops.dropout(xd.ptr, xd.ptr, n * k, seed, this.lora.dropout);
    this.ops.addInPlace(dx, xd.ptr, n * k);
    xd.free();
  }
}
