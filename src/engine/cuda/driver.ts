import { CudaError, CudaUnavailableError } from "./errors.js";
import { type DevicePtr, type KoffiLib, loadKoffi } from "./ffi.js";
import { findCudaLibrary } from "./find-libraries.js";

/** Opaque handles (CUcontext, CUmodule, CUfunction, CUstream, CUevent) as koffi passes them. */
export type Handle = unknown;

/**
 * The CUDA driver API calls the backend uses, declared once. Every call goes through `check`,
 * which turns a non-zero CUresult into a CudaError naming the call and the status.
 */
export class CudaDriver {
  readonly path: string;
  private readonly fn: Record<string, (...args: unknown[]) => number>;
  private readonly errorName: (status: number, out: string[]) => number;

  constructor(path = findCudaLibrary("cuda")) {
    this.path = path;
    let lib: KoffiLib;
    try {
      lib = loadKoffi().load(path);
    } catch (error) {
      throw new CudaUnavailableError(`could not load the CUDA driver ${path}: ${(error as Error).message}`);
    }
    const f = (proto: string) => lib.func(proto);
    this.errorName = f("int cuGetErrorName(int status, _Out_ const char **name)");
    this.fn = {
      cuInit: f("int cuInit(unsigned int flags)"),
      cuDriverGetVersion: f("int cuDriverGetVersion(_Out_ int *version)"),
      cuDeviceGetCount: f("int cuDeviceGetCount(_Out_ int *count)"),
      cuDeviceGet: f("int cuDeviceGet(_Out_ int *device, int ordinal)"),
      cuDeviceGetName: f("int cuDeviceGetName(_Out_ uint8_t *name, int len, int device)"),
      cuDeviceGetAttribute: f("int cuDeviceGetAttribute(_Out_ int *value, int attribute, int device)"),
      cuDeviceTotalMem: f("int cuDeviceTotalMem_v2(_Out_ size_t *bytes, int device)"),
      cuDevicePrimaryCtxRetain: f("int cuDevicePrimaryCtxRetain(_Out_ void **ctx, int device)"),
      cuDevicePrimaryCtxRelease: f("int cuDevicePrimaryCtxRelease_v2(int device)"),
      cuCtxSetCurrent: f("int cuCtxSetCurrent(void *ctx)"),
      cuCtxSynchronize: f("int cuCtxSynchronize()"),
      cuMemGetInfo: f("int cuMemGetInfo_v2(_Out_ size_t *free, _Out_ size_t *total)"),
      cuMemAlloc: f("int cuMemAlloc_v2(_Out_ uint64_t *ptr, size_t bytes)"),
      cuMemFree: f("int cuMemFree_v2(uint64_t ptr)"),
      cuMemHostAlloc: f("int cuMemHostAlloc(_Out_ void **pp, size_t bytes, unsigned int flags)"),
      cuMemHostGetDevicePointer: f("int cuMemHostGetDevicePointer_v2(_Out_ uint64_t *dptr, void *p, unsigned int flags)"),
      cuMemFreeHost: f("int cuMemFreeHost(void *p)"),
      cuMemcpyHtoD: f("int cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t bytes)"),
      cuMemcpyDtoH: f("int cuMemcpyDtoH_v2(_Out_ void *dst, uint64_t src, size_t bytes)"),
      cuMemcpyDtoD: f("int cuMemcpyDtoD_v2(uint64_t dst, uint64_t src, size_t bytes)"),
      cuMemcpyHtoDAsync: f("int cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src, size_t bytes, void *stream)"),
      cuMemcpyDtoDAsync: f("int cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t bytes, void *stream)"),
      cuMemsetD8Async: f("int cuMemsetD8Async(uint64_t dst, uint8_t value, size_t count, void *stream)"),
      cuModuleLoadData: f("int cuModuleLoadData(_Out_ void **module, const void *image)"),
      cuModuleUnload: f("int cuModuleUnload(void *module)"),
      cuModuleGetFunction: f("int cuModuleGetFunction(_Out_ void **fn, void *module, const char *name)"),
      cuFuncSetAttribute: f("int cuFuncSetAttribute(void *fn, int attribute, int value)"),
      cuLaunchKernel: f(
        "int cuLaunchKernel(void *fn, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by, unsigned int bz, unsigned int smem, void *stream, void **params, void **extra)",
      ),
      cuStreamCreate: f("int cuStreamCreate(_Out_ void **stream, unsigned int flags)"),
      cuStreamDestroy: f("int cuStreamDestroy_v2(void *stream)"),
      cuStreamSynchronize: f("int cuStreamSynchronize(void *stream)"),
      cuStreamWaitEvent: f("int cuStreamWaitEvent(void *stream, void *event, unsigned int flags)"),
      cuEventCreate: f("int cuEventCreate(_Out_ void **event, unsigned int flags)"),
      cuEventDestroy: f("int cuEventDestroy_v2(void *event)"),
      cuEventRecord: f("int cuEventRecord(void *event, void *stream)"),
      cuEventSynchronize: f("int cuEventSynchronize(void *event)"),
      cuEventElapsedTime: f("int cuEventElapsedTime(_Out_ float *ms, void *start, void *end)"),
    };
  }

