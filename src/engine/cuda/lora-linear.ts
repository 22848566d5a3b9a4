import type { CudaDevice } from "./device.js";
import type { DevicePtr } from "./ffi.js";
import type { LoraParam } from "./lora-arena.js";
import type { DeviceBuffer } from "./memory.js";
import type { CudaNf4Weight } from "./nf4-weight.js";
import type { CudaOps } from "./ops.js";
import { inlineWeightGrads, type WeightGradStream } from "./weight-grad-stream.js";

/** A LoRA adapter of one projection: A [r, in] and B [out, r] are views into the trainer's LoraArena. */
export interface LoraAdapter {
  a: LoraParam;
  b: LoraParam;
  rank: number;
  /** α / r. */
  scale: number;
  dropout: number;
}

/**
 * A frozen NF4 linear layer with a LoRA adapter (QLoRA):
 *   y = x·Wᵀ + b + s·(x·Aᵀ)·Bᵀ,   s = α/r,  W: [out, in] NF4, A: [r, in], B: [out, r]
 * The backward pass gives dx and accumulates dA, dB in fp32; W and b are frozen. W is expanded
 * into a shared bf16 scratch tile right before each product that reads it. A and B are views into
 * the trainer's LoraArena: the products read their bf16 shadows and accumulate into their grads.
 * With dropout p > 0 the adapter reads dropout(x) (the CPU's mask for the call's seed, drawn
 * again in the backward pass rather than stored), as PEFT's lora_dropout does.
 *
 * The adapter's products run before the base product, which then adds onto their result
 * (beta = 1): the rank-r product writes y (or dx) without reading it, and the base product reads it
 * in its epilogue, which overlaps its main loop — instead of a rank-r product that reads and writes
 * the whole [n, out] output after it (3B: about 4 ms a step).
 *
 * The base and B-side halves are public so that projections reading one input can share their
 * A-side products (CudaSharedInputGroup); xa and dxa may then be column slices of wider matrices,
 * `ld` elements a row.
 *
 * dA and dB go on `weightGrads`: the main stream by default, or a second stream that runs them
 * beside the input-gradient products (see WeightGradStream); the products and their order on
 * each stream are the same either way.
 */
