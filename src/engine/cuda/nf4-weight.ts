import { InvalidInputError } from "../../errors.js";
import { envChoice } from "../../env-choice.js";
import { DYNAMIC_MAP } from "../../quant/dynamic-map.js";
import type { Nf4Tensor } from "../../quant/nf4.js";
import type { CudaDevice, Kernel } from "./device.js";
import { kernelSource } from "./kernel-source.js";
import type { DevicePtr } from "./ffi.js";
import type { DeviceBuffer } from "./memory.js";

/**
 * Which expansion kernel runs: "word" expands one word of codes (8 weights) a thread, "wide" four
 * words a thread with the dynamic map in shared memory. Both give the same bits.
 */
export type Nf4Expansion = "word" | "wide";

/** The kernel asked for by $AGENTTUNE_NF4_EXPANSION (word | wide), "word" when unset. */
export function nf4ExpansionFromEnv(env: NodeJS.ProcessEnv = process.env): Nf4Expansion {
  return envChoice(env, "AGENTTUNE_NF4_EXPANSION", ["word", "wide"], "word");
}
const WIDE_WORDS = 4; // NF4_WIDE_WORDS in nf4.cu

/**
 * How the products with an NF4 weight run (x·Wᵀ forward, dy·W for the input gradient): "expand"
 * (the weight into a bf16 scratch, then cuBLAS) or "fused" (nf4_gemm.cu, sm_90 only, the weight
 * expanded in shared memory; shapes a fused kernel does not take fall back to "expand").
 */
export type Nf4Matmul = "expand" | "fused";

/** The route asked for by $AGENTTUNE_NF4_MATMUL (expand | fused), "expand" when unset. */
export function nf4MatmulFromEnv(env: NodeJS.ProcessEnv = process.env): Nf4Matmul {
  return envChoice(env, "AGENTTUNE_NF4_MATMUL", ["expand", "fused"], "expand");
}

const kernelsByDevice = new WeakMap<
  CudaDevice,
  { nf4_dequantize_bf16: Kernel; nf4_dequantize_bf16_wide: Kernel; nf4_dequantize_bf16_folded: Kernel; map: DeviceBuffer }
>();

function kernels(device: CudaDevice) {
  let k = kernelsByDevice.get(device);
  if (!k) {
    const compiled = device.compile(kernelSource("nf4.cu"), "nf4.cu", {
      nf4_dequantize_bf16: ["ptr", "ptr", "ptr", "ptr", "f32", "i32", "ptr"],
      nf4_dequantize_bf16_wide: ["ptr", "ptr", "ptr", "ptr", "f32", "i32", "ptr"],
      nf4_dequantize_bf16_folded: ["ptr", "ptr", "ptr", "ptr", "f32", "i32", "i32", "i32", "ptr", "i32", "f32", "ptr"],
    });
    const map = device.alloc(256 * 4);
    device.upload(map.ptr, DYNAMIC_MAP);
    k = { ...compiled, map };
    kernelsByDevice.set(device, k);
  }
  return k;
}

/** The fused NF4 products' kernels for a device (sm_90a: they run wgmma), compiled once. */
const gemmByDevice = new WeakMap<CudaDevice, { nf4_gemm_bf16: Kernel; nf4_gemm_dx_bf16: Kernel }>();
const GEMM_SHARED_BYTES = 4 * 2 * 128 * 64 * 2 + 1024; // GEMM_STAGES × (x tile + W tile) + alignment, nf4_gemm.cu

/**
 * The descriptor offsets (leading, stride) of the input-gradient kernel's N-major W tile, in bytes:
 * k groups 2048 apart, n chunks 128 apart (nf4_gemm.cu). The wgmma probe's N-major test says
 * whether the hardware reads them in this order.
 */
const DX_TILE_OFFSETS = [2048, 128] as const;

/** Whether the device runs the fused kernels: sm_90 (they are built for sm_90a). */
function isHopper(device: CudaDevice): boolean {
  const [major, minor] = device.info.computeCapability;
  return major === 9 && minor === 0;
}

/** The fused kernels' output tile (128 × 128) and reduction tile (64), nf4_gemm.cu: a weight [rows, cols] fits when these divide it. */
const FUSED_TILES = { forward: { rows: 128, cols: 64 }, transposed: { rows: 64, cols: 128 } } as const;

function gemmKernels(device: CudaDevice) {
  let k = gemmByDevice.get(device);
  if (!k) {
    if (!isHopper(device)) {
      throw new InvalidInputError(`the fused NF4 matrix product runs Hopper's wgmma and needs an sm_90 GPU; this one is ${device.arch}`, {
        hint: "expand the weight with dequantizeInto and multiply with cuBLAS instead",
      });
    }
    const params = ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "f32", "i32", "i32", "i32", "i32"] as const;
    k = device.compile(kernelSource("nf4_gemm.cu"), "nf4_gemm.cu", { nf4_gemm_bf16: [...params], nf4_gemm_dx_bf16: [...params, "u32", "u32"] });
    k.nf4_gemm_bf16.allowDynamicShared(GEMM_SHARED_BYTES);
    k.nf4_gemm_dx_bf16.allowDynamicShared(GEMM_SHARED_BYTES);
    gemmByDevice.set(device, k);
  }
  return k;
}

