import { InvalidInputError } from "../../errors.js";
import type { CudaDevice } from "./device.js";
import { offsetPtr } from "./ffi.js";
import type { DeviceBuffer } from "./memory.js";
import { type AdamwStep, type CudaOps, SUM_SQUARES_BLOCKS } from "./ops.js";

/**
 * The trainable state of every LoRA matrix of a model in five flat device arenas, one allocation
 * each: fp32 master, bf16 shadow (what the GEMMs read), fp32 gradient, fp32 AdamW m and v. Each
 * matrix is a view at the same element offset into all five.
 *
 * Why: a step touched each matrix separately — Σg², AdamW, a memset of g and the bf16 shadow
 * conversion, 4 launches × 14 matrices a layer (2016 launches for Qwen2.5-3B's 504 matrices,
 * ~13 % of a Qwen2.5-0.5B step). Over the arenas the optimizer step is two launches (Σg², then one
 * fused AdamW + shadow + zeroed gradient), and zeroing the gradients or refreshing the shadows is one.
 *
 * Layout: matrix i occupies elements [offsets[i], offsets[i] + numel[i]); each offset is a multiple
 * of LORA_ARENA_ALIGN, so vectorised access stays possible. The padding after each matrix is zero in
 * all five arenas and stays zero: nothing writes a gradient there, and AdamW of g = m = v = p = 0 is 0.
 */

/** Each matrix starts at a multiple of 16 elements: 64 B of fp32, 32 B of bf16. */
export const LORA_ARENA_ALIGN = 16;

/** One LoRA matrix: views into the arenas, [numel] elements each (free() is a no-op: the arena owns the memory). */
export interface LoraParam {
  /** Elements of the matrix (r·in for A, out·r for B). */
  numel: number;
  /** Where the matrix starts in every arena, in elements. */
  offset: number;
  /** [numel] fp32. */
  master: DeviceBuffer;
  /** [numel] bf16 = bf16(master), refreshed after every change of master. */
  shadow: DeviceBuffer;
  /** [numel] fp32, accumulated over micro-batches. */
  grad: DeviceBuffer;
  /** [numel] fp32 AdamW moments. */
  m: DeviceBuffer;
  v: DeviceBuffer;
}

export interface LoraArenaLayout {
  /** Element offset of each matrix, a multiple of LORA_ARENA_ALIGN. */
  offsets: number[];
  /** Elements of each arena, padding included (a multiple of LORA_ARENA_ALIGN). */
  total: number;
}

/**
 * Places matrices of `sizes` elements one after another, each at the next aligned offset, in the
 * order `placement` gives (a permutation of the indices; default: index order). offsets[i] is
 * always matrix i's, whatever its place: the placement only decides which matrices are neighbours.
 */
export function loraArenaLayout(sizes: readonly number[], placement?: readonly number[]): LoraArenaLayout {
  for (const n of sizes) {
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidInputError(`a LoRA matrix of ${n} elements`);
  }
  const order = placement ?? sizes.map((_, i) => i);
  if (order.length !== sizes.length || new Set(order).size !== sizes.length || order.some((i) => !(Number.isInteger(i) && i >= 0 && i < sizes.length))) {
    throw new InvalidInputError(`a LoRA arena placement must name each of the ${sizes.length} matrices once`);
  }
  const offsets: number[] = new Array(sizes.length);
  let end = 0;
  for (const i of order) {
    offsets[i] = end;
    end += Math.ceil(sizes[i] / LORA_ARENA_ALIGN) * LORA_ARENA_ALIGN;
  }
  return { offsets, total: end };
}

const f32 = 4;
const bf16 = 2;

function view(arena: DeviceBuffer, offset: number, numel: number, elementBytes: number): DeviceBuffer {
  return { ptr: offsetPtr(arena.ptr, offset * elementBytes), bytes: numel * elementBytes, free() {} };
}

/** The LoRA matrices of one trainer in five arenas, and the launches that cover all of them at once. */
export class LoraArena {
  readonly params: readonly LoraParam[];
  /** Elements of each arena, padding included. */
  readonly numel: number;
  /** Elements of the matrices themselves (no padding): the trainable parameter count. */
  readonly trainableParameters: number;
  /** [numel] fp32. */
  readonly master: DeviceBuffer;
  /** [numel] bf16. */
  readonly shadow: DeviceBuffer;
  /** [numel] fp32. */
  readonly grad: DeviceBuffer;
  /** [numel] fp32. */
  readonly m: DeviceBuffer;
  /** [numel] fp32. */
  readonly v: DeviceBuffer;
  private disposed = false;

