import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadKoffi } from "../../../src/engine/cuda/ffi.js";
import { KernelArgs, type ParamType } from "../../../src/engine/cuda/kernel-args.js";

const koffi = loadKoffi();
const C_TYPE: Record<ParamType, string> = { ptr: "uint64_t", i64: "int64_t", i32: "int32_t", u32: "uint32_t", f32: "float" };

/** What the driver sees: for each parameter, the value at the address the table holds, as its C type (64-bit ones as bigint). */
function throughTable(table: Buffer, params: ParamType[]): (number | bigint)[] {
  return params.map((p, i) => {
    const value = koffi.decode(table.readBigUInt64LE(8 * i), C_TYPE[p]) as number | bigint;
    return p === "ptr" || p === "i64" ? BigInt(value) : value;
  });
}

describe("kernel arguments (KernelArgs)", () => {
  const params: ParamType[] = ["ptr", "ptr", "ptr", "i64", "i32", "u32", "f32"];
  const args = new KernelArgs("probe", params);

  it("the table points at each parameter's value, written as its C type", () => {
    const table = args.pack([0x7f12_3456_7000, 2 ** 53 + 2 ** 40, 2n ** 63n + 5n, -3, -7, 2 ** 32 - 1, 0.1]);
    assert.deepEqual(throughTable(table, params), [
      BigInt(0x7f12_3456_7000),
      BigInt(2 ** 53 + 2 ** 40),
      2n ** 63n + 5n,
      -3n,
      -7,
      2 ** 32 - 1,
      Math.fround(0.1),
    ]);
  });

  it("writes the same bytes as Buffer's own writers, and reuses its buffers launch after launch", () => {
    const first = args.pack([1, 2, 3, 4, 5, 6, 7]);
    const second = args.pack([4096, 2 ** 40 + 17, 0, -(2 ** 40), 2 ** 31 - 1, 0, -2.5]);
    assert.equal(second, first, "one table for every launch");
    const want = Buffer.alloc(8 * params.length);
    want.writeBigUInt64LE(4096n, 0);
    want.writeBigUInt64LE(BigInt(2 ** 40 + 17), 8);
    want.writeBigUInt64LE(0n, 16);
    want.writeBigInt64LE(-(2n ** 40n), 24);
    want.writeInt32LE(2 ** 31 - 1, 32);
    want.writeUInt32LE(0, 40);
    want.writeFloatLE(-2.5, 48);
    for (let i = 0; i < params.length; i++) {
      const size = params[i] === "ptr" || params[i] === "i64" ? 8 : 4;
      assert.deepEqual(args.block.subarray(8 * i, 8 * i + size), want.subarray(8 * i, 8 * i + size), `argument ${i} (${params[i]})`);
    }
  });

  it("cuts an integer argument's fraction toward zero, as a C cast", () => {
    const ints = new KernelArgs("ints", ["i32", "u32"]);
    assert.deepEqual(throughTable(ints.pack([-2.7, 9.9]), ["i32", "u32"]), [-2, 9]);
  });

  it("refuses a wrong count, an integer out of range, NaN and a fractional pointer, naming the kernel and argument", () => {
    assert.throws(() => args.pack([1, 2, 3]), { name: "RangeError", message: /kernel probe takes 7 arguments, got 3/ });
    const ints = new KernelArgs("ints", ["i32", "u32"]);
    assert.throws(() => ints.pack([2 ** 31, 0]), { name: "RangeError", message: /kernel ints argument 0 \(i32\) must be in \[-2147483648, 2147483647\], got 2147483648/ });
    assert.throws(() => ints.pack([0, -1]), { name: "RangeError", message: /argument 1 \(u32\)/ });
    assert.throws(() => ints.pack([Number.NaN, 0]), { name: "RangeError", message: /argument 0 \(i32\).*got NaN/ });
    assert.throws(() => new KernelArgs("p", ["ptr"]).pack([1.5]), RangeError);
  });

  it("a kernel without parameters packs an empty table", () => {
    const none = new KernelArgs("none", []);
    assert.equal(none.pack([]), none.table, "the one table, never a fresh buffer");
    assert.equal(none.table.length, 8, "one slot's room, so the driver is handed a real buffer");
    assert.throws(() => none.pack([1]), /takes 0 arguments, got 1/);
  });
});
