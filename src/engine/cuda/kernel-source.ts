import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * Reads a kernel source from src/engine/cuda/kernels/ (copied beside the built module by the
 * build) with the shared helpers of common.cuh in front.
 */
export function kernelSource(name: string): string {
  const read = (file: string) => readFileSync(fileURLToPath(new URL(`./kernels/${file}`, import.meta.url)), "utf8");
  return `${read("common.cuh")}\n#line 1 "${name}"\n${read(name)}`;
}