  /**
   * sizes: the elements of each matrix, in the order of `params`; placement: the order they sit in
   * memory (loraArenaLayout). Every arena starts zeroed.
   */
  constructor(
    private readonly device: CudaDevice,
    private readonly ops: CudaOps,
    sizes: readonly number[],
    placement?: readonly number[],
  ) {
    const { offsets, total } = loraArenaLayout(sizes, placement);
    this.numel = total;
    this.trainableParameters = sizes.reduce((s, n) => s + n, 0);
    this.master = device.alloc(total * f32);
    this.shadow = device.alloc(total * bf16);
    this.grad = device.alloc(total * f32);
    this.m = device.alloc(total * f32);
    this.v = device.alloc(total * f32);
    if (total > 0) {
      for (const b of [this.master, this.grad, this.m, this.v]) device.fill(b.ptr, 0, total * f32);
      device.fill(this.shadow.ptr, 0, total * bf16);
    }
    this.params = sizes.map((numel, i) => {
      const offset = offsets[i];
      return {
        numel,
        offset,
        master: view(this.master, offset, numel, f32),
        shadow: view(this.shadow, offset, numel, bf16),
        grad: view(this.grad, offset, numel, f32),
        m: view(this.m, offset, numel, f32),
        v: view(this.v, offset, numel, f32),
      };
    });
  }

  /**
   * Sets every master (fp32 host values in `params` order; null = zeros) with one upload, then
   * the shadows. The moments are left as they are.
   */
  setMasters(values: readonly (Float32Array | null)[]): void {
    const host = this.packed(values, "LoRA matrix");
    if (this.numel > 0) this.device.upload(this.master.ptr, host);
    this.refreshShadows();
  }

  /** fp32 host values in `params` order (null = zeros) laid out as the arena is, the padding zero. */
  private packed(values: readonly (Float32Array | null)[], what: string): Float32Array {
    if (values.length !== this.params.length) throw new InvalidInputError(`${values.length} arrays given for each ${what}, ${this.params.length} expected`);
    const host = new Float32Array(this.numel);
    this.params.forEach((p, i) => {
      const value = values[i];
      if (value === null || value === undefined) return;
      if (value.length !== p.numel) throw new InvalidInputError(`${what} ${i} has ${value.length} values, ${p.numel} expected`);
      host.set(value, p.offset);
    });
    return host;
  }

  /** Downloads the masters, the gradients or a moment with one copy: one fp32 array a matrix, `params` order. */
  read(which: "master" | "grad" | "m" | "v"): Float32Array[] {
    const host = new Float32Array(this.numel);
    if (this.numel > 0) this.device.download(host, this[which].ptr);
    return this.params.map((p) => host.slice(p.offset, p.offset + p.numel));
  }

  /** Sets both AdamW moments (fp32 host values in `params` order) with one upload each: a resume. */
  setMoments(m: readonly Float32Array[], v: readonly Float32Array[]): void {
    const [hostM, hostV] = [this.packed(m, "first moment"), this.packed(v, "second moment")];
    if (this.numel === 0) return;
    this.device.upload(this.m.ptr, hostM);
    this.device.upload(this.v.ptr, hostV);
  }

  /** Downloads the bf16 shadows (bit patterns): one array a matrix, `params` order. */
  readShadows(): Uint16Array[] {
    const host = new Uint16Array(this.numel);
    if (this.numel > 0) this.device.download(host, this.shadow.ptr);
    return this.params.map((p) => host.slice(p.offset, p.offset + p.numel));
  }

  /** Zeroes every gradient: one memset. */
  zeroGrads(): void {
    if (this.numel > 0) this.device.fill(this.grad.ptr, 0, this.numel * f32);
  }

  /** shadow = bf16(master) over the whole arena: one launch. */
  refreshShadows(): void {
    if (this.numel > 0) this.ops.toBf16(this.shadow.ptr, this.master.ptr, this.numel);
  }

  /** ‖g‖₂ over every matrix (the padding adds 0), the same bits on every run: two launches, one 4-byte download. */
  gradNorm(): number {
    if (this.numel === 0) return 0;
    // [0]: the sum; [1 ..]: the first pass's partial sums
    const acc = this.device.alloc(f32 * (1 + SUM_SQUARES_BLOCKS));
    try {
      this.ops.sumSquares(acc.ptr, offsetPtr(acc.ptr, f32), this.grad.ptr, this.numel);
      const sq = new Float32Array(1);
      this.device.download(sq, acc.ptr);
      return Math.sqrt(sq[0]);
    } finally {
      acc.free();
    }
  }

  /**
   * One AdamW step of every matrix (o.gradScale = the clipping factor), the shadows of the new
   * masters, and the gradients zeroed: one launch.
   */
  adamwStep(o: AdamwStep): void {
    // eps = 0 would turn the zero padding into 0/0
    if (!(o.eps > 0)) throw new InvalidInputError(`AdamW eps must be positive, got ${o.eps}`);
    if (this.numel > 0) this.ops.adamwWithShadow(this.master.ptr, this.grad.ptr, this.m.ptr, this.v.ptr, this.shadow.ptr, this.numel, o);
  }

  /** Frees the five arenas (once; the views are dead afterwards). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of [this.master, this.shadow, this.grad, this.m, this.v]) b.free();
  }
}
