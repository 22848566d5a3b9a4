// NCCL through koffi: one communicator a process (a rank a GPU), the unique id made by one rank
// and handed to the others, and sum all-reduces of fp32 buffers on the device's stream.
// NVLink multicast (NVLS) stays off: NCCL_NVLS_ENABLE=0 is set before the library loads.

import { CudaError, CudaUnavailableError } from "./errors.js";
import { type DevicePtr, type KoffiLib, loadKoffi } from "./ffi.js";
import { findCudaLibrary } from "./find-libraries.js";

/** ncclUniqueId: 128 opaque bytes. */
export const NCCL_UNIQUE_ID_BYTES = 128;
const NCCL_FLOAT32 = 7; // ncclDataType_t ncclFloat32
const NCCL_SUM = 0; // ncclRedOp_t ncclSum

const RESULTS: Record<number, string> = {
  0: "ncclSuccess",
  1: "ncclUnhandledCudaError",
  2: "ncclSystemError",
  3: "ncclInternalError",
  4: "ncclInvalidArgument",
  5: "ncclInvalidUsage",
  6: "ncclRemoteError",
  7: "ncclInProgress",
};

interface NcclFunctions {
  getUniqueId(out: Uint8Array): number;
  commInitRank(comm: unknown[], nranks: number, id: { internal: number[] }, rank: number): number;
  allReduce(send: DevicePtr, recv: DevicePtr, count: number, datatype: number, op: number, comm: unknown, stream: unknown): number;
  commDestroy(comm: unknown): number;
  getErrorString(result: number): string;
  getVersion(out: Int32Array): number;
}

let loaded: { path: string; f: NcclFunctions } | undefined;

/** Loads libnccl (pip's nvidia-nccl wheels, CUDA's folders, $AGENTTUNE_CUDA_LIB_DIR …). */
export function loadNccl(): { path: string; f: NcclFunctions } {
  if (loaded) return loaded;
  // never NVLink multicast: a program that uses it can take a shared host's GPUs out of service
  process.env.NCCL_NVLS_ENABLE = "0";
  const path = findCudaLibrary("nccl");
  let lib: KoffiLib;
  const koffi = loadKoffi();
  try {
    lib = koffi.load(path);
  } catch (error) {
    throw new CudaUnavailableError(`could not load NCCL ${path}: ${(error as Error).message}`);
  }
  koffi.struct("ncclUniqueId", { internal: koffi.array("char", NCCL_UNIQUE_ID_BYTES) });
  const f: NcclFunctions = {
    getUniqueId: lib.func("int ncclGetUniqueId(_Out_ uint8_t *uniqueId)"),
    commInitRank: lib.func("int ncclCommInitRank(_Out_ void **comm, int nranks, ncclUniqueId commId, int rank)"),
    allReduce: lib.func("int ncclAllReduce(uintptr_t sendbuff, uintptr_t recvbuff, size_t count, int datatype, int op, void *comm, void *stream)"),
    commDestroy: lib.func("int ncclCommDestroy(void *comm)"),
    getErrorString: lib.func("const char *ncclGetErrorString(int result)"),
    getVersion: lib.func("int ncclGetVersion(_Out_ int *version)"),
  };
  loaded = { path, f };
  return loaded;
}

function check(f: NcclFunctions, result: number, call: string): void {
  if (result !== 0) throw new CudaError(call, result, `${RESULTS[result] ?? `result ${result}`}: ${f.getErrorString(result)}`);
}

/** A new unique id (rank 0 makes it; every rank of the group initialises with the same bytes). */
export function ncclUniqueId(): Uint8Array {
  const { f } = loadNccl();
  const id = new Uint8Array(NCCL_UNIQUE_ID_BYTES);
  check(f, f.getUniqueId(id), "ncclGetUniqueId");
  return id;
}

/** NCCL's version as an integer (e.g. 22703 for 2.27.3). */
export function ncclVersion(): number {
  const { f } = loadNccl();
  const v = new Int32Array(1);
  check(f, f.getVersion(v), "ncclGetVersion");
  return v[0] as number;
}

/** One rank's communicator. The CUDA context of this rank's GPU must be current. */
export class NcclComm {
  private comm: unknown;
  constructor(
    readonly rank: number,
    readonly world: number,
    id: Uint8Array,
  ) {
    const { f } = loadNccl();
    if (id.length !== NCCL_UNIQUE_ID_BYTES) throw new CudaError("ncclCommInitRank", -1, `the unique id has ${id.length} bytes, not ${NCCL_UNIQUE_ID_BYTES}`);
    const out: unknown[] = [null];
    check(f, f.commInitRank(out, world, { internal: Array.from(id, (b) => (b > 127 ? b - 256 : b)) }, rank), "ncclCommInitRank");
    this.comm = out[0];
  }

  /** recv[i] = Σ over ranks of send[i], `count` fp32 values, queued on `stream` (in place when send = recv). */
  allReduceSum(send: DevicePtr, recv: DevicePtr, count: number, stream: unknown): void {
    const { f } = loadNccl();
    check(f, f.allReduce(send, recv, count, NCCL_FLOAT32, NCCL_SUM, this.comm, stream), "ncclAllReduce");
  }

  dispose(): void {
    if (this.comm === null) return;
    const { f } = loadNccl();
    check(f, f.commDestroy(this.comm), "ncclCommDestroy");
    this.comm = null;
  }
}
