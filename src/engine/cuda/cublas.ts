import { envChoice } from "../../env-choice.js";
import type { CublasLt } from "./cublas-lt.js";
import { CudaError, CudaUnavailableError } from "./errors.js";
import { type DevicePtr, type KoffiLib, loadKoffi } from "./ffi.js";
import { findCudaLibrary } from "./find-libraries.js";
import { gemmLaunchName, type LaunchProfiler } from "./profiler.js";

/** cudaDataType values for the element types the backend multiplies. */
export const CudaDataType = { f32: 0, f16: 2, bf16: 14 } as const;
export type GemmDtype = keyof typeof CudaDataType;

const COMPUTE_32F = 68; // CUBLAS_COMPUTE_32F: fp32 accumulation whatever the operand type
const GEMM_DEFAULT = -1; // CUBLAS_GEMM_DEFAULT (tensor cores are used for bf16/f16 operands)
const STATUS_NAMES: Record<number, string> = {
  0: "CUBLAS_STATUS_SUCCESS",
  1: "CUBLAS_STATUS_NOT_INITIALIZED",
  3: "CUBLAS_STATUS_ALLOC_FAILED",
  7: "CUBLAS_STATUS_INVALID_VALUE",
  8: "CUBLAS_STATUS_ARCH_MISMATCH",
  11: "CUBLAS_STATUS_MAPPING_ERROR",
  13: "CUBLAS_STATUS_EXECUTION_FAILED",
  14: "CUBLAS_STATUS_INTERNAL_ERROR",
  15: "CUBLAS_STATUS_NOT_SUPPORTED",
  16: "CUBLAS_STATUS_LICENSE_ERROR",
};

/**
 * Which library runs the single products, from $AGENTTUNE_GEMM: "gemmex" (cublasGemmEx, the
 * heuristic's first algorithm; the default) or "lt" (cuBLASLt, each shape's fastest candidate
 * found by timing on its first call, CublasLt).
 */
export function gemmRouteFromEnv(env: NodeJS.ProcessEnv = process.env): "gemmex" | "lt" {
  return envChoice(env, "AGENTTUNE_GEMM", ["gemmex", "lt"], "gemmex");
}

/** "CUBLAS_STATUS_NOT_SUPPORTED" for 15: cuBLAS and cuBLASLt share the status codes. */
export function cublasStatusName(status: number): string {
  return STATUS_NAMES[status] ?? `cublasStatus ${status}`;
}

/** One row-major matrix product C = alpha·op(A)·op(B) + beta·C, shapes after op: A [m,k], B [k,n], C [m,n]. */
export interface GemmArgs {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  a: DevicePtr;
  b: DevicePtr;
  c: DevicePtr;
  /** Element type of A and B; C is `cType` (default: the same). Accumulation is always fp32. */
  dtype: GemmDtype;
  cType?: GemmDtype;
  alpha?: number;
  beta?: number;
  /**
   * Row lengths of A, B and C as stored, in elements, for matrices that are column slices of
   * wider ones; default: the row lengths of dense matrices (A: transA ? m : k, B: transB ? k : n, C: n).
   */
  lda?: number;
  ldb?: number;
  ldc?: number;
  /** For batched products: elements between consecutive matrices, and the count. */
  batch?: { count: number; strideA: number; strideB: number; strideC: number };
}

/** cuBLAS through koffi: a handle bound to a stream, and row-major GEMMs on top of the column-major API. */
export class Cublas {
  readonly path: string;
  private readonly f: Record<string, (...args: unknown[]) => number>;
  private handle: unknown = null;
  private readonly alpha = new Float32Array(1);
  private readonly beta = new Float32Array(1);
  /** Set while a stretch is profiled (CudaDevice.startProfiling): every GEMM is timed under its shape. */
  profiler: LaunchProfiler | undefined;
  /** When set, single (not batched) products go through cuBLASLt's tuned algorithms instead of cublasGemmEx. */
  lt: CublasLt | undefined;