export class CudaLoraLinear {
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(
    private readonly device: CudaDevice,
    private readonly ops: CudaOps,
    readonly weight: CudaNf4Weight,
    readonly bias: DeviceBuffer | null,
    readonly lora: LoraAdapter | null,
    /** bf16 scratch of at least out·in elements, shared by every layer. */
    private readonly scratch: DeviceBuffer,
    readonly weightGrads: WeightGradStream = inlineWeightGrads(device),
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

  /** x: [n, in] → y: [n, out] = x·Wᵀ + b, the frozen part alone (added to y when accumulate). */
  baseForward(y: DevicePtr, x: DevicePtr, n: number, accumulate: boolean): void {
    this.weight.productInto(y, x, n, accumulate, this.scratch);
    if (this.bias) this.ops.addBias(y, this.bias.ptr, n, this.outFeatures);
  }

  /** dy: [n, out] → dx: [n, in] = dy·W (written, or added to when accumulate). */
  baseBackward(dx: DevicePtr, dy: DevicePtr, n: number, accumulate: boolean): void {
    this.weight.productTransposedInto(dx, dy, n, accumulate, this.scratch);
  }

  /**
   * The base product with the adapter's B side folded in, for an input that carries its xa columns
   * beside it: x_ext: [n, ld] = [x | xa_1 … xa_L], and this adapter's xa the `tail`-th rank of them
   * (tail = (i + 1)·r for the group's i-th member):
   *   y: [n, out] = x_ext[:, :in+tail] · [W | 0 | s·B]ᵀ + b  =  x·Wᵀ + b + s·xa_i·Bᵀ
   * one product where loraBForward + baseForward take two, and y is written once, for 0.5–1.4 % more
   * multiply-adds at 7B (what that buys: CudaSharedInputGroup, "Folded"). The zero columns skip the
   * other members' xa.
   */
  foldedForward(y: DevicePtr, xExt: DevicePtr, ld: number, n: number, tail: number, lora: LoraAdapter): void {
    const k = this.inFeatures + tail;
    this.weight.dequantizeFoldedInto(this.scratch, k, lora.b.shadow.ptr, lora.rank, lora.scale);
    this.device.cublas.gemm({ transA: false, transB: true, m: n, n: this.outFeatures, k, a: xExt, lda: ld, b: this.scratch.ptr, c: y, dtype: "bf16" });
    if (this.bias) this.ops.addBias(y, this.bias.ptr, n, this.outFeatures);
  }

  /**
   * The input gradient of foldedForward: [dx | 0 | dxa_i] = dy·[W | 0 | s·B], written into the first
   * in + tail columns of dxExt: [n, ld] (or added to them when accumulate), so dxa_i = s·dy·B comes
   * out of the base product instead of a product of its own that reads dy again.
   */
  foldedBackward(dxExt: DevicePtr, ld: number, dy: DevicePtr, n: number, tail: number, lora: LoraAdapter, accumulate: boolean): void {
    const k = this.inFeatures + tail;
    this.weight.dequantizeFoldedInto(this.scratch, k, lora.b.shadow.ptr, lora.rank, lora.scale);
    this.device.cublas.gemm({ transA: false, transB: false, m: n, n: k, k: this.outFeatures, a: dy, b: this.scratch.ptr, c: dxExt, ldc: ld, dtype: "bf16", beta: accumulate ? 1 : 0 });
  }

  /** xa: [n, r] (`ld` elements a row) = dropout(x)·Aᵀ, x: [n, in] dense; `seed` names the dropout mask. */
  loraAForward(xa: DevicePtr, ld: number, x: DevicePtr, n: number, seed: number, lora: LoraAdapter): void {
    const xd = this.dropped(x, n, seed);
    this.device.cublas.gemm({ transA: false, transB: true, m: n, n: lora.rank, k: this.inFeatures, a: xd?.ptr ?? x, b: lora.a.shadow.ptr, c: xa, ldc: ld, dtype: "bf16" });
    xd?.free();
  }

  /** y: [n, out] = s·xa·Bᵀ; xa: [n, r], `ld` elements a row. */
  loraBForward(y: DevicePtr, xa: DevicePtr, n: number, ld: number, lora: LoraAdapter): void {
    const { b, rank, scale } = lora;
    this.device.cublas.gemm({ transA: false, transB: true, m: n, n: this.outFeatures, k: rank, a: xa, lda: ld, b: b.shadow.ptr, c: y, dtype: "bf16", alpha: scale });
  }

  /** dxa: [n, r] = s·dy·B (`ld` elements a row), on the main stream: the input gradient's path. */
  loraBInputGrad(dy: DevicePtr, dxa: DevicePtr, n: number, ld: number, lora: LoraAdapter): void {
    const { b, rank, scale } = lora;
    this.device.cublas.gemm({ transA: false, transB: false, m: n, n: rank, k: this.outFeatures, a: dy, b: b.shadow.ptr, c: dxa, ldc: ld, dtype: "bf16", alpha: scale });
  }

  /** dB += s·dyᵀ·xa: [out, n]·[n, r] (xa `ld` elements a row), on the weight-gradient stream (forked). */
  loraBWeightGrad(dy: DevicePtr, xa: DevicePtr, n: number, ld: number, lora: LoraAdapter): void {
    const { b, rank, scale } = lora;
    this.weightGrads.cublas.gemm({ transA: true, transB: false, m: this.outFeatures, n: rank, k: n, a: dy, b: xa, ldb: ld, c: b.grad.ptr, dtype: "bf16", cType: "f32", alpha: scale, beta: 1 });
  }

  /**
   * x: [n, in] → y: [n, out]; xa: [n, r] bf16 = dropout(x)·Aᵀ is written for the backward pass
   * (when LoRA is on). `seed` names this call's dropout mask (loraDropoutSeed).
   */
  forward(y: DevicePtr, x: DevicePtr, n: number, xa: DevicePtr | null, seed = 0): void {
    if (!this.lora || xa === null) {
      this.baseForward(y, x, n, false);
      return;
    }
    this.loraAForward(xa, this.lora.rank, x, n, seed, this.lora);
    this.loraBForward(y, xa, n, this.lora.rank, this.lora);
    this.baseForward(y, x, n, true);
  }

  /**
   * dy: [n, out] → dx: [n, in] (written, or added to when accumulate); dA, dB += their gradients.
   * dxa: [n, r] bf16 scratch.
   */
  backward(dx: DevicePtr, dy: DevicePtr, x: DevicePtr, xa: DevicePtr | null, dxa: DevicePtr, n: number, accumulate: boolean, seed = 0): void {
    const k = this.inFeatures;
    const blas = this.device.cublas;
    if (!this.lora || xa === null) {
      this.baseBackward(dx, dy, n, accumulate);
      return;
    }
    const { a, rank } = this.lora;
    const grads = this.weightGrads;
    this.loraBInputGrad(dy, dxa, n, rank, this.lora);
    const xd = this.dropped(x, n, seed);
    // dB += s·dyᵀ·xa and dA += dxaᵀ·dropout(x): [r, n]·[n, in], beside the input gradient below
    grads.fork();
    this.loraBWeightGrad(dy, xa, n, rank, this.lora);
    grads.cublas.gemm({ transA: true, transB: false, m: rank, n: k, k: n, a: dxa, b: xd?.ptr ?? x, c: a.grad.ptr, dtype: "bf16", cType: "f32", beta: 1 });
    if (xd === null) {
      // dx (=, or += when accumulate) dxa·A: [n, r]·[r, in], then the base product adds onto it
      blas.gemm({ transA: false, transB: false, m: n, n: k, k: rank, a: dxa, b: a.shadow.ptr, c: dx, dtype: "bf16", beta: accumulate ? 1 : 0 });
      this.baseBackward(dx, dy, n, true);
      grads.join();
      return;
    }
    // dx += dropout'(dxa·A): the adapter's share goes back through the same mask
    this.baseBackward(dx, dy, n, accumulate);
    grads.join(); // dA has read dropout(x); its buffer takes dxa·A next
    blas.gemm({ transA: false, transB: false, m: n, n: k, k: rank, a: dxa, b: a.shadow.ptr, c: xd.ptr, dtype: "bf16" });
    this.ops.dropout(xd.ptr, xd.ptr, n * k, seed, this.lora.dropout);
    this.ops.addInPlace(dx, xd.ptr, n * k);
    xd.free();
  }
}
