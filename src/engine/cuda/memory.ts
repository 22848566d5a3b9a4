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
  /** Bytes handed out now: each request rounded (roundBlockSize), though a larger cached block may hold it. */
  inUse: number;
  peakInUse: number;
  /** Bytes of the blocks held from the driver (handed out or cached). */
  reserved: number;
  peakReserved: number;
  driverAllocations: number;
}

const SMALL = 1 << 20;
const SMALL_ROUND = 512;
const LARGE_ROUND = 2 << 20;
/** Above this a cached block up to twice the size asked may serve a request. */
const MEDIUM = 32 << 20;
/** A cache smaller than this is never trimmed, whatever the peak in use. */
const MIN_CACHE_LIMIT = 512 << 20;

/**
 * Block sizes are rounded so that freed blocks fit later requests of about the same size: to
 * 512 B under 1 MiB, to 2 MiB above (as PyTorch's allocator rounds). Coarser classes would waste
 * up to their step on every large buffer (an eighth of an octave: up to 12.5 %, about 8 % on a
 * 7B MLP activation), which the memory targets cannot spare; steps whose sizes change find
 * their blocks by best fit instead (`fromCache`).
 */
export function roundBlockSize(bytes: number): number {
  const b = Math.max(bytes, 1);
  return b < SMALL ? Math.ceil(b / SMALL_ROUND) * SMALL_ROUND : Math.ceil(b / LARGE_ROUND) * LARGE_ROUND;
}

/** The driver calls the allocator makes (a fake stands in for it in tests without a GPU). */
export type AllocatorDriver = Pick<CudaDriver, "alloc" | "call" | "memGetInfo">;

export interface AllocatorOptions {
  /**
   * Most bytes kept in freed blocks; above it the least recently used sizes go back to the
   * driver. Default: twice the peak in use so far (at least 512 MiB), so a process holds at most
   * about three times what it ever used at once, and a GPU shared by several processes is not
   * filled by one process's cache. (With sizes that change every step, a
   * limit of one peak sends 711 of 2000 requests to the driver against 240: bench/allocator-churn.ts.)
   */
  cacheLimitBytes?: number;
}

interface SizeClass {
  blocks: DevicePtr[];
  lastUse: number;
}

/**
 * A caching allocator in the spirit of PyTorch's: cuMemAlloc/cuMemFree synchronise the device and
 * cost tens of microseconds, so freed blocks are kept per size and reused. The cache is trimmed
 * when it outgrows its limit. On out-of-memory the cache is released to the driver and the
 * allocation retried once before a CudaOutOfMemoryError that says what was asked and what is free.
 */
export class CachingAllocator {
  private readonly cache = new Map<number, SizeClass>();
  private cachedBytes = 0;
  private uses = 0;
  private highWater = 0;
  private readonly stats: MemoryStats = { inUse: 0, peakInUse: 0, reserved: 0, peakReserved: 0, driverAllocations: 0 };

  constructor(
    private readonly driver: AllocatorDriver,
    private readonly options: AllocatorOptions = {},
  ) {}

  alloc(bytes: number): DeviceBuffer {
    const wanted = roundBlockSize(bytes);
    const [size, ptr] = this.fromCache(wanted) ?? [wanted, this.fromDriver(wanted)];
    // in use counts what was asked (rounded), as torch's memory_allocated does; reserved counts blocks
    this.stats.inUse += wanted;
    this.stats.peakInUse = Math.max(this.stats.peakInUse, this.stats.inUse);
    this.highWater = Math.max(this.highWater, this.stats.inUse);
    let freed = false;
    return {
      ptr,
      bytes,
      free: () => {
        if (freed) return;
        freed = true;
        this.stats.inUse -= wanted;
        this.toCache(size, ptr);
      },
    };
  }

  /**
   * A cached block for a request of `size` bytes, with its own size: one of that size, else for
   * large requests one of the smallest cached size up to twice as large (a step of another length
   * finds the blocks of the step before it), else none.
   */
  private fromCache(size: number): [number, DevicePtr] | undefined {
    let best = (this.cache.get(size)?.blocks.length ?? 0) > 0 ? size : undefined;
    if (best === undefined && size > MEDIUM) {
      for (const [other, sizeClass] of this.cache) {
        if (other > size && other <= 2 * size && sizeClass.blocks.length > 0 && (best === undefined || other < best)) best = other;
      }
    }
    const ptr = best === undefined ? undefined : this.cache.get(best)?.blocks.pop();
    if (best === undefined || ptr === undefined) return undefined;
    this.cachedBytes -= best;
    return [best, ptr];
  }

  private toCache(size: number, ptr: DevicePtr): void {
    let sizeClass = this.cache.get(size);
    if (!sizeClass) {
      sizeClass = { blocks: [], lastUse: 0 };
      this.cache.set(size, sizeClass);
    }
    sizeClass.blocks.push(ptr);
    sizeClass.lastUse = ++this.uses;
    this.cachedBytes += size;
    const limit = this.cacheLimit();
    if (this.cachedBytes > limit) this.trim(limit);
  }

  private cacheLimit(): number {
    return this.options.cacheLimitBytes ?? Math.max(2 * this.highWater, MIN_CACHE_LIMIT);
  }

  /** Frees the least recently used sizes' blocks until at most `limit` bytes are cached. */
  private trim(limit: number): void {
    // cuMemFree of a block that a queued kernel still reads is not ordered on our stream
    this.driver.call("cuCtxSynchronize");
    const oldestFirst = [...this.cache.entries()].sort((a, b) => a[1].lastUse - b[1].lastUse);
    for (const [size, sizeClass] of oldestFirst) {
      while (this.cachedBytes > limit && sizeClass.blocks.length > 0) {
        this.driver.call("cuMemFree", sizeClass.blocks.pop());
        this.cachedBytes -= size;
        this.stats.reserved -= size;
      }
      if (sizeClass.blocks.length === 0) this.cache.delete(size);
      if (this.cachedBytes <= limit) return;
    }
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
          const { free, total } = this.driver.memGetInfo();
          throw new CudaOutOfMemoryError(size, free, this.stats.inUse, this.stats.reserved, total);
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
    if (this.cachedBytes > 0) this.trim(0);
    this.cache.clear();
  }

  /** Bytes held in freed blocks, ready for reuse. */
  get cached(): number {
    return this.cachedBytes;
  }

  memoryStats(): MemoryStats {
    return { ...this.stats };
  }

  resetPeak(): void {
    this.stats.peakInUse = this.stats.inUse;
    this.stats.peakReserved = this.stats.reserved;
  }
}
