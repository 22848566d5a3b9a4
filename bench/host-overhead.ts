// The host's share of the CUDA backend's work, measured on any machine: builds stand-ins for the
// CUDA driver, NVRTC and cuBLAS that return at once (bench/host-overhead/stand-in-cuda.c, with the
// C compiler `cc`), then runs bench/decode-gpu.ts against them. Every launch, copy and GEMM then
// costs only what the host spends on it, so the decode rate printed is the most the host lets the
// GPU reach for that model, batch 1; beside the rate measured on a GPU it says which side bounds it.
// Usage: npx tsx bench/host-overhead.ts [decode-gpu flags, e.g. --config bench/configs/smollm2-135m.json --prompt 300 --new 64]
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "agenttune-stand-in-cuda-"));
try {
  const lib = join(dir, "libagenttune-stand-in.so");
  try {
    execFileSync("cc", ["-O2", "-shared", "-fPIC", "-o", lib, join(here, "host-overhead", "stand-in-cuda.c")], { stdio: "inherit" });
  } catch (error) {
    throw new Error(`could not build the stand-in libraries with cc (${(error as Error).message}); install a C compiler (gcc) and run again`);
  }
  // one library answers for all of them, under each name the engine looks for
  for (const name of ["libcuda.so.1", "libnvrtc.so.12", "libcublas.so.12"]) symlinkSync(lib, join(dir, name));
  const cache = join(dir, "cache");
  mkdirSync(cache);
  execFileSync(process.execPath, ["--import", "tsx", join(here, "decode-gpu.ts"), "--backend", "cuda", ...process.argv.slice(2)], {
    stdio: "inherit",
    // the stand-ins first on the search path; compiled "kernels" go to a cache of their own
    env: { ...process.env, AGENTTUNE_CUDA_LIB_DIR: dir, AGENTTUNE_CACHE_DIR: cache },
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
