import { InvalidInputError } from "../../errors.js";
import type { AttentionShape, Backend, DType, GluActivation, LoraShape, MatmulOptions, Tensor } from "../backend.js";
import { attentionBackward, attentionForward } from "./attention.js";
import { type CachedAttentionShape, cachedAttention, checkCachedAttention } from "./cached-attention.js";
import { crossEntropyForwardBackward } from "./cross-entropy.js";
import { embeddingBackward, embeddingForward } from "./embedding.js";
import { startWasmThreads } from "./gemm-wasm.js";
import { gluBackward, gluForward } from "./glu.js";
import { linearBackward, linearForward } from "./linear.js";
import { loraBackward, loraForward } from "./lora-linear.js";
import { type MatmulRoute, matmul, matmulRoute } from "./matmul.js";
import { accumulate, residualForward } from "./residual.js";
import { rmsnormBackward, rmsnormForward } from "./rmsnorm.js";
import { ropeBackward, ropeForward } from "./rope.js";

/** A tensor of the CPU backend: its data lives in a Float32Array (f32) or Int32Array (i32). */
export class CpuTensor implements Tensor {
  readonly size: number;
  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly data: Float32Array | Int32Array,
  ) {
    this.size = data.length;
  }
}

function f32(t: Tensor): Float32Array {
  if (!(t instanceof CpuTensor) || !(t.data instanceof Float32Array)) throw new InvalidInputError("expected an f32 tensor of the cpu backend", { hint: "allocate tensors with the backend that runs the op" });
  return t.data;
}
function i32(t: Tensor): Int32Array {
  if (!(t instanceof CpuTensor) || !(t.data instanceof Int32Array)) throw new InvalidInputError("expected an i32 tensor of the cpu backend", { hint: "ids, targets and positions are i32 tensors" });
  return t.data;
}
const opt = (t: Tensor | null) => (t ? f32(t) : null);

/** The float32 CPU backend: the reference and test oracle of the engine. */
export class CpuBackend implements Backend {
  readonly name = "cpu" as const;
  /** The matrix-product route in use (OpenBLAS, WASM SIMD or plain TypeScript). */
  readonly matmulRoute: MatmulRoute = matmulRoute();
  /** cachedAttention's scores, grown as needed (rows × keys). */
  private scores = new Float32Array(0);

