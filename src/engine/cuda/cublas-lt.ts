import type { GemmArgs } from "./cublas.js";
import { CudaDataType, cublasStatusName } from "./cublas.js";
import { CudaError, CudaUnavailableError } from "./errors.js";
import { type DevicePtr, type KoffiLib, loadKoffi } from "./ffi.js";
import { findCudaLibrary } from "./find-libraries.js";

/*
 * cuBLASLt for the same row-major products as `Cublas.gemm`, with the algorithm of each product
 * shape chosen by timing: the library's heuristic proposes up to CANDIDATES configurations (tile,
 * stages, split-K, swizzle), the first call of a shape runs each one, and cublasGemmEx's own
 * choice beside them, on a scratch output, and every later call of that shape runs the fastest
 * (through cublasGemmEx unless a candidate beat it by MARGIN). The candidates take turns within
 * each of three rounds, so that the GPU's clock drifting during the tuning slows them all alike.
 */

const COMPUTE_32F = 68; // CUBLAS_COMPUTE_32F
const SCALE_32F = 0; // CUDA_R_32F: alpha and beta are fp32
const DESC_TRANSA = 3; // CUBLASLT_MATMUL_DESC_TRANSA (int32)
const DESC_TRANSB = 4; // CUBLASLT_MATMUL_DESC_TRANSB (int32)
const PREF_MAX_WORKSPACE_BYTES = 1; // uint64
const PREF_MIN_ALIGNMENT = { a: 5, b: 6, c: 7, d: 8 } as const; // uint32 each
const ALGO_BYTES = 64; // cublasLtMatmulAlgo_t
const RESULT_BYTES = 96; // cublasLtMatmulHeuristicResult_t: algo, size_t workspace, status, float waves, int[4]
const CANDIDATES = 8;
const NOT_SUPPORTED = 15; // CUBLAS_STATUS_NOT_SUPPORTED: no heuristic for this configuration
const TIMED_REPS = 5;
const MARGIN = 0.05;

const ELEMENT_BYTES = { f32: 4, f16: 2, bf16: 2 } as const;

/** One product shape's descriptors and its candidate algorithms, best first once tuned. */
interface LtPlan {
  desc: unknown;
  layouts: [unknown, unknown, unknown];
  algos: Buffer[];
  /** Index into algos of the one to run, algos.length for cublasGemmEx; -1 until timed. */
  chosen: number;
  /** Each candidate's time (ms) as measured, in algos' order then cublasGemmEx's; empty until timed. */
  times: number[];
  /** Bytes of C as stored (rows × ldc): the tuning's scratch output. */
  cBytes: number;
}

/** What tuning found for one shape, for benchmarks and logs. */
export interface LtTuning {
  key: string;
  /** cuBLASLt's candidates (0: it had none, and cublasGemmEx runs the shape). */
  candidates: number;
  /** The index of the one that runs; `candidates` for cublasGemmEx. */
  chosen: number;
  times: number[];
}

/** Largest power of two (≤ 256) that divides every byte offset given: what the heuristic may assume of a matrix. */
function alignment(...offsets: (number | bigint)[]): number {
  let a = 256;
  for (const o of offsets) {
    const v = BigInt(o);
    while (a > 1 && v % BigInt(a) !== 0n) a >>= 1;
  }
  return a;
}

export class CublasLt {
  readonly path: string;
  private readonly f: Record<string, (...args: unknown[]) => number>;
  private handle: unknown = null;
  /** By shape key; null: cuBLASLt has no algorithm for it, and cublasGemmEx runs it. */
  private readonly plans = new Map<string, LtPlan | null>();
  private readonly alpha = new Float32Array(1);
  private readonly beta = new Float32Array(1);

