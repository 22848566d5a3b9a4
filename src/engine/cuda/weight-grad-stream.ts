import { Cublas } from "./cublas.js";
import type { CudaDevice } from "./device.js";

type Handle = unknown;

/**
 * Where a projection's LoRA weight gradients (dA, dB) are queued. They feed only the optimizer:
 * nothing later in the backward pass reads them, so they may run on a second stream beside the
 * projection's input-gradient products. `fork` makes the side stream wait for the work the main
 * stream has queued so far, `join` the main stream for the side stream's, and `cublas` queues a
 * product on the side stream. A projection's backward forks once its dxa is written and joins
 * before it returns (or before it overwrites a buffer the side stream reads), so every buffer
 * the side stream reads stays as it was until it is done.
 */
export interface WeightGradStream {
  readonly cublas: Cublas;
  fork(): void;
  join(): void;
  dispose(): void;
}

/** On the main stream, in program order: fork and join do nothing (the default). */
export function inlineWeightGrads(device: CudaDevice): WeightGradStream {
  return { cublas: device.cublas, fork() {}, join() {}, dispose() {} };
}

const CU_STREAM_NON_BLOCKING = 1;
const CU_EVENT_DISABLE_TIMING = 2;

/**
 * A second stream with its own cuBLAS handle. Its GEMMs are not seen by the device's launch
 * profiler, so a profiled step should use the inline stream.
 */
export class CudaSideStream implements WeightGradStream {
  readonly cublas: Cublas;
  private readonly stream: Handle;
  // one event a direction: cuStreamWaitEvent waits for the record made last before the call
  private readonly forked: Handle;
  private readonly joined: Handle;
  private disposed = false;

  constructor(private readonly device: CudaDevice) {
    const driver = device.driver;
    const out: Handle[] = [null];
    driver.call("cuStreamCreate", out, CU_STREAM_NON_BLOCKING);
    this.stream = out[0];
    const event = () => {
      const e: Handle[] = [null];
      driver.call("cuEventCreate", e, CU_EVENT_DISABLE_TIMING);
      return e[0];
    };
    this.forked = event();
    this.joined = event();
    this.cublas = new Cublas(this.stream);
  }

  fork(): void {
    this.device.driver.call("cuEventRecord", this.forked, this.device.stream);
    this.device.driver.call("cuStreamWaitEvent", this.stream, this.forked, 0);
  }

  join(): void {
    this.device.driver.call("cuEventRecord", this.joined, this.stream);
    this.device.driver.call("cuStreamWaitEvent", this.device.stream, this.joined, 0);
  }

  /** Waits for the side stream, then frees its handle, events and stream (once). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const driver = this.device.driver;
    driver.call("cuStreamSynchronize", this.stream);
    this.cublas.dispose();
    driver.call("cuEventDestroy", this.forked);
    driver.call("cuEventDestroy", this.joined);
    driver.call("cuStreamDestroy", this.stream);
  }
}