  constructor(stream: unknown, path = findCudaLibrary("cublas")) {
    this.path = path;
    let lib: KoffiLib;
    try {
      lib = loadKoffi().load(path);
    } catch (error) {
      throw new CudaUnavailableError(`could not load cuBLAS ${path}: ${(error as Error).message}`);
    }
    const fn = (proto: string) => lib.func(proto);
    this.f = {
      create: fn("int cublasCreate_v2(_Out_ void **handle)"),
      destroy: fn("int cublasDestroy_v2(void *handle)"),
      setStream: fn("int cublasSetStream_v2(void *handle, void *stream)"),
      gemmEx: fn(
        "int cublasGemmEx(void *h, int transa, int transb, int m, int n, int k, const void *alpha, uint64_t A, int Atype, int lda, uint64_t B, int Btype, int ldb, const void *beta, uint64_t C, int Ctype, int ldc, int computeType, int algo)",
      ),
      gemmStridedBatchedEx: fn(
        "int cublasGemmStridedBatchedEx(void *h, int transa, int transb, int m, int n, int k, const void *alpha, uint64_t A, int Atype, int lda, int64_t strideA, uint64_t B, int Btype, int ldb, int64_t strideB, const void *beta, uint64_t C, int Ctype, int ldc, int64_t strideC, int batchCount, int computeType, int algo)",
      ),
    };
    const out: unknown[] = [null];
    this.check(this.f.create(out), "cublasCreate_v2");
    this.handle = out[0];
    this.check(this.f.setStream(this.handle, stream), "cublasSetStream_v2");
  }

  private check(status: number, call: string): void {
    if (status !== 0) throw new CudaError(call, status, cublasStatusName(status));
  }

  /**
   * Row-major C[m,n] = alpha·op(A)·op(B) + beta·C. cuBLAS is column-major, and a row-major
   * matrix is its transpose in column-major, so this computes Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the
   * operands and m/n, keep the transpose flags. Leading dimensions are the row-major row lengths.
   */
  gemm(args: GemmArgs): void {
    const profiled = this.profiler?.begin();
    if (args.batch) this.gemmBatched(args, args.batch);
    else if (!this.lt?.gemm(args)) this.gemmEx(args); // cuBLASLt, when set, runs the shapes where one of its algorithms timed faster
    if (profiled !== undefined) this.profiler?.end(gemmLaunchName(args.m, args.n, args.k, args.transA, args.transB, args.batch?.count), profiled);
  }

  /** A single product through cublasGemmEx with the heuristic's first algorithm, whatever `lt` says (not profiled). */
  gemmEx(args: GemmArgs): void {
    const { m, n, k, opA, opB, t, ct, lda, ldb, ldc } = this.operands(args);
    this.check(this.f.gemmEx(this.handle, opB, opA, n, m, k, this.alpha, args.b, t, ldb, args.a, t, lda, this.beta, args.c, ct, ldc, COMPUTE_32F, GEMM_DEFAULT), "cublasGemmEx");
  }

  private gemmBatched(args: GemmArgs, batch: NonNullable<GemmArgs["batch"]>): void {
    const { m, n, k, opA, opB, t, ct, lda, ldb, ldc } = this.operands(args);
    const { count, strideA, strideB, strideC } = batch;
    this.check(
      this.f.gemmStridedBatchedEx(this.handle, opB, opA, n, m, k, this.alpha, args.b, t, ldb, strideB, args.a, t, lda, strideA, this.beta, args.c, ct, ldc, strideC, count, COMPUTE_32F, GEMM_DEFAULT),
      "cublasGemmStridedBatchedEx",
    );
  }

  /** The scalars set, and the cuBLAS arguments of a row-major product: types, transposes, row lengths as stored. */
  private operands(args: GemmArgs) {
    const { transA, transB, m, n, k } = args;
    this.alpha[0] = args.alpha ?? 1;
    this.beta[0] = args.beta ?? 0;
    return {
      m,
      n,
      k,
      opA: transA ? 1 : 0,
      opB: transB ? 1 : 0,
      t: CudaDataType[args.dtype],
      ct: CudaDataType[args.cType ?? args.dtype],
      lda: args.lda ?? (transA ? m : k), // row length of A as stored
      ldb: args.ldb ?? (transB ? k : n),
      ldc: args.ldc ?? n,
    };
  }

  dispose(): void {
    if (this.handle !== null) this.f.destroy(this.handle);
    this.handle = null;
  }
}