/**
 * A frozen NF4 weight [rows, cols] on the GPU: ≈4.127 bits a weight resident, expanded to a bf16
 * scratch tile right before the matrix product that uses it.
 */
export class CudaNf4Weight {
  readonly rows: number;
  readonly cols: number;
  private readonly packed: DeviceBuffer;
  private readonly absmaxCodes: DeviceBuffer;
  private readonly absmaxScales: DeviceBuffer;
  private readonly offset: number;
  private readonly expansion = nf4ExpansionFromEnv();
  private readonly matmul = nf4MatmulFromEnv();

  /**
   * An NF4 weight of random codes, made on the device (speed benchmarks use random weights;
   * quantising billions of host weights would only time the host). Scales put the weights
   * near ±0.02.
   */
  static random(device: CudaDevice, rows: number, cols: number, fill: (ptr: DeviceBuffer, bytes: number) => void): CudaNf4Weight {
    const n = rows * cols;
    const blocks = n / 64;
    const stub: Nf4Tensor = {
      rows,
      cols,
      blockSize: 64,
      absmaxBlockSize: 256,
      packed: new Uint8Array(0),
      absmaxCodes: new Uint8Array(0),
      absmaxScales: new Float32Array(0),
      absmaxOffset: 0.02,
    };
    const w = new CudaNf4Weight(device, stub, { packed: n / 2, codes: blocks, scales: Math.ceil(blocks / 256) });
    fill(w.packed, n / 2);
    fill(w.absmaxCodes, blocks);
    device.upload(w.absmaxScales.ptr, new Float32Array(Math.ceil(blocks / 256)).fill(0.005));
    return w;
  }

  constructor(
    private readonly device: CudaDevice,
    t: Nf4Tensor,
    sizes?: { packed: number; codes: number; scales: number },
  ) {
    if (t.blockSize !== 64 || t.absmaxBlockSize !== 256 || (t.rows * t.cols) % 64 !== 0) {
      throw new InvalidInputError(
        `the CUDA NF4 path needs blocks of 64 (absmax blocks of 256) and a weight count divisible by 64; got [${t.rows}, ${t.cols}] in blocks of ${t.blockSize}`,
      );
    }
    this.rows = t.rows;
    this.cols = t.cols;
    this.offset = t.absmaxOffset;
    this.packed = device.alloc(sizes?.packed ?? t.packed.byteLength);
    this.absmaxCodes = device.alloc(sizes?.codes ?? t.absmaxCodes.byteLength);
    this.absmaxScales = device.alloc(4 * (sizes?.scales ?? t.absmaxScales.length));
    if (sizes) return;
    device.upload(this.packed.ptr, t.packed);
    device.upload(this.absmaxCodes.ptr, t.absmaxCodes);
    device.upload(this.absmaxScales.ptr, t.absmaxScales);
  }

  /** Bytes resident on the device for this weight. */
  get residentBytes(): number {
    return this.packed.bytes + this.absmaxCodes.bytes + this.absmaxScales.bytes;
  }

  /** Writes the bf16 weights [rows, cols] into `out` (rows·cols·2 bytes), queued on the device's stream. */
  dequantizeInto(out: DeviceBuffer, expansion: Nf4Expansion = this.expansion): void {
    const n8 = (this.rows * this.cols) / 8; // words of codes
    const k = kernels(this.device);
    const wordsPerThread = expansion === "wide" ? WIDE_WORDS : 1;
    const kernel = expansion === "wide" ? k.nf4_dequantize_bf16_wide : k.nf4_dequantize_bf16;
    kernel.launch([Math.ceil(n8 / (256 * wordsPerThread))], [256], 0, ...this.codeArgs(), n8, out.ptr);
  }

  /** The first arguments of every expansion kernel: the codes, their absmax codes and scales, the dynamic map, the offset. */
  private codeArgs(): [DevicePtr, DevicePtr, DevicePtr, DevicePtr, number] {
    return [this.packed.ptr, this.absmaxCodes.ptr, this.absmaxScales.ptr, kernels(this.device).map.ptr, this.offset];
  }

  /**
   * Writes [W | tail] into `out`: [rows, ld] bf16, a row of W then ld − cols tail columns, zero but
   * for the last `rank`, which take scale·B (B: [rows, rank] bf16): the weight of a product with a
   * LoRA adapter's B side folded in (CudaLoraLinear.foldedForward). Same bits of W as dequantizeInto.
   */
  dequantizeFoldedInto(out: DeviceBuffer, ld: number, b: DevicePtr, rank: number, scale: number): void {
    const tail = ld - this.cols;
    if (this.cols % 8 !== 0 || ld % 2 !== 0 || tail < rank || rank < 1) {
      throw new InvalidInputError(`a folded NF4 expansion needs columns divisible by 8, an even row length and room for the rank; got [${this.rows}, ${this.cols}] into rows of ${ld} with rank ${rank}`);
    }
    if (out.bytes < this.rows * ld * 2) throw new InvalidInputError(`the folded expansion of [${this.rows}, ${this.cols}] needs ${this.rows * ld * 2} bytes of scratch; got ${out.bytes}`);
    const k = kernels(this.device);
    const threads = (this.rows * this.cols) / 8 + this.rows * tail; // a word of W each, then a tail element each
    if (threads >= 2 ** 31) throw new InvalidInputError(`the folded expansion indexes words in 32 bits; [${this.rows}, ${this.cols}] + ${tail} columns is too large`);
    k.nf4_dequantize_bf16_folded.launch([Math.ceil(threads / 256)], [256], 0, ...this.codeArgs(), this.rows, this.cols, ld, b, rank, scale, out.ptr);
  }

