import { type DevicePtr, loadKoffi } from "./ffi.js";

/** What a kernel parameter is, for packing the launch's argument block. */
export type ParamType = "ptr" | "i32" | "u32" | "f32" | "i64";

const TWO_32 = 2 ** 32;

/**
 * A kernel's arguments as cuLaunchKernel reads them, packed in place: one 8-byte slot a
 * parameter (`block`) and the table of the slots' addresses (`table`, the `void **kernelParams`),
 * both made once a kernel. A launch writes its values into the slots and hands the driver the one
 * table buffer. Handing koffi an array of slot buffers instead makes it build a pointer array on
 * every call, and BigInt writes cost more than two 32-bit ones: `npx tsx bench/kernel-args.ts`
 * times both ways.
 */
export class KernelArgs {
  /** The parameters' values, 8 bytes each (the driver copies them at the launch). */
  readonly block: Buffer;
  /** The slots' addresses: what cuLaunchKernel takes as `kernelParams`. */
  readonly table: Buffer;
  private readonly view: DataView;

  constructor(
    readonly kernel: string,
    readonly params: readonly ParamType[],
  ) {
    this.block = Buffer.alloc(8 * Math.max(params.length, 1));
    this.view = new DataView(this.block.buffer, this.block.byteOffset, this.block.byteLength);
    this.table = Buffer.alloc(8 * Math.max(params.length, 1));
    const base = BigInt(loadKoffi().address(this.block));
    for (let i = 0; i < params.length; i++) this.table.writeBigUInt64LE(base + BigInt(8 * i), 8 * i);
  }

  /** Writes `args` into the slots; returns the table to pass. Throws RangeError for a count or value the parameters cannot take. */
  pack(args: readonly (DevicePtr | number)[]): Buffer {
    const { params, view } = this;
    if (args.length !== params.length) throw new RangeError(`kernel ${this.kernel} takes ${params.length} arguments, got ${args.length}`);
    for (let i = 0; i < params.length; i++) {
      const value = args[i] as DevicePtr | number;
      const at = 8 * i;
      switch (params[i]) {
        case "ptr":
        case "i64":
          if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) {
            view.setUint32(at, value % TWO_32, true);
            view.setUint32(at + 4, Math.floor(value / TWO_32), true);
          } else {
            // negative, beyond 2^53 or a bigint: two's complement through BigInt (which refuses fractions)
            view.setBigUint64(at, BigInt.asUintN(64, BigInt(value)), true);
          }
          break;
        case "i32":
          view.setInt32(at, this.integer(value, i, -(2 ** 31), 2 ** 31 - 1), true);
          break;
        case "u32":
          view.setUint32(at, this.integer(value, i, 0, TWO_32 - 1), true);
          break;
        case "f32":
          view.setFloat32(at, Number(value), true);
          break;
      }
    }
    return this.table;
  }

  /** An int or uint argument within [min, max], a fraction cut toward zero as a C cast would. */
  private integer(value: DevicePtr | number, index: number, min: number, max: number): number {
    const n = Math.trunc(Number(value));
    if (!(n >= min && n <= max)) {
      throw new RangeError(`kernel ${this.kernel} argument ${index} (${this.params[index]}) must be in [${min}, ${max}], got ${value}`);
    }
    return n;
  }
}