  /** The name of a CUresult, e.g. CUDA_ERROR_OUT_OF_MEMORY. */
  statusName(status: number): string {
    const out = [""];
    return this.errorName(status, out) === 0 && out[0] ? out[0] : `CUresult ${status}`;
  }

  /** Throws CudaError unless status is CUDA_SUCCESS (0). */
  check(status: number, call: string): void {
    if (status !== 0) throw new CudaError(call, status, this.statusName(status));
  }

  /** Calls a declared function and checks its status. */
  call(name: string, ...args: unknown[]): void {
    const fn = this.fn[name];
    if (!fn) throw new Error(`CUDA driver function ${name} is not declared in driver.ts`);
    this.check(fn(...args), name);
  }

  /** Calls a declared function and returns the status unchecked (for probing calls whose failure is expected). */
  try(name: string, ...args: unknown[]): number {
    return this.fn[name](...args);
  }

  init(): void {
    const status = this.fn.cuInit(0);
    if (status !== 0) {
      const name = this.statusName(status);
      throw new CudaUnavailableError(
        `the CUDA driver did not initialise: ${name} (${status})`,
        name === "CUDA_ERROR_NO_DEVICE" ? "no NVIDIA GPU is visible; use --backend cpu" : undefined,
      );
    }
  }

  driverVersion(): number {
    const out = [0];
    this.call("cuDriverGetVersion", out);
    return out[0];
  }

  deviceCount(): number {
    const out = [0];
    this.call("cuDeviceGetCount", out);
    return out[0];
  }

  memGetInfo(): { free: number; total: number } {
    const free = [0];
    const total = [0];
    this.call("cuMemGetInfo", free, total);
    return { free: Number(free[0]), total: Number(total[0]) };
  }

  alloc(bytes: number): DevicePtr {
    const out: DevicePtr[] = [0];
    this.call("cuMemAlloc", out, bytes);
    return out[0];
  }

  /**
   * Page-locked host memory mapped into the current context's address space: `host` for
   * cuMemFreeHost, `device` the address kernels read it at (over the bus).
   */
  allocHostMapped(bytes: number): { host: unknown; device: DevicePtr } {
    const host: unknown[] = [null];
    this.call("cuMemHostAlloc", host, bytes, MEMHOSTALLOC_DEVICEMAP);
    const device: DevicePtr[] = [0];
    try {
      this.call("cuMemHostGetDevicePointer", device, host[0], 0);
    } catch (error) {
      this.call("cuMemFreeHost", host[0]);
      throw error;
    }
    return { host: host[0], device: device[0] };
  }
}

/** CU_MEMHOSTALLOC_DEVICEMAP: the page-locked block gets an address in the device's space. */
const MEMHOSTALLOC_DEVICEMAP = 0x02;

/** CUdevice_attribute values the backend reads. */
export const DeviceAttribute = {
  maxThreadsPerBlock: 1,
  maxSharedMemoryPerBlock: 8,
  multiprocessorCount: 16,
  computeCapabilityMajor: 75,
  computeCapabilityMinor: 76,
  maxSharedMemoryPerBlockOptin: 97,
  l2CacheSize: 38,
} as const;
