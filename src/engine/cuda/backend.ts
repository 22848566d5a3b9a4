// The CUDA backend behind the engine's `Backend` interface.
//
// Storage: a tensor is stored on the device in the type it was allocated with: "f32" as fp32,
// "bf16" as bf16, "i32" as int32. The host side is f32 either way (upload rounds to bf16 to
// nearest even, download widens exactly; bf16-host.ts). Why not bf16 for every float tensor:
// the shared conformance suite allocates f32 tensors and checks gradients against central
// differences with ε = 1e-2, and a bf16 step (2^-8 relative) is coarser than that ε: with every
// float tensor stored as bf16, 10 of the suite's 16 tests fail, each at its finite-difference
// check only (10–35 % against 5 % in a CPU emulation, 10–79 % on an H200). fp32 is what parameter
// gradients (dA, dB, dweight, dW, db), losses, lse and rstd want anyway; bf16 is there for the
// activations and weights of a training step (bench/results/cuda-conformance-h200.md).
//
// Per op: every float operand carries its own type into the kernels of kernels/backend.cu, which
// read into fp32, compute in fp32 and write back in the operand's type, so any mix of f32 and
// bf16 tensors works. Matrix products go through cuBLAS with fp32 accumulation: on tensor cores
// in bf16 when both factors are bf16 (the output f32 or bf16 as allocated), else in true fp32
// (CUBLAS_COMPUTE_32F, no TF32), a bf16 factor widened into fp32 scratch first. Attention runs
// through batched GEMMs as attention.ts does (scores and dP in fp32, probabilities in bf16 only
// when q, k, v are all bf16). Cross-entropy writes fp32 row losses and sums them in float64 on
// the host. The specialised bf16-only kernels of ops.ts stay with the QLoRA training step
// (decoder-trainer.ts), which needs no dtype flags.
//
// Scratch (head-major copies and scores of attention, widened factors, LoRA's dropped input)
// comes from the caching allocator and goes back to it at the end of the op; the work is all on
// one stream, so a block handed out again is only touched after the work that used it.
//
// LoRA dropout: the mask is the CPU's (src/engine/cpu/dropout.ts: keep element i when
// hashUniform(seed, i) ≥ p, scaled by 1/(1−p)), reproduced bit for bit by the `dropout` kernel;
// the backward pass regenerates it from the same seed.
//
// Host round trips: `download`, `crossEntropy` (it returns the mean loss) and
// `embeddingForward` (it checks the ids against the vocabulary on the host, as the CPU does,
// since an id out of range would read outside the table).
import { InvalidInputError } from "../../errors.js";
import type { AttentionShape, Backend, CachedAttentionShape, DType, GluActivation, LoraShape, MatmulOptions, Tensor } from "../backend.js";
import { checkCachedAttention } from "../cpu/cached-attention.js";
import { decodeBf16, encodeBf16 } from "./bf16-host.js";
import type { GemmArgs } from "./cublas.js";
import { type CudaDevice, type Kernel, type ParamType, openCudaDevice } from "./device.js";
import { type DevicePtr, offsetPtr } from "./ffi.js";
import { kernelSource } from "./kernel-source.js";
import type { DeviceBuffer } from "./memory.js";

/** Storage types of float tensors. */
type FloatType = "f32" | "bf16";

const BYTES: Record<DType, number> = { f32: 4, bf16: 2, i32: 4 };
const IGNORE_INDEX = -100;
const THREADS = 256;
/** Threads of a cached-attention block: 32 · CACHED_WARPS of kernels/backend.cu. */
const CACHED_ATTENTION_THREADS = 512;

/** A tensor of the CUDA backend: one block of device memory from the caching allocator. */
export class CudaTensor implements Tensor {
  readonly size: number;
  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly buffer: DeviceBuffer,
    readonly owner: CudaBackend,
  ) {
    this.size = shape.reduce((a, b) => a * b, 1);
  }
  get ptr(): DevicePtr {
    return this.buffer.ptr;
  }
}

/** What a kernel or a GEMM sees of a float operand: a tensor or a scratch block. */
interface View {
  readonly ptr: DevicePtr;
  readonly dtype: FloatType;
  readonly size: number;
}

