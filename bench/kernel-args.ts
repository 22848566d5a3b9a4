// The host cost of a kernel launch's arguments, the two ways: an array of 8-byte slot buffers with
// BigInt writes (koffi builds a pointer array from it on every call), against KernelArgs (DataView
// writes, one prebuilt table of the slots' addresses). Twelve arguments, nine of them pointers.
// The driver is not needed: the call is a libc function declared with the same `void **` parameter
// (strlen reads the table's first bytes and stops at a zero byte), so what is timed is the packing
// and koffi's conversion of that parameter; cuLaunchKernel's other ten arguments are the same both ways.
// Usage: npx tsx bench/kernel-args.ts [--calls 200000]
import { loadKoffi } from "../src/engine/cuda/ffi.js";
import { KernelArgs, type ParamType } from "../src/engine/cuda/kernel-args.js";

const at = process.argv.indexOf("--calls");
const calls = at >= 0 ? Number(process.argv[at + 1]) : 200_000;
const koffi = loadKoffi();
const libc = koffi.load(process.platform === "darwin" ? "libc.dylib" : "libc.so.6");
const call = libc.func("size_t strlen(void **s)");
const params: ParamType[] = ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "f32"];
const values = params.map((p, i) => (p === "ptr" ? 0x7f00_0000_0000 + i * 4096 : p === "f32" ? 0.5 : 1024 + i));

const block = Buffer.alloc(8 * params.length);
const slots = params.map((_, i) => block.subarray(8 * i, 8 * i + 8));
function slotArrayLaunch(): void {
  for (let i = 0; i < params.length; i++) {
    const v = values[i] as number;
    if (params[i] === "ptr") slots[i]?.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)));
    else if (params[i] === "i32") slots[i]?.writeInt32LE(v);
    else slots[i]?.writeFloatLE(v);
  }
  call(slots);
}
const args = new KernelArgs("bench", params);
const tableLaunch = (): void => call(args.pack(values));

function microseconds(launch: () => void): number {
  for (let i = 0; i < 20_000; i++) launch();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) launch();
  return Number(process.hrtime.bigint() - t0) / 1e3 / calls;
}
console.log(`node ${process.version}, ${new Date().toISOString()}, ${calls} calls each`);
const [a, b] = [microseconds(slotArrayLaunch), microseconds(tableLaunch)];
console.log(`| arguments | slot array + BigInt writes µs | KernelArgs table µs | ratio |\n| --- | ---: | ---: | ---: |\n| 12 (9 pointers) | ${a.toFixed(3)} | ${b.toFixed(3)} | ${(a / b).toFixed(1)}× |`);
