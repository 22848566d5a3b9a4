import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** src/engine/cuda/kernels/ (copied beside the built module by the build). */
const KERNELS = new URL("./kernels/", import.meta.url);

/**
 * Reads a kernel source from src/engine/cuda/kernels/ with the shared helpers of common.cuh in
 * front, and the headers of that folder its `// uses: a.cuh, b.cuh` line names (NVRTC is given no
 * include path, so the headers are pasted in).
 */
export function kernelSource(name: string): string {
  return kernelSourceIn(KERNELS, name);
}

/**
 * The architecture a kernel source is compiled for: the one its `// needs: sm_90a` line names
 * (wgmma and the other instructions plain sm_90 lacks), else `deviceArch`.
 */
export function sourceArch(source: string, deviceArch: string): string {
  return /^\/\/ needs: (\S+)$/m.exec(source)?.[1] ?? deviceArch;
}

/** kernelSource for a `.cu` file of another folder (the tests' own kernels); headers still come from src. */
export function kernelSourceIn(folder: URL, name: string): string {
  const read = (dir: URL, file: string) => readFileSync(fileURLToPath(new URL(file, dir)), "utf8");
  const body = read(folder, name);
  const headers = (/^\/\/ uses: (.+)$/m.exec(body)?.[1] ?? "")
    .split(",")
    .map((h) => h.trim())
    .filter((h) => h !== "");
  const pasted = headers.map((h) => `#line 1 "${h}"\n${read(KERNELS, h)}`).join("\n");
  return `${read(KERNELS, "common.cuh")}\n${pasted}\n#line 1 "${name}"\n${body}`;
}
