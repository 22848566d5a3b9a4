import { InvalidInputError } from "../../errors.js";
import type { CudaDevice } from "./device.js";
import { type DevicePtr, offsetPtr } from "./ffi.js";
import type { CudaLoraLinear, LoraAdapter } from "./lora-linear.js";

const bf16 = 2;

/**
 * Projections that read one input — q, k and v read RMSNorm₁(x), gate and up read RMSNorm₂(x) —
 * run together. When their L adapters sit side by side in the arena, A_G = [A_1; …; A_L]: [L·r, in],
 * the rank-r products that read or write the [n, in] activations are one product each instead of L:
 *
 *   forward:   xa_G = x·A_Gᵀ: [n, L·r]      then per member  y_i = s·xa_i·B_iᵀ (+ x·W_iᵀ + b_i)
 *   backward:  per member dB_i, dxa_i        then  dA_G += dxa_Gᵀ·x  and  dx = dxa_G·A_G (+ Σ dy_i·W_i)
 *
 * where xa_i, dxa_i are the columns [i·r, (i+1)·r) of xa_G, dxa_G. Those products are bound by
 * reading the activations (a 3B step spent 28 ms in 1512 rank-16 launches), so q/k/v read h₁ once
 * instead of three times. Only without LoRA dropout: PEFT draws a mask a projection, so with
 * dropout each member reads its own dropout(x) and the members run one by one, each on its own
 * [n, r] block of the same xa buffer. Either way the group's xa buffer is [n, L·r] bf16. As in
 * CudaLoraLinear, the base products come last and add onto the adapters' outputs.
 */
export class CudaSharedInputGroup {
  /** The members with an adapter, in order: their xa blocks or columns, in order. */
  private readonly adapted: { linear: CudaLoraLinear; lora: LoraAdapter; index: number }[];
  /** Whether the A-side products run once for the whole group. */
  readonly fused: boolean;
  /** Rank of every adapter (0 when no member has one). */
  private readonly rank: number;

  constructor(
    private readonly device: CudaDevice,
    readonly members: readonly CudaLoraLinear[],
    fuse: boolean,
  ) {
    const inFeatures = members[0]?.inFeatures;
    if (members.some((m) => m.inFeatures !== inFeatures)) throw new InvalidInputError("the projections of a shared-input group must read inputs of one width");
    this.adapted = members.flatMap((linear, index) => (linear.lora ? [{ linear, lora: linear.lora, index }] : []));
    this.rank = this.adapted[0]?.lora.rank ?? 0;
    const sideBySide = this.adapted.every(
      ({ lora }, i) => i === 0 || (lora.a.offset === this.adapted[i - 1].lora.a.offset + this.adapted[i - 1].lora.a.numel && lora.a.numel === this.adapted[0].lora.a.numel),
    );
    const alike = this.adapted.every(({ lora }) => lora.rank === this.rank && lora.dropout <= 0);
    this.fused = fuse && this.adapted.length > 0 && sideBySide && alike;
  }

  /** Columns of the group's xa (and dxa) buffer: L·r, 0 without adapters. */
  get xaColumns(): number {
    return this.adapted.length * this.rank;
  }

  /** Member i's xa inside the group's buffer: a column slice (fused) or an [n, r] block. */
  private slice(xa: DevicePtr, i: number, n: number): DevicePtr {
    return this.fused ? offsetPtr(xa, i * this.rank * bf16) : offsetPtr(xa, i * n * this.rank * bf16);
  }

  /**
   * x: [n, in] → ys[j]: [n, out_j] for member j; xa: [n, L·r] bf16 kept for the backward pass
   * (null: no adapter runs, as in inference). seeds[j]: member j's dropout seed.
   */
  forward(ys: readonly DevicePtr[], x: DevicePtr, n: number, xa: DevicePtr | null, seeds: readonly number[]): void {
    if (!this.fused || xa === null) {
      let slot = 0;
      for (const [j, m] of this.members.entries()) m.forward(ys[j], x, n, m.lora && xa !== null ? this.slice(xa, slot++, n) : null, seeds[j]);
      return;
    }
    const first = this.adapted[0].lora.a;
    // xa_G = x·A_Gᵀ: [n, in]·[in, L·r]
    this.device.cublas.gemm({ transA: false, transB: true, m: n, n: this.xaColumns, k: this.members[0].inFeatures, a: x, b: first.shadow.ptr, c: xa, dtype: "bf16" });
    for (const [i, { linear, lora, index }] of this.adapted.entries()) linear.loraBForward(ys[index], this.slice(xa, i, n), n, this.xaColumns, lora);
    for (const [j, m] of this.members.entries()) m.baseForward(ys[j], x, n, m.lora !== null);
  }

