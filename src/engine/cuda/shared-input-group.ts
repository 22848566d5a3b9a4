import { InvalidInputError } from "../../errors.js";
import type { CudaDevice } from "./device.js";
import { type DevicePtr, offsetPtr } from "./ffi.js";
import type { CudaLoraLinear, LoraAdapter } from "./lora-linear.js";
import type { CudaOps } from "./ops.js";

/**
 * Where a group's B-side products go into its base products: nowhere, the forward only, or both
 * directions (CudaSharedInputGroup, "Folded").
 */
export type LoraFold = "off" | "forward" | "both";
export const LORA_FOLDS: readonly LoraFold[] = ["off", "forward", "both"];

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
 *
 * Folded (a group whose members all have an adapter, `fold` asked for): the group's input (and, for a
 * fused group folding both ways, its input gradient) is an [n, in + L·r] matrix (`stride`, `gradStride` elements
 * a row) whose last L·r columns hold xa_G (dxa_G), and the B side goes into each base product
 * (CudaLoraLinear.foldedForward):
 *
 *   forward:   x_ext[:, in:] = x·A_Gᵀ;  y_i = x_ext[:, :in+(i+1)r]·[W_i | 0 | s·B_i]ᵀ (+ b_i)
 *   backward:  [dx | dxa_G] = Σ_i dy_i·[W_i | 0 | s·B_i], widest first;  dB_i;  dA_G += dxa_Gᵀ·x;  dx += dxa_G·A_G
 *
 * which drops the L rank-r products over the outputs in each direction (at 7B, 2048 tokens: 15–30 µs
 * each, bench/results/train-h200-gemm-route/gemm-2048.md), for base products 16–48 columns wider in
 * k (forward) or n (backward). On an H200 that pays at Qwen2.5-0.5B and 3B and not at 7B, whose
 * wider products cost cuBLAS what the rank-r ones did (bench/results/lora-fold-h200). The forward's
 * fold also keeps the adapter's share of y: cuBLAS rounds a bf16 product to bf16 before it adds C
 * (bench/cuda-beta-rounding.ts), so unfolded y = bf16(bf16(x·Wᵀ) + s·xa·Bᵀ) loses every share under
 * half an ulp of y (right after B leaves zero, most of it); folded, it joins the fp32 sum. Hence the
 * trainer folds the forward whatever the size (loraFoldFor). xa_G is also copied out into the xa
 * buffer, since the input may be freed before the backward pass (selective recomputation). A group
 * whose members run one by one (LoRA dropout: a mask each) folds its forward member by member,
 * each adapter's xa from its own dropout(x), in its own columns.
 */
export class CudaSharedInputGroup {
  /** The members with an adapter, in order: their xa blocks or columns, in order. */
  private readonly adapted: { linear: CudaLoraLinear; lora: LoraAdapter; index: number }[];
  /** Whether the A-side products run once for the whole group. */
  readonly fused: boolean;
  /** Rank of every adapter (0 when no member has one). */
  private readonly rank: number;
  /** Whether the forward's B-side products are folded into the base products (then `stride` > in). */
  readonly folded: boolean;
  /** Whether the backward's are too (fused groups only; then `gradStride` > in). */
  readonly foldedBackward: boolean;
  /** Elements a row of the input x: in, or in + L·r when folded. */
  readonly stride: number;
  /** Elements a row of the input gradient dx: in, or in + L·r when folded both ways. */
  readonly gradStride: number;

