import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** A folder of stand-in CUDA libraries (stand-in-cuda.c) and the environment that makes the engine load them. */
export interface StandInCuda {
  dir: string;
  /** AGENTTUNE_CUDA_LIB_DIR at the stand-ins, AGENTTUNE_CACHE_DIR at a cache of their own (their "kernels" are not real ones). */
  env: Record<string, string>;
  dispose(): void;
}

/**
 * Builds stand-ins for the CUDA driver, NVRTC, cuBLAS and NCCL with the C compiler `cc`: one library
 * under each name the engine looks for, every call returning success at once. Returns a reason
 * instead when there is no C compiler.
 */
export function buildStandInCuda(): StandInCuda | { skip: string } {
  const dir = mkdtempSync(join(tmpdir(), "agenttune-stand-in-cuda-"));
  const lib = join(dir, "libagenttune-stand-in.so");
  const source = join(dirname(fileURLToPath(import.meta.url)), "stand-in-cuda.c");
  try {
    execFileSync("cc", ["-O2", "-shared", "-fPIC", "-o", lib, source], { stdio: "pipe" });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `no C compiler to build the stand-in CUDA libraries (cc: ${(error as Error).message.split("\n")[0]})` };
  }
  for (const name of ["libcuda.so.1", "libnvrtc.so.12", "libcublas.so.12", "libnccl.so.2"]) symlinkSync(lib, join(dir, name));
  const cache = join(dir, "cache");
  mkdirSync(cache);
  return { dir, env: { AGENTTUNE_CUDA_LIB_DIR: dir, AGENTTUNE_CACHE_DIR: cache }, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