  /**
   * dys[j]: [n, out_j] → dx: [n, in] = Σ_j member j's input gradient (written, or added to when
   * accumulate); every adapter's dA, dB += their gradients. dxa: [n, L·r] bf16 scratch.
   */
  backward(dx: DevicePtr, dys: readonly DevicePtr[], x: DevicePtr, xa: DevicePtr | null, dxa: DevicePtr, n: number, accumulate: boolean, seeds: readonly number[]): void {
    if (!this.fused || xa === null) {
      let slot = 0;
      for (const [j, m] of this.members.entries()) {
        const own = m.lora && xa !== null ? this.slice(xa, slot++, n) : null;
        m.backward(dx, dys[j], x, own, dxa, n, accumulate || j > 0, seeds[j]);
      }
      return;
    }
    this.fusedBackward(dx, dys, x, xa, dxa, n, accumulate);
  }

  /**
   * The fused backward without dA_G += dxa_Gᵀ·x, for a caller that has not kept x: it remakes x and
   * then calls weightGradA with the same dxa, untouched in between. Fused groups only.
   */
  backwardExceptA(dx: DevicePtr, dys: readonly DevicePtr[], xa: DevicePtr, dxa: DevicePtr, n: number, accumulate: boolean): void {
    if (!this.fused) throw new Error("backwardExceptA is for groups whose A-side products are fused");
    this.fusedBackward(dx, dys, null, xa, dxa, n, accumulate);
  }

  /** dA_G += dxa_Gᵀ·x: [L·r, n]·[n, in], the half of the fused backward that backwardExceptA leaves out. */
  weightGradA(x: DevicePtr, dxa: DevicePtr, n: number): void {
    const grads = this.adapted[0].linear.weightGrads;
    grads.fork();
    this.accumulateA(x, dxa, n);
    grads.join();
  }

  private accumulateA(x: DevicePtr, dxa: DevicePtr, n: number): void {
    const grads = this.adapted[0].linear.weightGrads;
    grads.cublas.gemm({ transA: true, transB: false, m: this.xaColumns, n: this.members[0].inFeatures, k: n, a: dxa, b: x, c: this.adapted[0].lora.a.grad.ptr, dtype: "bf16", cType: "f32", beta: 1 });
  }

  /** The fused backward; dA_G only when x is given. */
  private fusedBackward(dx: DevicePtr, dys: readonly DevicePtr[], x: DevicePtr | null, xa: DevicePtr, dxa: DevicePtr, n: number, accumulate: boolean): void {
    const k = this.members[0].inFeatures;
    const L = this.xaColumns;
    const blas = this.device.cublas;
    const grads = this.adapted[0].linear.weightGrads;
    for (const [i, { linear, lora, index }] of this.adapted.entries()) linear.loraBInputGrad(dys[index], this.slice(dxa, i, n), n, L, lora);
    const first = this.adapted[0].lora.a;
    // every dB_i, then dA_G += dxa_Gᵀ·x: [L·r, n]·[n, in], beside the input gradient below
    grads.fork();
    for (const [i, { linear, lora, index }] of this.adapted.entries()) linear.loraBWeightGrad(dys[index], this.slice(xa, i, n), n, L, lora);
    if (x !== null) this.accumulateA(x, dxa, n);
    // dx (=, or += when accumulate) dxa_G·A_G: [n, L·r]·[L·r, in]; then every base product adds onto it
    blas.gemm({ transA: false, transB: false, m: n, n: k, k: L, a: dxa, b: first.shadow.ptr, c: dx, dtype: "bf16", beta: accumulate ? 1 : 0 });
    for (const [j, m] of this.members.entries()) m.baseBackward(dx, dys[j], n, true);
    grads.join();
  }
}