  /**
   * stream: where the products run; workspace: device memory the algorithms may use (candidates
   * that want more are skipped); time(work): GPU milliseconds of `work` on the stream;
   * scratch(bytes): a temporary device buffer for tuning runs, freed by the returned function;
   * gemmEx(args): the same product through cublasGemmEx, the last candidate of every shape.
   */
  constructor(
    private readonly stream: unknown,
    private readonly workspace: { ptr: DevicePtr; bytes: number },
    private readonly time: (work: () => void) => number,
    private readonly scratch: (bytes: number) => { ptr: DevicePtr; free(): void },
    private readonly gemmEx: (args: GemmArgs) => void,
    path = findCudaLibrary("cublasLt"),
  ) {
    this.path = path;
    let lib: KoffiLib;
    try {
      lib = loadKoffi().load(path);
    } catch (error) {
      throw new CudaUnavailableError(`could not load cuBLASLt ${path}: ${(error as Error).message}`);
    }
    const fn = (proto: string) => lib.func(proto);
    this.f = {
      create: fn("int cublasLtCreate(_Out_ void **handle)"),
      destroy: fn("int cublasLtDestroy(void *handle)"),
      descCreate: fn("int cublasLtMatmulDescCreate(_Out_ void **desc, int computeType, int scaleType)"),
      descDestroy: fn("int cublasLtMatmulDescDestroy(void *desc)"),
      descSet: fn("int cublasLtMatmulDescSetAttribute(void *desc, int attr, const void *buf, size_t size)"),
      layoutCreate: fn("int cublasLtMatrixLayoutCreate(_Out_ void **layout, int type, uint64_t rows, uint64_t cols, int64_t ld)"),
      layoutDestroy: fn("int cublasLtMatrixLayoutDestroy(void *layout)"),
      prefCreate: fn("int cublasLtMatmulPreferenceCreate(_Out_ void **pref)"),
      prefDestroy: fn("int cublasLtMatmulPreferenceDestroy(void *pref)"),
      prefSet: fn("int cublasLtMatmulPreferenceSetAttribute(void *pref, int attr, const void *buf, size_t size)"),
      heuristic: fn(
        "int cublasLtMatmulAlgoGetHeuristic(void *h, void *desc, void *a, void *b, void *c, void *d, void *pref, int requested, _Out_ uint8_t *results, _Out_ int *count)",
      ),
      matmul: fn(
        "int cublasLtMatmul(void *h, void *desc, const void *alpha, uint64_t A, void *Adesc, uint64_t B, void *Bdesc, const void *beta, uint64_t C, void *Cdesc, uint64_t D, void *Ddesc, const uint8_t *algo, uint64_t workspace, size_t workspaceBytes, void *stream)",
      ),
    };
    const out: unknown[] = [null];
    this.check(this.f.create(out), "cublasLtCreate");
    this.handle = out[0];
  }

  private check(status: number, call: string): void {
    if (status !== 0) throw new CudaError(call, status, cublasStatusName(status));
  }

  /**
   * Row-major C = alpha·op(A)·op(B) + beta·C, as Cublas.gemm (not batched), with the shape's tuned
   * algorithm. False, having done nothing, for a shape cuBLASLt has no algorithm for.
   */
  gemm(args: GemmArgs): boolean {
    const plan = this.planFor(args);
    if (plan === null) return false;
    if (plan.chosen < 0) this.tune(plan, args);
    if (plan.chosen === plan.algos.length) return false;
    this.run(plan, args, plan.chosen, args.c);
    return true;
  }

  /** What tuning chose for every shape so far (candidates 0: left to cublasGemmEx). */
  tunings(): LtTuning[] {
    return [...this.plans.entries()].map(([key, p]) => ({ key, candidates: p?.algos.length ?? 0, chosen: p?.chosen ?? -1, times: p?.times ?? [] }));
  }

  private shape(args: GemmArgs) {
    const { transA, transB, m, n, k } = args;
    const lda = args.lda ?? (transA ? m : k);
    const ldb = args.ldb ?? (transB ? k : n);
    const ldc = args.ldc ?? n;
    const cType = args.cType ?? args.dtype;
    const e = ELEMENT_BYTES[args.dtype];
    const ce = ELEMENT_BYTES[cType];
    const align = {
      a: alignment(args.b, ldb * e), // cuBLAS's A is our B (the row-major swap, see Cublas.gemm)
      b: alignment(args.a, lda * e),
      c: alignment(args.c, ldc * ce),
    };
    const key = `${transA ? "T" : "N"}${transB ? "T" : "N"} ${m}×${n}×${k} ld ${lda},${ldb},${ldc} ${args.dtype}→${cType} beta ${(args.beta ?? 0) !== 0 ? 1 : 0} align ${align.a},${align.b},${align.c}`;
    return { lda, ldb, ldc, cType, align, key };
  }

