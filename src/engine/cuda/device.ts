import { Cublas, gemmRouteFromEnv } from "./cublas.js";
import { CublasLt } from "./cublas-lt.js";
import { CudaDriver, DeviceAttribute, type Handle } from "./driver.js";
import { CudaUnavailableError } from "./errors.js";
import type { DevicePtr } from "./ffi.js";
import { KernelArgs, type ParamType } from "./kernel-args.js";
import { sourceArch } from "./kernel-source.js";
import { type CachingAllocator as Allocator, CachingAllocator, type DeviceBuffer } from "./memory.js";
import { Nvrtc } from "./nvrtc.js";
import { LaunchProfiler, type LaunchTime } from "./profiler.js";

const FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8; // CUfunction_attribute
/** cuBLASLt's workspace with AGENTTUNE_GEMM=lt: what cuBLAS itself keeps on Hopper. */
const LT_WORKSPACE_BYTES = 32 << 20;

export type { ParamType } from "./kernel-args.js";

/** A compiled kernel bound to its parameter list: `launch(grid, block, ...args)`. */
export interface Kernel {
  readonly name: string;
  launch(grid: [number, number?, number?], block: [number, number?, number?], sharedBytes: number, ...args: (DevicePtr | number)[]): void;
  /** Lets launches ask for more than the default 48 KiB of dynamic shared memory (up to the device's opt-in limit). */
  allowDynamicShared(bytes: number): void;
}

export interface DeviceInfo {
  ordinal: number;
  name: string;
  computeCapability: [number, number];
  multiprocessors: number;
  totalMemory: number;
  driverVersion: number;
  nvrtcVersion: string;
}

/**
 * One GPU: the driver, a primary context, one stream, the caching allocator, NVRTC and cuBLAS.
 * All backend work is queued on `stream`; `synchronize()` waits for it.
 */
export class CudaDevice {
  readonly driver: CudaDriver;
  readonly nvrtc: Nvrtc;
  readonly cublas: Cublas;
  readonly memory: Allocator;
  readonly info: DeviceInfo;
  readonly stream: Handle;
  private readonly device: number;
  private readonly modules: Handle[] = [];
  private disposed = false;
  /** Set between startProfiling and stopProfiling: every launch and GEMM is timed. */
  private profiler: LaunchProfiler | undefined;
  /** cuBLASLt's workspace, with AGENTTUNE_GEMM=lt. */
  private ltWorkspace: DeviceBuffer | undefined;

  constructor(ordinal = 0) {
    this.driver = new CudaDriver();
    this.driver.init();
    const count = this.driver.deviceCount();
    if (ordinal >= count) throw new CudaUnavailableError(`GPU ${ordinal} asked for, but ${count} visible`);
    const dev = [0];
    this.driver.call("cuDeviceGet", dev, ordinal);
    this.device = dev[0];
    const ctx: Handle[] = [null];
    this.driver.call("cuDevicePrimaryCtxRetain", ctx, this.device);
    this.driver.call("cuCtxSetCurrent", ctx[0]);
    const stream: Handle[] = [null];
    this.driver.call("cuStreamCreate", stream, 1 /* CU_STREAM_NON_BLOCKING */);
    this.stream = stream[0];
    this.memory = new CachingAllocator(this.driver);
    this.nvrtc = new Nvrtc();
    this.cublas = new Cublas(this.stream);
    if (gemmRouteFromEnv() === "lt") {
      this.ltWorkspace = this.memory.alloc(LT_WORKSPACE_BYTES);
      this.cublas.lt = new CublasLt(this.stream, { ptr: this.ltWorkspace.ptr, bytes: LT_WORKSPACE_BYTES }, (work) => this.time(work), (bytes) => this.memory.alloc(bytes), (args) => this.cublas.gemmEx(args));
    }
    const attr = (a: number) => {
      const out = [0];
      this.driver.call("cuDeviceGetAttribute", out, a, this.device);
      return out[0];
    };
    const name = Buffer.alloc(256);
    this.driver.call("cuDeviceGetName", name, 256, this.device);
    const total = [0];
    this.driver.call("cuDeviceTotalMem", total, this.device);
    this.info = {
      ordinal,
      name: name.toString("utf8").replace(/\0.*$/s, ""),
      computeCapability: [attr(DeviceAttribute.computeCapabilityMajor), attr(DeviceAttribute.computeCapabilityMinor)],
      multiprocessors: attr(DeviceAttribute.multiprocessorCount),
      totalMemory: Number(total[0]),
      driverVersion: this.driver.driverVersion(),
      nvrtcVersion: this.nvrtc.version,
    };
  }

  /** "sm_90" for an H100. */
  get arch(): string {
    return `sm_${this.info.computeCapability[0]}${this.info.computeCapability[1]}`;
  }

  alloc(bytes: number): DeviceBuffer {
    return this.memory.alloc(bytes);
  }

  /**
   * Page-locked host memory that kernels read over the bus (zero-copy), for a table a step only
   * gathers a few rows from: an untied model's input embeddings (1 GiB at Qwen2.5-7B) then take no
   * GPU memory, for a read of the step's rows over PCIe. `ptr` is its address on the device; copies
   * to and fills of it go through upload, fill and copy as for device memory. Not counted in
   * `memory`'s statistics, which are the GPU's.
   */
  allocHostMapped(bytes: number): DeviceBuffer {
    const { host, device } = this.driver.allocHostMapped(bytes);
    let freed = false;
    return {
      ptr: device,
      bytes,
      free: () => {
        if (freed) return;
        freed = true;
        this.synchronize(); // a queued gather may still read it
        this.driver.call("cuMemFreeHost", host);
      },
    };
  }

