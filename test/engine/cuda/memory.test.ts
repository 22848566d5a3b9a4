// The caching allocator against a fake driver: no GPU needed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CudaError, CudaOutOfMemoryError } from "../../../src/engine/cuda/errors.js";
import { type AllocatorDriver, CachingAllocator, roundBlockSize } from "../../../src/engine/cuda/memory.js";

const MiB = 1 << 20;

/** A driver that hands out fake addresses from a budget of `capacity` bytes and logs every call. */
function fakeDriver(capacity = Number.POSITIVE_INFINITY) {
  let next = 4096;
  let used = 0;
  const live = new Map<number, number>();
  const calls: string[] = [];
  const driver: AllocatorDriver = {
    alloc(bytes: number) {
      calls.push("cuMemAlloc");
      if (used + bytes > capacity) throw new CudaError("cuMemAlloc", 2, "CUDA_ERROR_OUT_OF_MEMORY");
      const ptr = next;
      next += bytes;
      used += bytes;
      live.set(ptr, bytes);
      return ptr;
    },
    call(name: string, ...args: unknown[]) {
      calls.push(name);
      if (name === "cuMemFree") {
        const ptr = args[0] as number;
        const bytes = live.get(ptr);
        assert.ok(bytes !== undefined, `cuMemFree of ${ptr}, which is not allocated`);
        used -= bytes;
        live.delete(ptr);
      }
      return 0;
    },
    memGetInfo: () => ({ free: capacity - used, total: capacity }),
  } as AllocatorDriver;
  return { driver, calls, used: () => used, live };
}

test("block sizes: 512 B steps under 1 MiB, 2 MiB steps above", () => {
  assert.equal(roundBlockSize(1), 512);
  assert.equal(roundBlockSize(513), 1024);
  assert.equal(roundBlockSize(MiB + 1), 2 * MiB);
  assert.equal(roundBlockSize(5 * MiB), 6 * MiB);
  assert.equal(roundBlockSize(4096 * 18944 * 2), 148 * MiB); // a 7B MLP activation: nothing over
  assert.equal(roundBlockSize(148 * MiB + 1), 150 * MiB);
});

test("a freed block serves a later request up to twice smaller, without asking the driver", () => {
  const fake = fakeDriver();
  const memory = new CachingAllocator(fake.driver);
  const a = memory.alloc(40 * MiB);
  a.free();
  const b = memory.alloc(35 * MiB); // rounds to 36 MiB; the cached 40 MiB block holds it
  assert.equal(b.ptr, a.ptr);
  assert.equal(memory.memoryStats().inUse, 36 * MiB); // what was asked, rounded, as torch counts it
  assert.equal(memory.memoryStats().reserved, 40 * MiB);
  b.free();
  const c = memory.alloc(19 * MiB); // but not a request under half its size
  assert.notEqual(c.ptr, a.ptr);
  assert.equal(memory.memoryStats().driverAllocations, 2);
});

test("steps whose buffer sizes follow the batch keep the reserved memory near the peak in use", () => {
  // A training step's buffers scale with the batch's length and scored rows: a different size
  // each step. Exact-size caching kept a block of every size ever seen (70 GiB for one run).
  const fake = fakeDriver();
  const memory = new CachingAllocator(fake.driver);
  let seed = 7;
  const rand = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  for (let step = 0; step < 500; step++) {
    const rows = 64 + Math.floor(rand() * 1900);
    const buffers = [rows * 262_144 * 2, rows * 640 * 4, rows * 2048 * 2, 1000].map((bytes) => memory.alloc(bytes));
    for (const b of buffers) b.free();
  }
  const stats = memory.memoryStats();
  assert.ok(stats.reserved <= 3 * stats.peakInUse, `reserved ${stats.reserved / MiB} MiB, peak in use ${stats.peakInUse / MiB} MiB`);
  assert.equal(fake.used(), stats.reserved);
  assert.ok(stats.driverAllocations < 250, `${stats.driverAllocations} driver allocations in 500 steps`);
});

test("the device is synchronised before cached blocks go back to the driver", () => {
  const fake = fakeDriver();
  const memory = new CachingAllocator(fake.driver, { cacheLimitBytes: 0 });
  memory.alloc(8 * MiB).free();
  const free = fake.calls.indexOf("cuMemFree");
  assert.ok(free > 0, "the block went back to the driver");
  assert.equal(fake.calls[free - 1], "cuCtxSynchronize");
  assert.equal(memory.cached, 0);
  assert.equal(memory.memoryStats().reserved, 0);
});

test("out of memory: the cache goes back first, then the error says what was asked and what is free", () => {
  const fake = fakeDriver(300 * MiB);
  const memory = new CachingAllocator(fake.driver, { cacheLimitBytes: 1024 * MiB });
  memory.alloc(200 * MiB).free(); // cached
  const held = memory.alloc(120 * MiB); // fits only once the cached 200 MiB block is freed
  assert.equal(fake.live.size, 1);
  assert.throws(() => memory.alloc(250 * MiB), (e: unknown) => e instanceof CudaOutOfMemoryError && /asked for/.test(e.message));
  held.free();
});

test("out of memory while other processes hold most of the GPU says so in the error and the hint", () => {
  const fake = fakeDriver(10 * 1024 * MiB);
  const memory = new CachingAllocator(fake.driver);
  fake.driver.alloc(9 * 1024 * MiB); // another process's 9 GiB
  const mine = memory.alloc(512 * MiB);
  assert.throws(
    () => memory.alloc(1024 * MiB),
    (e: unknown) => e instanceof CudaOutOfMemoryError && /9\.00 GiB by others/.test(e.message) && /other processes/.test(e.hint ?? ""),
  );
  mine.free();
});