  private planFor(args: GemmArgs): LtPlan | null {
    if (args.batch) throw new Error("CublasLt.gemm takes single products; batched ones go through cublasGemmStridedBatchedEx");
    const s = this.shape(args);
    const known = this.plans.get(s.key);
    if (known !== undefined) return known;
    const { transA, transB, m, n, k } = args;
    const t = CudaDataType[args.dtype];
    const ct = CudaDataType[s.cType];
    const out: unknown[] = [null];
    this.check(this.f.descCreate(out, COMPUTE_32F, SCALE_32F), "cublasLtMatmulDescCreate");
    const desc = out[0];
    this.check(this.f.descSet(desc, DESC_TRANSA, new Int32Array([transB ? 1 : 0]), 4), "cublasLtMatmulDescSetAttribute(TRANSA)");
    this.check(this.f.descSet(desc, DESC_TRANSB, new Int32Array([transA ? 1 : 0]), 4), "cublasLtMatmulDescSetAttribute(TRANSB)");
    const layout = (type: number, rows: number, cols: number, ld: number) => {
      const l: unknown[] = [null];
      this.check(this.f.layoutCreate(l, type, rows, cols, ld), "cublasLtMatrixLayoutCreate");
      return l[0];
    };
    // Column-major view of the row-major product: Cᵀ [n, m] = op(B)ᵀ [n, k] · op(A)ᵀ [k, m].
    const layouts: [unknown, unknown, unknown] = [
      transB ? layout(t, k, n, s.ldb) : layout(t, n, k, s.ldb),
      transA ? layout(t, m, k, s.lda) : layout(t, k, m, s.lda),
      layout(ct, n, m, s.ldc),
    ];
    const pref: unknown[] = [null];
    this.check(this.f.prefCreate(pref), "cublasLtMatmulPreferenceCreate");
    try {
      this.check(this.f.prefSet(pref[0], PREF_MAX_WORKSPACE_BYTES, new BigUint64Array([BigInt(this.workspace.bytes)]), 8), "cublasLtMatmulPreferenceSetAttribute");
      for (const [which, attr] of Object.entries(PREF_MIN_ALIGNMENT)) {
        const a = which === "d" ? s.align.c : s.align[which as "a" | "b" | "c"];
        this.check(this.f.prefSet(pref[0], attr, new Uint32Array([a]), 4), "cublasLtMatmulPreferenceSetAttribute");
      }
      const results = Buffer.alloc(RESULT_BYTES * CANDIDATES);
      const count = [0];
      const status = this.f.heuristic(this.handle, desc, layouts[0], layouts[1], layouts[2], layouts[2], pref[0], CANDIDATES, results, count);
      if (status !== 0 && status !== NOT_SUPPORTED) this.check(status, "cublasLtMatmulAlgoGetHeuristic");
      if (status === NOT_SUPPORTED) count[0] = 0;
      const algos: Buffer[] = [];
      for (let i = 0; i < count[0]; i++) {
        const r = results.subarray(i * RESULT_BYTES, (i + 1) * RESULT_BYTES);
        const workspaceBytes = Number(r.readBigUInt64LE(ALGO_BYTES));
        const state = r.readInt32LE(ALGO_BYTES + 8);
        if (state === 0 && workspaceBytes <= this.workspace.bytes) algos.push(Buffer.from(r.subarray(0, ALGO_BYTES)));
      }
      if (algos.length === 0) {
        for (const l of layouts) this.f.layoutDestroy(l);
        this.f.descDestroy(desc);
        this.plans.set(s.key, null);
        return null;
      }
      const plan: LtPlan = { desc, layouts, algos, chosen: -1, times: [], cBytes: m * s.ldc * ELEMENT_BYTES[s.cType] };
      this.plans.set(s.key, plan);
      return plan;
    } finally {
      this.f.prefDestroy(pref[0]);
    }
  }

  /**
   * Times every candidate and cublasGemmEx into a scratch C (the real C may be accumulated into, so
   * it is never written twice): a warm-up run each, then three rounds in which each candidate runs
   * TIMED_REPS times; a candidate's time is its median round.
   */
  private tune(plan: LtPlan, args: GemmArgs): void {
    const scratch = this.scratch(plan.cBytes);
    try {
      const onScratch = { ...args, c: scratch.ptr };
      const candidates = [...plan.algos.map((_, i) => () => this.run(plan, args, i, scratch.ptr)), () => this.gemmEx(onScratch)];
      for (const run of candidates) run();
      const rounds = candidates.map((): number[] => []);
      for (let round = 0; round < 3; round++) {
        for (const [i, run] of candidates.entries()) {
          rounds[i].push(
            this.time(() => {
              for (let r = 0; r < TIMED_REPS; r++) run();
            }) / TIMED_REPS,
          );
        }
      }
      plan.times = rounds.map((t) => t.sort((a, b) => a - b)[1]);
    } finally {
      scratch.free();
    }
    // a cuBLASLt algorithm replaces cublasGemmEx's only when it times MARGIN faster: on an H200 the
    // large 7B products differ by less than their timings spread, and picks on such differences
    // made the step 2–5 % slower
    const gemmEx = plan.times[plan.algos.length];
    const best = plan.times.slice(0, plan.algos.length).reduce((b, t, i, all) => (t < all[b] ? i : b), 0);
    plan.chosen = plan.times[best] < (1 - MARGIN) * gemmEx ? best : plan.algos.length;
  }

  private run(plan: LtPlan, args: GemmArgs, index: number, c: DevicePtr): void {
    this.alpha[0] = args.alpha ?? 1;
    this.beta[0] = args.beta ?? 0;
    const [la, lb, lc] = plan.layouts;
    this.check(
      this.f.matmul(this.handle, plan.desc, this.alpha, args.b, la, args.a, lb, this.beta, c, lc, c, lc, plan.algos[index], this.workspace.ptr, this.workspace.bytes, this.stream),
      "cublasLtMatmul",
    );
  }

  dispose(): void {
    for (const p of this.plans.values()) {
      if (p === null) continue;
      for (const l of p.layouts) this.f.layoutDestroy(l);
      this.f.descDestroy(p.desc);
    }
    this.plans.clear();
    if (this.handle !== null) this.f.destroy(this.handle);
    this.handle = null;
  }
}