  // Every copy and fill goes on the backend's stream. The synchronous driver calls run on the
  // legacy default stream, which a non-blocking stream does not wait for: a fill there could
  // race with kernels still reading a block the allocator has just handed out again.

  /** Copies host memory to the device, ordered on the stream (the host buffer is free again on return). */
  upload(dst: DevicePtr, src: ArrayBufferView): void {
    this.driver.call("cuMemcpyHtoDAsync", dst, src, src.byteLength, this.stream);
  }

  /** Device-to-device copy of `bytes`, ordered on the stream. */
  copy(dst: DevicePtr, src: DevicePtr, bytes: number): void {
    this.driver.call("cuMemcpyDtoDAsync", dst, src, bytes, this.stream);
  }

  /** Sets `bytes` bytes to `value`, ordered on the stream. */
  fill(dst: DevicePtr, value: number, bytes: number): void {
    this.driver.call("cuMemsetD8Async", dst, value, bytes, this.stream);
  }

  /** Copies device memory into `dst` (waits for the stream first, since the copy is synchronous to the host). */
  download(dst: ArrayBufferView, src: DevicePtr): void {
    this.synchronize();
    this.driver.call("cuMemcpyDtoH", dst, src, dst.byteLength);
  }

  synchronize(): void {
    this.driver.call("cuStreamSynchronize", this.stream);
  }

  /**
   * Compiles a `.cu` source (cached on disk) and returns its kernels, each bound to the parameter
   * types given, in declaration order. For the device's architecture, or the one the source's
   * `// needs:` line names (sourceArch).
   */
  compile<K extends string>(source: string, file: string, kernels: Record<K, ParamType[]>, options: string[] = []): Record<K, Kernel> {
    const image = this.nvrtc.compile(source, file, sourceArch(source, this.arch), options);
    const mod: Handle[] = [null];
    this.driver.call("cuModuleLoadData", mod, image);
    this.modules.push(mod[0]);
    const out = {} as Record<K, Kernel>;
    for (const name of Object.keys(kernels) as K[]) {
      const fn: Handle[] = [null];
      this.driver.call("cuModuleGetFunction", fn, mod[0], name);
      out[name] = this.bindKernel(name, fn[0], kernels[name]);
    }
    return out;
  }

  /** Times every kernel launch and GEMM on the stream from now on, until `stopProfiling`. */
  startProfiling(): void {
    this.profiler ??= new LaunchProfiler(this.driver, this.stream);
    this.cublas.profiler = this.profiler;
  }

  /** Stops timing launches and returns the GPU time of each launch name since `startProfiling` (waits for the stream). */
  stopProfiling(): LaunchTime[] {
    const profiler = this.profiler;
    if (profiler === undefined) return [];
    this.profiler = undefined;
    this.cublas.profiler = undefined;
    const times = profiler.collect();
    profiler.dispose();
    return times;
  }

  private bindKernel(name: string, fn: Handle, params: ParamType[]): Kernel {
    // One argument block per kernel, reused: cuLaunchKernel copies the values at the call.
    const packed = new KernelArgs(name, params);
    const driver = this.driver;
    const stream = this.stream;
    const profilerOf = () => this.profiler;
    return {
      name,
      launch(grid, blockDim, sharedBytes, ...args) {
        const table = packed.pack(args);
        const profiler = profilerOf();
        const profiled = profiler?.begin();
        driver.call(
          "cuLaunchKernel",
          fn,
          grid[0],
          grid[1] ?? 1,
          grid[2] ?? 1,
          blockDim[0],
          blockDim[1] ?? 1,
          blockDim[2] ?? 1,
          sharedBytes,
          stream,
          table,
          null,
        );
        if (profiled !== undefined) profiler?.end(name, profiled);
      },
      allowDynamicShared(bytes) {
        driver.call("cuFuncSetAttribute", fn, FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
      },
    };
  }

  /** Times `work` on the stream with CUDA events; returns milliseconds. */
  time(work: () => void): number {
    const start: Handle[] = [null];
    const end: Handle[] = [null];
    this.driver.call("cuEventCreate", start, 0);
    this.driver.call("cuEventCreate", end, 0);
    try {
      this.driver.call("cuEventRecord", start[0], this.stream);
      work();
      this.driver.call("cuEventRecord", end[0], this.stream);
      this.driver.call("cuEventSynchronize", end[0]);
      const ms = new Float32Array(1);
      this.driver.call("cuEventElapsedTime", ms, start[0], end[0]);
      return ms[0];
    } finally {
      this.driver.call("cuEventDestroy", start[0]);
      this.driver.call("cuEventDestroy", end[0]);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.synchronize();
    this.stopProfiling();
    this.cublas.lt?.dispose();
    this.ltWorkspace?.free();
    this.cublas.dispose();
    this.memory.releaseCached();
    for (const mod of this.modules) this.driver.call("cuModuleUnload", mod);
    this.driver.call("cuStreamDestroy", this.stream);
    this.driver.call("cuDevicePrimaryCtxRelease", this.device);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Opens GPU `ordinal`, or throws CudaUnavailableError saying why not. */
export function openCudaDevice(ordinal = 0): CudaDevice {
  return new CudaDevice(ordinal);
}

export type { DeviceBuffer };
export { CachingAllocator };
