import { createRequire } from "node:module";

/**
 * koffi, loaded lazily: the CPU-only paths of AgentTune never touch it, and a platform without
 * its prebuilt binary only fails when the CUDA backend is asked for.
 */
// biome-ignore lint/suspicious/noExplicitAny: koffi's types are loose by nature
export type KoffiLib = { func(prototype: string): (...args: any[]) => any };
// biome-ignore lint/suspicious/noExplicitAny: see above
export type Koffi = { load(path: string): KoffiLib; [key: string]: any };

let koffi: Koffi | undefined;
export function loadKoffi(): Koffi {
  if (!koffi) koffi = createRequire(import.meta.url)("koffi") as Koffi;
  return koffi;
}

/** A device pointer (CUdeviceptr) as koffi hands it back: a number below 2^53, else a bigint. */
export type DevicePtr = number | bigint;

/** ptr + bytes, as a DevicePtr: a number while it stays below 2^53, else a bigint. */
export function offsetPtr(ptr: DevicePtr, bytes: number): DevicePtr {
  if (typeof ptr === "number" && Number.isSafeInteger(ptr + bytes)) return ptr + bytes;
  return BigInt(ptr) + BigInt(bytes);
}
