// The caching allocator against a fake driver (no GPU): training-like steps whose largest buffers
// follow a random number of rows, as the loss head's scored rows and the batch's length make
// them. Prints, for the default cache limit and fixed ones, how many requests went to the driver,
// how many trims synchronised the device, and the most reserved against the peak in use.
// Run: npx tsx bench/allocator-churn.ts [--steps 500]
import { type AllocatorDriver, CachingAllocator } from "../src/engine/cuda/memory.js";
import { arg } from "./args.js";

const steps = Number(arg("steps", "500"));
const MiB = 2 ** 20;

function run(cacheLimitBytes?: number) {
  let next = 4096;
  let used = 0;
  let maxUsed = 0;
  let syncs = 0;
  const live = new Map<number, number>();
  const driver = {
    alloc(bytes: number) {
      const ptr = next;
      next += bytes;
      used += bytes;
      maxUsed = Math.max(maxUsed, used);
      live.set(ptr, bytes);
      return ptr;
    },
    call(name: string, ptr: number) {
      if (name === "cuCtxSynchronize") syncs++;
      if (name === "cuMemFree") {
        used -= live.get(ptr) ?? 0;
        live.delete(ptr);
      }
      return 0;
    },
    memGetInfo: () => ({ free: Number.MAX_SAFE_INTEGER, total: Number.MAX_SAFE_INTEGER }),
  } as unknown as AllocatorDriver;
  const memory = new CachingAllocator(driver, cacheLimitBytes === undefined ? {} : { cacheLimitBytes });
  let seed = 7;
  const rand = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  for (let step = 0; step < steps; step++) {
    const rows = 64 + Math.floor(rand() * 1900);
    // logits of a 262k vocabulary, two activations, one small buffer
    const buffers = [rows * 262_144 * 2, rows * 640 * 4, rows * 2048 * 2, 1000].map((bytes) => memory.alloc(bytes));
    for (const b of buffers) b.free();
  }
  const stats = memory.memoryStats();
  return { driverAllocations: stats.driverAllocations, syncs, peakInUse: stats.peakInUse, maxReserved: maxUsed };
}

const peak = run().peakInUse;
console.log(`${steps} steps, 4 requests a step; peak in use ${(peak / MiB).toFixed(0)} MiB`);
console.log("| cache limit | driver allocations | synchronising trims | most reserved ÷ peak in use |");
console.log("| --- | ---: | ---: | ---: |");
for (const [label, limit] of [["default (2 × peak in use so far)", undefined], ["1 × peak", peak], ["1.5 × peak", 1.5 * peak], ["2 × peak", 2 * peak], ["3 × peak", 3 * peak]] as const) {
  const r = run(limit);
  console.log(`| ${label} | ${r.driverAllocations} | ${r.syncs} | ${(r.maxReserved / r.peakInUse).toFixed(2)} |`);
}
