// The GradientReducer of a data-parallel run on several GPUs: every rank's host gradients packed
// into one fp32 buffer on its GPU, summed over the ranks by one NCCL all-reduce, unpacked; or, for
// a model that keeps its gradients and optimizer on the GPU (CudaTrainableModel), a GPU buffer
// summed in place on the model's stream, with nothing crossing the bus.

import type { CudaDevice } from "../engine/cuda/device.js";
import type { Handle } from "../engine/cuda/driver.js";
import type { DevicePtr } from "../engine/cuda/ffi.js";
import type { DeviceBuffer } from "../engine/cuda/memory.js";
import { NcclComm } from "../engine/cuda/nccl.js";
import type { DeviceGradientReducer } from "./distributed.js";

export class NcclReducer implements DeviceGradientReducer {
  private readonly comm: NcclComm;
  private staging = new Float32Array(0);
  private buffer: DeviceBuffer | null = null;

  constructor(
    private readonly device: CudaDevice,
    readonly rank: number,
    readonly world: number,
    uniqueId: Uint8Array,
  ) {
    this.comm = new NcclComm(rank, world, uniqueId);
  }

  async allReduceSum(values: readonly Float32Array[]): Promise<void> {
    const count = values.reduce((n, v) => n + v.length, 0);
    if (this.staging.length < count) {
      this.staging = new Float32Array(count);
      this.buffer?.free();
      this.buffer = this.device.alloc(count * 4);
    }
    let at = 0;
    for (const v of values) {
      this.staging.set(v, at);
      at += v.length;
    }
    const buf = this.buffer as DeviceBuffer;
    const packed = this.staging.subarray(0, count);
    this.device.upload(buf.ptr, packed);
    this.comm.allReduceSum(buf.ptr, buf.ptr, count, this.device.stream);
    this.device.download(packed, buf.ptr);
    this.device.synchronize();
    at = 0;
    for (const v of values) {
      v.set(packed.subarray(at, at + v.length));
      at += v.length;
    }
  }

  allReduceSumDevice(ptr: DevicePtr, count: number, stream: Handle): void {
    if (count > 0) this.comm.allReduceSum(ptr, ptr, count, stream);
  }

  close(): void {
    this.comm.dispose();
    this.buffer?.free();
    this.buffer = null;
  }
}