  alloc(shape: readonly number[], dtype: DType = "f32"): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidInputError(`bad tensor shape [${shape.join(", ")}]`);
    if (dtype === "bf16") throw new InvalidInputError("the cpu backend stores f32 and i32 only", { hint: "use f32 on the cpu backend" });
    return new CpuTensor([...shape], dtype, dtype === "i32" ? new Int32Array(n) : new Float32Array(n));
  }
  upload(t: Tensor, data: Float32Array | Int32Array): void {
    const dst = (t as CpuTensor).data;
    if (data.length !== dst.length) throw new InvalidInputError(`upload of ${data.length} values into a tensor of ${dst.length}`);
    dst.set(data);
  }
  download(t: Tensor): Float32Array | Int32Array {
    return (t as CpuTensor).data.slice();
  }
  free(_t: Tensor): void {
    // garbage-collected
  }
  matmul(c: Tensor, a: Tensor, b: Tensor, m: number, n: number, k: number, o: MatmulOptions = {}): void {
    const tA = o.transA ?? false;
    const tB = o.transB ?? false;
    matmul(tA, tB, m, n, k, o.alpha ?? 1, f32(a), tA ? m : k, f32(b), tB ? k : n, o.beta ?? 0, f32(c), n);
  }
  embeddingForward(out: Tensor, table: Tensor, ids: Tensor, tokens: number, dim: number, scale: number): void {
    embeddingForward(f32(out), f32(table), i32(ids), tokens, dim, scale);
  }
  embeddingBackward(dtable: Tensor, dout: Tensor, ids: Tensor, tokens: number, dim: number, scale: number): void {
    embeddingBackward(f32(dtable), f32(dout), i32(ids), tokens, dim, scale);
  }
  rmsnormForward(out: Tensor, rstd: Tensor, x: Tensor, weight: Tensor, rows: number, dim: number, eps: number, unitOffset: boolean): void {
    rmsnormForward(f32(out), f32(rstd), f32(x), f32(weight), rows, dim, eps, unitOffset);
  }
  rmsnormBackward(dx: Tensor, dweight: Tensor | null, dout: Tensor, x: Tensor, weight: Tensor, rstd: Tensor, rows: number, dim: number, unitOffset: boolean): void {
    rmsnormBackward(f32(dx), opt(dweight), f32(dout), f32(x), f32(weight), f32(rstd), rows, dim, unitOffset);
  }
  ropeForward(x: Tensor, positions: Tensor, tokens: number, heads: number, headDim: number, theta: number): void {
    ropeForward(f32(x), i32(positions), tokens, heads, headDim, theta);
  }
  ropeBackward(dx: Tensor, positions: Tensor, tokens: number, heads: number, headDim: number, theta: number): void {
    ropeBackward(f32(dx), i32(positions), tokens, heads, headDim, theta);
  }
  attentionForward(out: Tensor, lse: Tensor, q: Tensor, k: Tensor, v: Tensor, s: AttentionShape): void {
    if (s.heads % s.kvHeads !== 0) throw new InvalidInputError(`${s.heads} query heads cannot share ${s.kvHeads} key/value heads`);
    attentionForward(f32(out), f32(lse), f32(q), f32(k), f32(v), s);
  }
  attentionBackward(dq: Tensor, dk: Tensor, dv: Tensor, dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, s: AttentionShape): void {
    attentionBackward(f32(dq), f32(dk), f32(dv), f32(dout), f32(q), f32(k), f32(v), f32(out), f32(lse), s);
  }
  cachedAttention(out: Tensor, q: Tensor, qRow: number, kCache: Tensor, vCache: Tensor, s: CachedAttentionShape): void {
    const [o, qd, kc, vc] = [f32(out), f32(q), f32(kCache), f32(vCache)];
    checkCachedAttention(s, qRow, { q: qd.length, out: o.length, kCache: kc.length, vCache: vc.length });
    const first = s.window > 0 ? Math.max(0, s.start - s.window + 1) : 0;
    const need = s.rows * (s.start + s.rows - first);
    if (this.scores.length < need) this.scores = new Float32Array(need);
    const row = qRow * s.heads * s.headDim;
    cachedAttention(o.subarray(row), qd.subarray(row), kc, vc, s, this.scores);
  }
  copyRows(dst: Tensor, dstRow: number, src: Tensor, srcRow: number, rows: number, width: number): void {
    const d = (dst as CpuTensor).data;
    const from = (src as CpuTensor).data;
    if (d.constructor !== from.constructor) throw new InvalidInputError(`copyRows: ${dst.dtype} and ${src.dtype} tensors`, { hint: "copy between tensors of one dtype" });
    if ((dstRow + rows) * width > d.length || (srcRow + rows) * width > from.length || dstRow < 0 || srcRow < 0 || rows < 0) {
      throw new InvalidInputError(`copyRows: rows ${srcRow}…${srcRow + rows - 1} → ${dstRow}…${dstRow + rows - 1} of width ${width} fall outside the tensors (${from.length} and ${d.length} elements)`);
    }
    d.set(from.subarray(srcRow * width, (srcRow + rows) * width), dstRow * width);
  }
  gluForward(h: Tensor, gate: Tensor, up: Tensor, n: number, act: GluActivation): void {
    gluForward(f32(h), f32(gate), f32(up), n, act);
  }
  gluBackward(dgate: Tensor, dup: Tensor, dh: Tensor, gate: Tensor, up: Tensor, n: number, act: GluActivation): void {
    gluBackward(f32(dgate), f32(dup), f32(dh), f32(gate), f32(up), n, act);
  }
  linearForward(y: Tensor, x: Tensor, w: Tensor, bias: Tensor | null, rows: number, inF: number, outF: number): void {
    linearForward(f32(y), f32(x), f32(w), opt(bias), rows, inF, outF);
  }
  linearBackward(dx: Tensor | null, dw: Tensor | null, db: Tensor | null, dy: Tensor, x: Tensor, w: Tensor, rows: number, inF: number, outF: number): void {
    linearBackward(opt(dx), opt(dw), opt(db), f32(dy), f32(x), f32(w), rows, inF, outF);
  }
  loraForward(y: Tensor, h: Tensor, x: Tensor, w: Tensor, bias: Tensor | null, a: Tensor, b: Tensor, s: LoraShape): void {
    loraForward(f32(y), f32(h), f32(x), f32(w), opt(bias), f32(a), f32(b), s);
  }
  loraBackward(dx: Tensor | null, dA: Tensor, dB: Tensor, dy: Tensor, x: Tensor, w: Tensor, a: Tensor, b: Tensor, h: Tensor, s: LoraShape): void {
    loraBackward(opt(dx), f32(dA), f32(dB), f32(dy), f32(x), f32(w), f32(a), f32(b), f32(h), s);
  }
  residualForward(out: Tensor, a: Tensor, b: Tensor, n: number): void {
    residualForward(f32(out), f32(a), f32(b), n);
  }
  accumulate(dst: Tensor, src: Tensor, n: number): void {
    accumulate(f32(dst), f32(src), n);
  }
  crossEntropy(losses: Tensor, dlogits: Tensor | null, logits: Tensor, targets: Tensor, rows: number, vocab: number): number {
    return crossEntropyForwardBackward(f32(losses), opt(dlogits), f32(logits), i32(targets), rows, vocab).loss;
  }
  dispose(): void {
    // nothing held outside the garbage-collected tensors
  }
}

/**
 * Creates the float32 CPU backend. Where the WASM route is in use (no OpenBLAS found), its worker
 * threads start in the background and products use them once ready.
 */
export function createCpuBackend(): CpuBackend {
  const be = new CpuBackend();
  if (be.matmulRoute === "wasm") void startWasmThreads().catch(() => 0);
  return be;
}