  constructor(
    private readonly device: CudaDevice,
    private readonly ops: CudaOps,
    readonly members: readonly CudaLoraLinear[],
    fuse: boolean,
    fold: LoraFold = "off",
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
    // the folded expansion writes W's rows 8 elements at a time and the tail in pairs
    const oneRank = this.adapted.every(({ lora }) => lora.rank === this.rank);
    this.folded = fold !== "off" && this.adapted.length > 0 && this.adapted.length === members.length && oneRank && inFeatures % 8 === 0 && this.rank % 2 === 0;
    this.foldedBackward = this.folded && this.fused && fold === "both";
    this.stride = (inFeatures ?? 0) + (this.folded ? this.xaColumns : 0);
    this.gradStride = (inFeatures ?? 0) + (this.foldedBackward ? this.xaColumns : 0);
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
   * x: [n, in] (`stride` elements a row) → ys[j]: [n, out_j] for member j; xa: [n, L·r] bf16 kept for
   * the backward pass (null: no adapter runs, as in inference). seeds[j]: member j's dropout seed.
   */
  forward(ys: readonly DevicePtr[], x: DevicePtr, n: number, xa: DevicePtr | null, seeds: readonly number[]): void {
    if (this.folded && xa !== null) {
      if (this.fused) this.foldedForward(ys, x, n, xa);
      else this.foldedForwardEach(ys, x, n, xa, seeds);
      return;
    }
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

  /** The folded forward: xa_G into the columns beside x, copied out to xa, then one product a member. */
  private foldedForward(ys: readonly DevicePtr[], x: DevicePtr, n: number, xa: DevicePtr): void {
    const k = this.members[0].inFeatures;
    const L = this.xaColumns;
    const xaG = offsetPtr(x, k * bf16);
    // x_ext[:, in:] = x·A_Gᵀ: [n, in]·[in, L·r]
    this.device.cublas.gemm({ transA: false, transB: true, m: n, n: L, k, a: x, lda: this.stride, b: this.adapted[0].lora.a.shadow.ptr, c: xaG, ldc: this.stride, dtype: "bf16" });
    this.ops.copyColumns(xa, xaG, n, L, this.stride);
    for (const [i, { linear, lora }] of this.adapted.entries()) linear.foldedForward(ys[i], x, this.stride, n, (i + 1) * this.rank, lora);
  }

  /**
   * The folded forward member by member (no shared A side): member i's xa_i = dropout_i(x)·A_iᵀ into
   * its columns beside x, copied out to its [n, r] block of xa, then its folded product. The
   * adapters read a dense copy of x (the dropout masks index [n, in]).
   */
  private foldedForwardEach(ys: readonly DevicePtr[], x: DevicePtr, n: number, xa: DevicePtr, seeds: readonly number[]): void {
    const k = this.members[0].inFeatures;
    const dense = this.denseCopy(x, n);
    for (const [i, { linear, lora }] of this.adapted.entries()) {
      const own = offsetPtr(x, (k + i * this.rank) * bf16);
      linear.loraAForward(own, this.stride, dense.ptr, n, seeds[i], lora);
      this.ops.copyColumns(this.slice(xa, i, n), own, n, this.rank, this.stride);
      linear.foldedForward(ys[i], x, this.stride, n, (i + 1) * this.rank, lora);
    }
    dense.free();
  }

  /** x: [n, in] read `stride` elements a row, copied into a new dense buffer (free it after). */
  private denseCopy(x: DevicePtr, n: number): { ptr: DevicePtr; free(): void } {
    const k = this.members[0].inFeatures;
    const dense = this.device.alloc(n * k * bf16);
    this.ops.copyColumns(dense.ptr, x, n, k, this.stride);
    return dense;
  }

  /**
   * dys[j]: [n, out_j] → dx: [n, in] (`gradStride` elements a row) = Σ_j member j's input gradient
   * (written, or added to when accumulate; groups folded both ways only write); every adapter's dA,
   * dB += their gradients. x: `stride` elements a row. dxa: [n, L·r] bf16 scratch (unused when the
   * backward is folded: dxa_G lies beside dx).
   */
  backward(dx: DevicePtr, dys: readonly DevicePtr[], x: DevicePtr, xa: DevicePtr | null, dxa: DevicePtr, n: number, accumulate: boolean, seeds: readonly number[]): void {
    if (!this.fused || xa === null) {
      // members one by one read a dense x (their dropout masks index [n, in])
      const dense = this.stride === this.members[0].inFeatures ? null : this.denseCopy(x, n);
      let slot = 0;
      for (const [j, m] of this.members.entries()) {
        const own = m.lora && xa !== null ? this.slice(xa, slot++, n) : null;
        m.backward(dx, dys[j], dense?.ptr ?? x, own, dxa, n, accumulate || j > 0, seeds[j]);
      }
      dense?.free();
      return;
    }
    this.fusedBackward(dx, dys, x, xa, dxa, n, accumulate);
  }

  /**
   * The fused backward without dA_G += dxa_Gᵀ·x, for a caller that has not kept x: it remakes x and
   * then calls weightGradA with the same dxa, untouched in between. Fused groups only.
   */
  backwardExceptA(dx: DevicePtr, dys: readonly DevicePtr[], xa: DevicePtr, dxa: DevicePtr, n: number, accumulate: boolean): void {
    if (!this.fused || this.folded) throw new Error("backwardExceptA is for groups whose A-side products are fused and whose input is dense");
    this.fusedBackward(dx, dys, null, xa, dxa, n, accumulate);
  }

  /** dA_G += dxa_Gᵀ·x: [L·r, n]·[n, in], the half of the fused backward that backwardExceptA leaves out. */
  weightGradA(x: DevicePtr, dxa: DevicePtr, n: number): void {
    const grads = this.adapted[0].linear.weightGrads;
    grads.fork();
    this.accumulateA(x, dxa, n);
    grads.join();
  }

  /** dA_G += dxa_Gᵀ·x; x and dxa_G `stride` and `dxaLd` elements a row. */
  private accumulateA(x: DevicePtr, dxa: DevicePtr, n: number, dxaLd = this.xaColumns): void {
    const grads = this.adapted[0].linear.weightGrads;
    grads.cublas.gemm({ transA: true, transB: false, m: this.xaColumns, n: this.members[0].inFeatures, k: n, a: dxa, lda: dxaLd, b: x, ldb: this.stride, c: this.adapted[0].lora.a.grad.ptr, dtype: "bf16", cType: "f32", beta: 1 });
  }

  /** The fused backward; dA_G only when x is given. */
  private fusedBackward(dx: DevicePtr, dys: readonly DevicePtr[], x: DevicePtr | null, xa: DevicePtr, dxa: DevicePtr, n: number, accumulate: boolean): void {
    if (this.foldedBackward) {
      this.foldedInputGrad(dx, dys, x, xa, n, accumulate);
      return;
    }
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

  /** The folded backward: [dx | dxa_G] from the base products, then the A side; dA_G only when x is given. */
  private foldedInputGrad(dx: DevicePtr, dys: readonly DevicePtr[], x: DevicePtr | null, xa: DevicePtr, n: number, accumulate: boolean): void {
    // the tail columns of dx hold nothing to add to: the widest product writes them first
    if (accumulate) throw new InvalidInputError("a folded group writes its input gradient: it cannot add to one");
    const k = this.members[0].inFeatures;
    const L = this.xaColumns;
    const blas = this.device.cublas;
    const grads = this.adapted[0].linear.weightGrads;
    const dxaG = offsetPtr(dx, k * bf16);
    const ld = this.gradStride;
    // [dx | dxa_G] = Σ_i dy_i·[W_i | 0 | s·B_i]: the last member writes all in + L·r columns, each
    // earlier one adds onto its first in + (i+1)·r (zeros onto the later members' dxa)
    for (let i = this.adapted.length - 1; i >= 0; i--) {
      const { linear, lora } = this.adapted[i];
      linear.foldedBackward(dx, ld, dys[i], n, (i + 1) * this.rank, lora, i < this.adapted.length - 1);
    }
    // every dB_i, then dA_G += dxa_Gᵀ·x: [L·r, n]·[n, in], beside the input gradient's last product
    grads.fork();
    for (const [i, { linear, lora }] of this.adapted.entries()) linear.loraBWeightGrad(dys[i], this.slice(xa, i, n), n, L, lora);
    if (x !== null) this.accumulateA(x, dxaG, n, ld);
    // dx += dxa_G·A_G: [n, L·r]·[L·r, in], read from and written into the two halves of one matrix
    blas.gemm({ transA: false, transB: false, m: n, n: k, k: L, a: dxaG, lda: ld, b: this.adapted[0].lora.a.shadow.ptr, c: dx, ldc: ld, dtype: "bf16", beta: 1 });
    grads.join();
  }
}