  private tilesFit(direction: keyof typeof FUSED_TILES): boolean {
    const t = FUSED_TILES[direction];
    return this.rows % t.rows === 0 && this.cols % t.cols === 0;
  }

  /**
   * y: [m, rows] bf16 = x: [m, cols] bf16 · Wᵀ (accumulate: y +=) by the route $AGENTTUNE_NF4_MATMUL
   * picks: expanded into `scratch` (rows·cols bf16) and multiplied by cuBLAS, or fused.
   */
  productInto(y: DevicePtr, x: DevicePtr, m: number, accumulate: boolean, scratch: DeviceBuffer): void {
    this.product("forward", y, x, m, accumulate, scratch);
  }

  /** dx: [m, cols] = dy: [m, rows] · W (accumulate: dx +=), the input gradient, by the same route as productInto. */
  productTransposedInto(dx: DevicePtr, dy: DevicePtr, m: number, accumulate: boolean, scratch: DeviceBuffer): void {
    this.product("transposed", dx, dy, m, accumulate, scratch);
  }

  /** The fused kernel on sm_90 where its tiles divide the weight and the route asks for it, else expansion + cuBLAS. */
  private product(direction: keyof typeof FUSED_TILES, out: DevicePtr, input: DevicePtr, m: number, accumulate: boolean, scratch: DeviceBuffer): void {
    const forward = direction === "forward";
    if (this.matmul === "fused" && isHopper(this.device) && this.tilesFit(direction)) {
      this.launchFused(direction, out, input, m, accumulate, forward ? [] : DX_TILE_OFFSETS);
      return;
    }
    this.dequantizeInto(scratch);
    // forward: out = input · Wᵀ; transposed: out = input · W
    const [n, k] = forward ? [this.rows, this.cols] : [this.cols, this.rows];
    this.device.cublas.gemm({ transA: false, transB: forward, m, n, k, a: input, b: scratch.ptr, c: out, dtype: "bf16", beta: accumulate ? 1 : 0 });
  }

  /**
   * y: [m, rows] bf16 = x: [m, cols] bf16 · Wᵀ (accumulate: y +=), in one kernel that expands each
   * W tile into shared memory (nf4_gemm.cu; sm_90 only), with no bf16 copy of W. The trainer takes
   * it only with AGENTTUNE_NF4_MATMUL=fused (productInto) until it measures faster than expansion +
   * cuBLAS (bench/cuda-nf4-gemm.ts).
   */
  matmulInto(y: DevicePtr, x: DevicePtr, m: number, accumulate = false): void {
    this.launchFused("forward", y, x, m, accumulate);
  }

  /** dx: [m, cols] bf16 = dy: [m, rows] bf16 · W (accumulate: dx +=), fused as matmulInto (nf4_gemm_dx_bf16). */
  matmulTransposedInto(dx: DevicePtr, dy: DevicePtr, m: number, accumulate = false, offsets: readonly [number, number] = DX_TILE_OFFSETS): void {
    this.launchFused("transposed", dx, dy, m, accumulate, offsets);
  }

  /** One fused kernel over [m, output columns] in 128 × 128 tiles; `offsets` only for the transposed one. */
  private launchFused(direction: keyof typeof FUSED_TILES, out: DevicePtr, input: DevicePtr, m: number, accumulate: boolean, offsets: readonly number[] = []): void {
    if (!this.tilesFit(direction)) {
      const t = FUSED_TILES[direction];
      throw new InvalidInputError(
        `the fused NF4 ${direction === "forward" ? "product" : "input gradient"} needs rows divisible by ${t.rows} and columns by ${t.cols}; the weight is [${this.rows}, ${this.cols}]`,
      );
    }
    const k = gemmKernels(this.device);
    const kernel = direction === "forward" ? k.nf4_gemm_bf16 : k.nf4_gemm_dx_bf16;
    const outColumns = direction === "forward" ? this.rows : this.cols;
    kernel.launch(
      [outColumns / 128, Math.ceil(m / 128)],
      [384],
      GEMM_SHARED_BYTES,
      out,
      input,
      this.packed.ptr,
      this.absmaxCodes.ptr,
      this.absmaxScales.ptr,
      kernels(this.device).map.ptr,
      this.offset,
      m,
      this.rows,
      this.cols,
      accumulate ? 1 : 0,
      ...offsets,
    );
  }

  dispose(): void {
    this.packed.free();
    this.absmaxCodes.free();
    this.absmaxScales.free();
  }
}