const KERNELS = {
  convert: ["ptr", "i32", "ptr", "i32", "i64"],
  add: ["ptr", "i32", "ptr", "i32", "ptr", "i32", "i64"],
  bias_add: ["ptr", "i32", "ptr", "i32", "i64", "i32"],
  column_sum_add: ["ptr", "i32", "ptr", "i32", "i32", "i32"],
  embedding_forward: ["ptr", "i32", "ptr", "i32", "ptr", "i32", "i32", "f32"],
  embedding_backward: ["ptr", "i32", "ptr", "i32", "ptr", "i32", "i32", "i32", "f32"],
  rmsnorm_forward: ["ptr", "i32", "ptr", "i32", "ptr", "i32", "ptr", "i32", "i32", "f32", "f32"],
  rmsnorm_backward: ["ptr", "i32", "ptr", "i32", "ptr", "i32", "ptr", "i32", "ptr", "i32", "i32", "f32"],
  rmsnorm_dweight: ["ptr", "i32", "ptr", "i32", "ptr", "i32", "ptr", "i32", "i32", "i32"],
  rope: ["ptr", "i32", "ptr", "ptr", "i32", "i32", "i32", "f32"],
  glu_forward: ["ptr", "i32", "ptr", "i32", "ptr", "i32", "i64", "i32"],
  glu_backward: ["ptr", "i32", "ptr", "i32", "ptr", "i32", "ptr", "i32", "ptr", "i32", "i64", "i32"],
  dropout: ["ptr", "i32", "ptr", "i32", "i64", "u32", "u32", "f32"],
  cross_entropy: ["ptr", "ptr", "i32", "i32", "ptr", "i32", "ptr", "i32", "f32"],
  permute_heads: ["ptr", "i32", "ptr", "i32", "i32", "i32", "i32", "i32", "i32"],
  softmax_forward: ["ptr", "ptr", "i32", "ptr", "i32", "i64", "i32", "i32"],
  row_dot: ["ptr", "ptr", "i32", "ptr", "i32", "i64", "i32"],
  softmax_backward: ["ptr", "ptr", "ptr", "i32", "ptr", "ptr", "i32", "ptr", "i32", "i64", "i32", "i32", "f32"],
  cached_attention: ["ptr", "i32", "ptr", "i32", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32", "i32", "f32", "i32"],
} satisfies Record<string, ParamType[]>;

type KernelName = keyof typeof KERNELS;

const blocksFor = (n: number) => Math.ceil(n / THREADS);
/** The storage flag the kernels take: 1 = bf16, 0 = fp32. */
const flag = (v: View) => (v.dtype === "bf16" ? 1 : 0);

/** The GPU backend: fp32 or bf16 tensors as allocated, fp32 math, cuBLAS products (see the header). */
export class CudaBackend implements Backend {
  readonly name = "cuda" as const;
  private readonly k: Record<KernelName, Kernel>;
  private readonly live = new Set<CudaTensor>();
  private readonly temps: DeviceBuffer[] = [];
  /** RoPE's inverse frequencies [headDim/2] fp32 on the device, by `${headDim}:${theta}`. */
  private readonly invFreqs = new Map<string, DeviceBuffer>();
  private disposed = false;

  constructor(readonly device: CudaDevice) {
    this.k = device.compile(kernelSource("backend.cu"), "backend.cu", KERNELS);
  }

  // ---- tensors ------------------------------------------------------------------------------

  alloc(shape: readonly number[], dtype: DType = "f32"): Tensor {
    if (this.disposed) throw new InvalidInputError("the cuda backend was disposed", { hint: "create a new backend with createCudaBackend()" });
    const n = shape.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(n) || n < 0 || shape.some((d) => !Number.isInteger(d) || d < 0)) throw new InvalidInputError(`bad tensor shape [${shape.join(", ")}]`);
    if (!(dtype in BYTES)) throw new InvalidInputError(`unknown dtype ${dtype}`, { hint: "f32, bf16 or i32" });
    const bytes = n * BYTES[dtype];
    const buffer = this.device.alloc(Math.max(bytes, 1));
    if (bytes > 0) this.device.fill(buffer.ptr, 0, bytes);
    const t = new CudaTensor([...shape], dtype, buffer, this);
    this.live.add(t);
    return t;
  }

  upload(t: Tensor, data: Float32Array | Int32Array): void {
    const dst = this.tensor(t);
    if (data.length !== dst.size) throw new InvalidInputError(`upload of ${data.length} values into a tensor of ${dst.size}`);
    if (dst.size === 0) return;
    if (dst.dtype === "i32") this.device.upload(dst.ptr, data instanceof Int32Array ? data : Int32Array.from(data));
    else {
      const values = data instanceof Float32Array ? data : Float32Array.from(data);
      this.device.upload(dst.ptr, dst.dtype === "bf16" ? encodeBf16(values) : values);
    }
  }

  download(t: Tensor): Float32Array | Int32Array {
    const src = this.tensor(t);
    if (src.dtype === "i32") {
      const out = new Int32Array(src.size);
      if (src.size > 0) this.device.download(out, src.ptr);
      return out;
    }
    if (src.dtype === "bf16") {
      const bits = new Uint16Array(src.size);
      if (src.size > 0) this.device.download(bits, src.ptr);
      return decodeBf16(bits);
    }
    const out = new Float32Array(src.size);
    if (src.size > 0) this.device.download(out, src.ptr);
    return out;
  }

  free(t: Tensor): void {
    const ct = this.tensor(t);
    if (this.live.delete(ct)) ct.buffer.free();
  }

  // ---- products -----------------------------------------------------------------------------

  matmul(c: Tensor, a: Tensor, b: Tensor, m: number, n: number, k: number, o: MatmulOptions = {}): void {
    const [cv, av, bv] = [this.float(c, m * n, "c"), this.float(a, m * k, "a"), this.float(b, k * n, "b")];
    this.op(() => this.gemm(cv, av, bv, m, n, k, o.transA ?? false, o.transB ?? false, o.alpha ?? 1, o.beta ?? 0));
  }

  linearForward(y: Tensor, x: Tensor, w: Tensor, bias: Tensor | null, rows: number, inF: number, outF: number): void {
    const yv = this.float(y, rows * outF, "y");
    const [xv, wv] = [this.float(x, rows * inF, "x"), this.float(w, outF * inF, "w")];
    const bv = bias ? this.float(bias, outF, "bias") : null;
    this.op(() => this.linear(yv, xv, wv, bv, rows, inF, outF));
  }

  linearBackward(dx: Tensor | null, dw: Tensor | null, db: Tensor | null, dy: Tensor, x: Tensor, w: Tensor, rows: number, inF: number, outF: number): void {
    const dyv = this.float(dy, rows * outF, "dy");
    const [xv, wv] = [this.float(x, rows * inF, "x"), this.float(w, outF * inF, "w")];
    const dxv = dx ? this.float(dx, rows * inF, "dx") : null;
    const dwv = dw ? this.float(dw, outF * inF, "dw") : null;
    const dbv = db ? this.float(db, outF, "db") : null;
    this.op(() => {
      if (dxv) this.gemm(dxv, dyv, wv, rows, inF, outF, false, false, 1, 0);
      if (dwv) this.gemm(dwv, dyv, xv, outF, inF, rows, true, false, 1, 1);
      if (dbv && outF > 0) this.k.column_sum_add.launch([blocksFor(outF)], [THREADS], 0, dbv.ptr, flag(dbv), dyv.ptr, flag(dyv), rows, outF);
    });
  }

  loraForward(y: Tensor, h: Tensor, x: Tensor, w: Tensor, bias: Tensor | null, a: Tensor, b: Tensor, s: LoraShape): void {
    const { rows, inF, outF, rank } = s;
    const [yv, hv] = [this.float(y, rows * outF, "y"), this.float(h, rows * rank, "h")];
    const [xv, wv] = [this.float(x, rows * inF, "x"), this.float(w, outF * inF, "w")];
    const bv = bias ? this.float(bias, outF, "bias") : null;
    const [av, blv] = [this.float(a, rank * inF, "a"), this.float(b, outF * rank, "b")];
    this.op(() => {
      this.linear(yv, xv, wv, bv, rows, inF, outF);
      const xd = this.dropped(xv, s);
      this.gemm(hv, xd, av, rows, rank, inF, false, true, 1, 0);
      this.gemm(yv, hv, blv, rows, outF, rank, false, true, s.scaling, 1);
    });
  }

  loraBackward(dx: Tensor | null, dA: Tensor, dB: Tensor, dy: Tensor, x: Tensor, w: Tensor, a: Tensor, b: Tensor, h: Tensor, s: LoraShape): void {
    const { rows, inF, outF, rank } = s;
    const dyv = this.float(dy, rows * outF, "dy");
    const [xv, wv] = [this.float(x, rows * inF, "x"), this.float(w, outF * inF, "w")];
    const [av, blv, hv] = [this.float(a, rank * inF, "a"), this.float(b, outF * rank, "b"), this.float(h, rows * rank, "h")];
    const [dAv, dBv] = [this.float(dA, rank * inF, "dA"), this.float(dB, outF * rank, "dB")];
    const dxv = dx ? this.float(dx, rows * inF, "dx") : null;
    this.op(() => {
      // dB += scaling·dyᵀ·h;  dh = scaling·dy·B;  dA += dhᵀ·dropout(x)
      this.gemm(dBv, dyv, hv, outF, rank, rows, true, false, s.scaling, 1);
      const dh = this.temp(rows * rank, computeType(dyv, blv));
      this.gemm(dh, dyv, blv, rows, rank, outF, false, false, s.scaling, 0);
      this.gemm(dAv, dh, this.dropped(xv, s), rank, inF, rows, true, false, 1, 1);
      if (!dxv) return;
      // dx = dy·W + dropout'(dh·A): the adapter's share goes through the same mask
      this.gemm(dxv, dyv, wv, rows, inF, outF, false, false, 1, 0);
      if (s.dropout <= 0) {
        this.gemm(dxv, dh, av, rows, inF, rank, false, false, 1, 1);
        return;
      }
      const tmp = this.temp(rows * inF, "f32");
      this.gemm(tmp, dh, av, rows, inF, rank, false, false, 1, 0);
      this.applyDropout(tmp, tmp, s);
      this.add(dxv, dxv, tmp, rows * inF);
    });
  }

  // ---- layers -------------------------------------------------------------------------------

  embeddingForward(out: Tensor, table: Tensor, ids: Tensor, tokens: number, dim: number, scale: number): void {
    const [ov, tv] = [this.float(out, tokens * dim, "out"), this.float(table, 0, "table")];
    const idv = this.int(ids, tokens, "ids");
    const vocab = dim > 0 ? Math.floor(tv.size / dim) : 0;
    if (tokens === 0 || dim === 0) return;
    const host = new Int32Array(tokens);
    this.device.download(host, idv.ptr);
    for (let t = 0; t < tokens; t++) {
      const id = host[t];
      if (id < 0 || id >= vocab) throw new InvalidInputError(`token id ${id} at position ${t} is outside the vocabulary (0..${vocab - 1})`, { hint: "check the tokenizer matches the model" });
    }
    this.k.embedding_forward.launch([blocksFor(tokens * dim)], [THREADS], 0, ov.ptr, flag(ov), tv.ptr, flag(tv), idv.ptr, tokens, dim, scale);
  }

  embeddingBackward(dtable: Tensor, dout: Tensor, ids: Tensor, tokens: number, dim: number, scale: number): void {
    const [tv, ov] = [this.float(dtable, 0, "dtable"), this.float(dout, tokens * dim, "dout")];
    const idv = this.int(ids, tokens, "ids");
    if (tokens === 0 || dim === 0) return;
    const vocab = Math.floor(tv.size / dim);
    this.k.embedding_backward.launch([blocksFor(dim)], [THREADS], 0, tv.ptr, flag(tv), ov.ptr, flag(ov), idv.ptr, tokens, dim, vocab, scale);
  }

  rmsnormForward(out: Tensor, rstd: Tensor, x: Tensor, weight: Tensor, rows: number, dim: number, eps: number, unitOffset: boolean): void {
    const [ov, rv] = [this.float(out, rows * dim, "out"), this.float(rstd, rows, "rstd")];
    const [xv, wv] = [this.float(x, rows * dim, "x"), this.float(weight, dim, "weight")];
    if (rows === 0 || dim === 0) return;
    this.k.rmsnorm_forward.launch([rows], [THREADS], 0, ov.ptr, flag(ov), rv.ptr, flag(rv), xv.ptr, flag(xv), wv.ptr, flag(wv), dim, eps, unitOffset ? 1 : 0);
  }

  rmsnormBackward(dx: Tensor, dweight: Tensor | null, dout: Tensor, x: Tensor, weight: Tensor, rstd: Tensor, rows: number, dim: number, unitOffset: boolean): void {
    const [dxv, dov] = [this.float(dx, rows * dim, "dx"), this.float(dout, rows * dim, "dout")];
    const [xv, wv, rv] = [this.float(x, rows * dim, "x"), this.float(weight, dim, "weight"), this.float(rstd, rows, "rstd")];
    const dwv = dweight ? this.float(dweight, dim, "dweight") : null;
    if (rows === 0 || dim === 0) return;
    // dweight first: dx may overwrite dout
    if (dwv) this.k.rmsnorm_dweight.launch([blocksFor(dim)], [THREADS], 0, dwv.ptr, flag(dwv), dov.ptr, flag(dov), xv.ptr, flag(xv), rv.ptr, flag(rv), rows, dim);
    this.k.rmsnorm_backward.launch([rows], [THREADS], 0, dxv.ptr, flag(dxv), dov.ptr, flag(dov), xv.ptr, flag(xv), wv.ptr, flag(wv), rv.ptr, flag(rv), dim, unitOffset ? 1 : 0);
  }

  ropeForward(x: Tensor, positions: Tensor, tokens: number, heads: number, headDim: number, theta: number): void {
    this.rope(x, positions, tokens, heads, headDim, theta, 1);
  }

  ropeBackward(dx: Tensor, positions: Tensor, tokens: number, heads: number, headDim: number, theta: number): void {
    this.rope(dx, positions, tokens, heads, headDim, theta, -1);
  }

  gluForward(h: Tensor, gate: Tensor, up: Tensor, n: number, act: GluActivation): void {
    const [hv, gv, uv] = [this.float(h, n, "h"), this.float(gate, n, "gate"), this.float(up, n, "up")];
    if (n === 0) return;
    this.k.glu_forward.launch([blocksFor(n)], [THREADS], 0, hv.ptr, flag(hv), gv.ptr, flag(gv), uv.ptr, flag(uv), n, act === "gelu_tanh" ? 1 : 0);
  }

  gluBackward(dgate: Tensor, dup: Tensor, dh: Tensor, gate: Tensor, up: Tensor, n: number, act: GluActivation): void {
    const [dgv, duv, dhv] = [this.float(dgate, n, "dgate"), this.float(dup, n, "dup"), this.float(dh, n, "dh")];
    const [gv, uv] = [this.float(gate, n, "gate"), this.float(up, n, "up")];
    if (n === 0) return;
    this.k.glu_backward.launch(
      [blocksFor(n)], [THREADS], 0,
      dgv.ptr, flag(dgv), duv.ptr, flag(duv), dhv.ptr, flag(dhv), gv.ptr, flag(gv), uv.ptr, flag(uv), n, act === "gelu_tanh" ? 1 : 0,
    );
  }

  residualForward(out: Tensor, a: Tensor, b: Tensor, n: number): void {
    this.add(this.float(out, n, "out"), this.float(a, n, "a"), this.float(b, n, "b"), n);
  }

  accumulate(dst: Tensor, src: Tensor, n: number): void {
    const d = this.float(dst, n, "dst");
    this.add(d, d, this.float(src, n, "src"), n);
  }

  crossEntropy(losses: Tensor, dlogits: Tensor | null, logits: Tensor, targets: Tensor, rows: number, vocab: number): number {
    const [lv, zv] = [this.float(losses, rows, "losses"), this.float(logits, rows * vocab, "logits")];
    const dv = dlogits ? this.float(dlogits, rows * vocab, "dlogits") : null;
    const tv = this.int(targets, rows, "targets");
    if (rows === 0) return 0;
    const host = new Int32Array(rows);
    this.device.download(host, tv.ptr);
    let count = 0;
    for (let r = 0; r < rows; r++) {
      const t = host[r];
      if (t === IGNORE_INDEX) continue;
      if (t < 0 || t >= vocab) throw new InvalidInputError(`target ${t} at row ${r} is outside the vocabulary (0..${vocab - 1})`, { hint: "targets are token ids, or -100 for positions without loss" });
      count++;
    }
    let total = 0;
    this.op(() => {
      const rowLoss = lv.dtype === "f32" ? lv : this.temp(rows, "f32");
      const invCount = count > 0 ? 1 / count : 0;
      this.k.cross_entropy.launch([rows], [THREADS], 0, rowLoss.ptr, dv?.ptr ?? 0, dv ? flag(dv) : 0, dv ? 1 : 0, zv.ptr, flag(zv), tv.ptr, vocab, invCount);
      if (rowLoss !== lv) this.convert(lv, rowLoss, rows);
      const values = new Float32Array(rows);
      this.device.download(values, rowLoss.ptr);
      for (let r = 0; r < rows; r++) if (host[r] !== IGNORE_INDEX) total += values[r];
    });
    return count > 0 ? total / count : 0;
  }

  // ---- attention ----------------------------------------------------------------------------

  attentionForward(out: Tensor, lse: Tensor, q: Tensor, k: Tensor, v: Tensor, s: AttentionShape): void {
    const { nq, nk, rows } = this.attentionSizes(s);
    const [ov, lv] = [this.float(out, nq, "out"), this.float(lse, rows, "lse")];
    const [qv, kv, vv] = [this.float(q, nq, "q"), this.float(k, nk, "k"), this.float(v, nk, "v")];
    if (rows === 0 || s.headDim === 0) return;
    const { batch: B, tokens: T, headDim: d } = s;
    const g = s.heads / s.kvHeads;
    const ct = computeType(qv, kv, vv);
    this.op(() => {
      const [qh, kh, vh] = [this.toHeadMajor(qv, s, s.heads, ct), this.toHeadMajor(kv, s, s.kvHeads, ct), this.toHeadMajor(vv, s, s.kvHeads, ct)];
      const S = this.temp(rows * T, "f32");
      this.scores(S, qh, kh, s);
      const P = this.temp(rows * T, ct);
      this.k.softmax_forward.launch([blocksFor(rows * 32)], [THREADS], 0, S.ptr, P.ptr, flag(P), lv.ptr, flag(lv), rows, T, s.window);
      const oh = this.temp(nq, ct);
      // O = P·V: [g·T, T]·[T, d] for each (batch, KV head)
      this.gemm(oh, P, vh, g * T, d, T, false, false, 1, 0, { count: B * s.kvHeads, strideA: g * T * T, strideB: T * d, strideC: g * T * d });
      this.permute(ov, oh, s, s.heads, true);
    });
  }

  cachedAttention(out: Tensor, q: Tensor, qRow: number, kCache: Tensor, vCache: Tensor, s: CachedAttentionShape): void {
    const [ov, qv, kc, vc] = [this.float(out, 0, "out"), this.float(q, 0, "q"), this.float(kCache, 0, "kCache"), this.float(vCache, 0, "vCache")];
    checkCachedAttention(s, qRow, { q: qv.size, out: ov.size, kCache: kc.size, vCache: vc.size });
    if (s.headDim > 256) throw new InvalidInputError(`cached attention on the GPU takes head dimensions up to 256, not ${s.headDim}`);
    if (kc.dtype !== vc.dtype) throw new InvalidInputError(`cached attention: kCache is ${kc.dtype}, vCache ${vc.dtype}`, { hint: "allocate both caches with one dtype" });
    this.k.cached_attention.launch([s.rows, s.heads], [CACHED_ATTENTION_THREADS], 0, ov.ptr, flag(ov), qv.ptr, flag(qv), kc.ptr, vc.ptr, flag(kc), qRow, s.start, s.heads, s.kvHeads, s.headDim, s.scale, s.window);
  }

  copyRows(dst: Tensor, dstRow: number, src: Tensor, srcRow: number, rows: number, width: number): void {
    const [d, from] = [this.tensor(dst), this.tensor(src)];
    if (d.dtype !== from.dtype) throw new InvalidInputError(`copyRows: ${d.dtype} and ${from.dtype} tensors`, { hint: "copy between tensors of one dtype" });
    if ((dstRow + rows) * width > d.size || (srcRow + rows) * width > from.size || dstRow < 0 || srcRow < 0 || rows < 0) {
      throw new InvalidInputError(`copyRows: rows ${srcRow}…${srcRow + rows - 1} → ${dstRow}…${dstRow + rows - 1} of width ${width} fall outside the tensors (${from.size} and ${d.size} elements)`);
    }
    const bytes = BYTES[d.dtype];
    if (rows > 0) this.device.copy(offsetPtr(d.ptr, dstRow * width * bytes), offsetPtr(from.ptr, srcRow * width * bytes), rows * width * bytes);
  }

  attentionBackward(dq: Tensor, dk: Tensor, dv: Tensor, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, s: AttentionShape): void {
    const { nq, nk, rows } = this.attentionSizes(s);
    const [dqv, dkv, dvv] = [this.float(dq, nq, "dq"), this.float(dk, nk, "dk"), this.float(dv, nk, "dv")];
    const [dov, qv, kv, vv] = [this.float(dout, nq, "dout"), this.float(q, nq, "q"), this.float(k, nk, "k"), this.float(v, nk, "v")];
    const [ov, lv] = [this.float(out, nq, "out"), this.float(lse, rows, "lse")];
    if (rows === 0 || s.headDim === 0) return;
    const { batch: B, tokens: T, headDim: d } = s;
    const g = s.heads / s.kvHeads;
    const ct = computeType(qv, kv, vv, dov, ov);
    const entries = B * s.kvHeads;
    this.op(() => {
      const [qh, kh, vh] = [this.toHeadMajor(qv, s, s.heads, ct), this.toHeadMajor(kv, s, s.kvHeads, ct), this.toHeadMajor(vv, s, s.kvHeads, ct)];
      const [oh, doh] = [this.toHeadMajor(ov, s, s.heads, ct), this.toHeadMajor(dov, s, s.heads, ct)];
      const warps = blocksFor(rows * 32);
      const D = this.temp(rows, "f32");
      this.k.row_dot.launch([warps], [THREADS], 0, D.ptr, doh.ptr, flag(doh), oh.ptr, flag(oh), rows, d);
      const S = this.temp(rows * T, "f32");
      this.scores(S, qh, kh, s);
      // dP = dO·Vᵀ: [g·T, d]·[T, d]ᵀ
      const dP = this.temp(rows * T, "f32");
      this.gemm(dP, doh, vh, g * T, T, d, false, true, 1, 0, { count: entries, strideA: g * T * d, strideB: T * d, strideC: g * T * T });
      const [P, dS] = [this.temp(rows * T, ct), this.temp(rows * T, ct)];
      this.k.softmax_backward.launch([warps], [THREADS], 0, S.ptr, dP.ptr, lv.ptr, flag(lv), D.ptr, P.ptr, flag(P), dS.ptr, flag(dS), rows, T, s.window, s.scale);
      const [dqh, dkh, dvh] = [this.temp(nq, ct), this.temp(nk, ct), this.temp(nk, ct)];
      // dV = Pᵀ·dO, dK = dSᵀ·Q: [g·T, T]ᵀ·[g·T, d] — the sum over the group's query heads falls out
      this.gemm(dvh, P, doh, T, d, g * T, true, false, 1, 0, { count: entries, strideA: g * T * T, strideB: g * T * d, strideC: T * d });
      this.gemm(dkh, dS, qh, T, d, g * T, true, false, 1, 0, { count: entries, strideA: g * T * T, strideB: g * T * d, strideC: T * d });
      // dQ = dS·K: [g·T, T]·[T, d]
      this.gemm(dqh, dS, kh, g * T, d, T, false, false, 1, 0, { count: entries, strideA: g * T * T, strideB: T * d, strideC: g * T * d });
      this.permute(dqv, dqh, s, s.heads, true);
      this.permute(dkv, dkh, s, s.kvHeads, true);
      this.permute(dvv, dvh, s, s.kvHeads, true);
    });
  }

  /** Releases every tensor, the cached blocks, the kernels, the stream and the context. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.releaseTemps();
    for (const t of this.live) t.buffer.free();
    this.live.clear();
    for (const b of this.invFreqs.values()) b.free();
    this.invFreqs.clear();
    this.device.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- internals ----------------------------------------------------------------------------

  private tensor(t: Tensor): CudaTensor {
    if (!(t instanceof CudaTensor) || t.owner !== this) throw new InvalidInputError("expected a tensor of this cuda backend", { hint: "allocate tensors with the backend that runs the op" });
    if (!this.live.has(t)) throw new InvalidInputError("the tensor was freed", { hint: "free a tensor only after its last use" });
    return t;
  }

  /** A float tensor holding at least `need` elements (kernels must not run past its end). */
  private float(t: Tensor, need: number, label: string): CudaTensor & View {
    const ct = this.tensor(t);
    if (ct.dtype === "i32") throw new InvalidInputError(`${label}: expected an f32 or bf16 tensor, got i32`, { hint: "only ids, targets and positions are i32" });
    if (ct.size < need) throw new InvalidInputError(`${label}: the op reads or writes ${need} elements, the tensor holds ${ct.size}`);
    return ct as CudaTensor & View;
  }

  private int(t: Tensor, need: number, label: string): CudaTensor {
    const ct = this.tensor(t);
    if (ct.dtype !== "i32") throw new InvalidInputError(`${label}: expected an i32 tensor, got ${ct.dtype}`, { hint: "ids, targets and positions are i32 tensors" });
    if (ct.size < need) throw new InvalidInputError(`${label}: the op reads ${need} elements, the tensor holds ${ct.size}`);
    return ct;
  }

  /** Runs one op's work, then gives its scratch back to the allocator. */
  private op(work: () => void): void {
    try {
      work();
    } finally {
      this.releaseTemps();
    }
  }

  private temp(n: number, dtype: FloatType): View {
    const buffer = this.device.alloc(Math.max(n * BYTES[dtype], 1));
    this.temps.push(buffer);
    return { ptr: buffer.ptr, dtype, size: n };
  }

  private releaseTemps(): void {
    for (const b of this.temps) b.free();
    this.temps.length = 0;
  }

  private convert(dst: View, src: View, n: number): void {
    if (n > 0) this.k.convert.launch([blocksFor(n)], [THREADS], 0, dst.ptr, flag(dst), src.ptr, flag(src), n);
  }

  /** v as fp32 scratch (v itself when it is fp32 already). */
  private widened(v: View): View {
    if (v.dtype === "f32") return v;
    const w = this.temp(v.size, "f32");
    this.convert(w, v, v.size);
    return w;
  }

  private add(out: View, a: View, b: View, n: number): void {
    if (n > 0) this.k.add.launch([blocksFor(n)], [THREADS], 0, out.ptr, flag(out), a.ptr, flag(a), b.ptr, flag(b), n);
  }

  /**
   * Row-major C = alpha·op(A)·op(B) + beta·C, fp32 accumulation: bf16 tensor-core GEMM when A and
   * B are both bf16 (C in its own type), else fp32 GEMM with bf16 operands widened first.
   */
  private gemm(c: View, a: View, b: View, m: number, n: number, k: number, transA: boolean, transB: boolean, alpha: number, beta: number, batch?: GemmArgs["batch"]): void {
    if (m === 0 || n === 0 || (batch && batch.count === 0)) return;
    const blas = this.device.cublas;
    if (a.dtype === "bf16" && b.dtype === "bf16") {
      blas.gemm({ transA, transB, m, n, k, a: a.ptr, b: b.ptr, c: c.ptr, dtype: "bf16", cType: c.dtype, alpha, beta, batch });
      return;
    }
    const [a32, b32] = [this.widened(a), this.widened(b)];
    let c32 = c;
    if (c.dtype !== "f32") {
      c32 = this.temp(c.size, "f32");
      if (beta !== 0) this.convert(c32, c, c.size);
    }
    blas.gemm({ transA, transB, m, n, k, a: a32.ptr, b: b32.ptr, c: c32.ptr, dtype: "f32", alpha, beta, batch });
    if (c32 !== c) this.convert(c, c32, c.size);
  }

  /** y = x·Wᵀ + bias. */
  private linear(y: View, x: View, w: View, bias: View | null, rows: number, inF: number, outF: number): void {
    this.gemm(y, x, w, rows, outF, inF, false, true, 1, 0);
    if (bias && rows * outF > 0) this.k.bias_add.launch([blocksFor(rows * outF)], [THREADS], 0, y.ptr, flag(y), bias.ptr, flag(bias), rows * outF, outF);
  }

  /** dropout(x): [rows, inF] in scratch of x's type, or x itself when p = 0. */
  private dropped(x: View, s: LoraShape): View {
    if (s.dropout <= 0) return x;
    const xd = this.temp(s.rows * s.inF, x.dtype);
    this.applyDropout(xd, x, s);
    return xd;
  }

  /** dst = src ⊙ the mask of (seed, p) over [rows·inF] (dst may be src). */
  private applyDropout(dst: View, src: View, s: LoraShape): void {
    const n = s.rows * s.inF;
    if (n === 0) return;
    // as the CPU's SimdScratch.dropout: keep iff hash ≥ ⌈p·2^32⌉ (as 32 bits), scale by 1/(1−p) in fp32
    const threshold = Math.ceil(s.dropout * 4294967296) >>> 0;
    this.k.dropout.launch([blocksFor(n)], [THREADS], 0, dst.ptr, flag(dst), src.ptr, flag(src), n, s.seed >>> 0, threshold, 1 / (1 - s.dropout));
  }

  private rope(x: Tensor, positions: Tensor, tokens: number, heads: number, headDim: number, theta: number, sign: number): void {
    if (headDim % 2 !== 0) throw new InvalidInputError(`RoPE needs an even head dimension, got ${headDim}`);
    const xv = this.float(x, tokens * heads * headDim, "x");
    const pv = this.int(positions, tokens, "positions");
    const n = (tokens * heads * headDim) / 2;
    if (n === 0) return;
    this.k.rope.launch([blocksFor(n)], [THREADS], 0, xv.ptr, flag(xv), pv.ptr, this.invFreq(headDim, theta), tokens, heads, headDim, sign);
  }

  /** inv_freq[i] = 1 / θ^(2i/d) in fp32, made exactly as src/engine/cpu/rope.ts makes it. */
  private invFreq(headDim: number, theta: number): DevicePtr {
    const key = `${headDim}:${theta}`;
    let buffer = this.invFreqs.get(key);
    if (!buffer) {
      const half = headDim / 2;
      const f = new Float32Array(half);
      for (let i = 0; i < half; i++) f[i] = 1 / theta ** Math.fround((2 * i) / headDim);
      buffer = this.device.alloc(half * 4);
      this.device.upload(buffer.ptr, f);
      this.invFreqs.set(key, buffer);
    }
    return buffer.ptr;
  }

  private attentionSizes(s: AttentionShape): { nq: number; nk: number; rows: number } {
    if (s.kvHeads <= 0 || s.heads % s.kvHeads !== 0) throw new InvalidInputError(`${s.heads} query heads cannot share ${s.kvHeads} key/value heads`);
    const bt = s.batch * s.tokens;
    return { nq: bt * s.heads * s.headDim, nk: bt * s.kvHeads * s.headDim, rows: s.batch * s.heads * s.tokens };
  }

  /** [B, T, heads, d] → [B, heads, T, d] scratch of type ct. */
  private toHeadMajor(src: View, s: AttentionShape, heads: number, ct: FloatType): View {
    const dst = this.temp(s.batch * s.tokens * heads * s.headDim, ct);
    this.permute(dst, src, s, heads, false);
    return dst;
  }

  /** [B, T, heads, d] ↔ [B, heads, T, d]; inverse: head-major src → token-major dst. */
  private permute(dst: View, src: View, s: AttentionShape, heads: number, inverse: boolean): void {
    const n = s.batch * s.tokens * heads * s.headDim;
    if (n > 0) this.k.permute_heads.launch([blocksFor(n)], [THREADS], 0, dst.ptr, flag(dst), src.ptr, flag(src), s.batch, s.tokens, heads, s.headDim, inverse ? 1 : 0);
  }

  /** S = scale·Q·Kᵀ (fp32) for every (batch, KV head) entry: [g·T, d]·[T, d]ᵀ. */
  private scores(S: View, qh: View, kh: View, s: AttentionShape): void {
    const g = s.heads / s.kvHeads;
    const { tokens: T, headDim: d } = s;
    this.gemm(S, qh, kh, g * T, T, d, false, true, s.scale, 0, { count: s.batch * s.kvHeads, strideA: g * T * d, strideB: T * d, strideC: g * T * T });
  }
}

/** bf16 when every operand is bf16 (tensor-core products), else fp32. */
function computeType(...views: View[]): FloatType {
  return views.every((v) => v.dtype === "bf16") ? "bf16" : "f32";
}

/**
 * Opens GPU `ordinal` and compiles the backend's kernels. Throws CudaUnavailableError (with a
 * hint) where there is no driver, no GPU or no CUDA library.
 */
export function createCudaBackend(ordinal = 0): CudaBackend {
  const device = openCudaDevice(ordinal);
  try {
    return new CudaBackend(device);
  } catch (error) {
    device.dispose();
    throw error;
  }
}
