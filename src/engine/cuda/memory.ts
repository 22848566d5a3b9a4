import type { CudaDriver } from "./driver.js";
import { CudaError, CudaOutOfMemoryError } from "./errors.js";
import type { DevicePtr } from "./ffi.js";

/** A block of device memory from the caching allocator. `free()` returns it to the cache. */
export interface DeviceBuffer {
  readonly ptr: DevicePtr;
  /** The bytes asked for (the block may be larger). */
  readonly bytes: number;
  free(): void;
}

export interface MemoryStats {
  /** Bytes in blocks handed out now (rounded sizes). */
  inUse: number;
  peakInUse: number;
  /** Bytes held from the driver (in use + cached). */
  reserved: number;
  peakReserved: number;
  driverAllocations: number;
}

const SMALL = 1 << 20;
const SMALL_ROUND = 512;
const LARGE_ROUND = 2 << 20;

/** Block sizes are rounded so that freed blocks fit later requests of about the same size. */
export function roundBlockSize(bytes: number): number {
  const b = Math.max(bytes, 1);
  return b < SMALL ? Math.ceil(b / SMALL_ROUND) * SMALL_ROUND : Math.ceil(b / LARGE_ROUND) * LARGE_ROUND;
}

/**
 * A caching allocator in the spirit of PyTorch's: cuMemAlloc/cuMemFree synchronise the device and
 * cost tens of microseconds, so freed blocks are kept per size and reused. On out-of-memory the
 * cache is released to the driver and the allocation retried once before a CudaOutOfMemoryError
 * that says what was asked and what is free.
 */
export class CachingAllocator {
  private readonly cache = new Map<number, DevicePtr[]>();
  private readonly stats: MemoryStats = { inUse: 0, peakInUse: 0, reserved: 0, peakReserved: 0, driverAllocations: 0 };

  constructor(private readonly driver: CudaDriver) {}

  alloc(bytes: number): DeviceBuffer {
    const size = roundBlockSize(bytes);
    const ptr = this.cache.get(size)?.pop() ?? this.fromDriver(size);
    this.stats.inUse += size;
    this.stats.peakInUse = Math.max(this.stats.peakInUse, this.stats.inUse);
    let freed = false;
    return {
      ptr,
      bytes,
      free: () => {
        if (freed) return;
        freed = true;
        this.stats.inUse -= size;
        const list = this.cache.get(size);
        if (list) list.push(ptr);
        else this.cache.set(size, [ptr]);
      },
    };
  }

  private fromDriver(size: number): DevicePtr {
    try {
      return this.driverAlloc(size);
    } catch (error) {
      if (!(error instanceof CudaError) || error.statusName !== "CUDA_ERROR_OUT_OF_MEMORY") throw error;
      this.releaseCached();
      try {
        return this.driverAlloc(size);
      } catch (retryError) {
        if (retryError instanceof CudaError && retryError.statusName === "CUDA_ERROR_OUT_OF_MEMORY") {
          throw new CudaOutOfMemoryError(size, this.driver.memGetInfo().free, this.stats.inUse);
        }
        throw retryError;
      }
    }
  }

  private driverAlloc(size: number): DevicePtr {
    const ptr = this.driver.alloc(size);
    this.stats.reserved += size;
    this.stats.peakReserved = Math.max(this.stats.peakReserved, this.stats.reserved);
    this.stats.driverAllocations++;
    return ptr;
  }

  /** Gives every cached (unused) block back to the driver. */
  releaseCached(): void {
    for (const [size, list] of this.cache) {
      for (const ptr of list) {
        this.driver.call("cuMemFree", ptr);
        this.stats.reserved -= size;
      }
    }
    this.cache.clear();
  }

  memoryStats(): MemoryStats {
    return { ...this.stats };
  }

  resetPeak(): void {
    this.stats.peakInUse = this.stats.inUse;
    this.stats.peakReserved = this.stats.reserved;
  }
}
