// The host's share of the CUDA backend's work, measured on any machine: builds stand-ins for the
// CUDA driver, NVRTC and cuBLAS that return at once (bench/host-overhead/stand-in-cuda.c, with the
// C compiler `cc`), then runs a benchmark against them (bench/decode-gpu.ts unless a script is
// named). Every launch, copy and GEMM then costs only what the host spends on it, so the rate printed
// is the most the host lets the GPU reach; beside the rate measured on a GPU it says which side
// bounds it.
// Usage: npx tsx bench/host-overhead.ts [decode-gpu flags, e.g. --prompt 300 --new 64]
//        npx tsx bench/host-overhead.ts bench/decode-batch.ts [its arguments; cuda is the backend]
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
  const [first, ...rest] = process.argv.slice(2);
  const script = first?.endsWith(".ts") ? [first, ...rest] : [join(here, "decode-gpu.ts"), "--backend", "cuda", ...process.argv.slice(2)];
  execFileSync(process.execPath, ["--import", "tsx", ...script], {
    stdio: "inherit",
    // the stand-ins first on the search path; compiled "kernels" go to a cache of their own
    env: { ...process.env, AGENTTUNE_CUDA_LIB_DIR: dir, AGENTTUNE_CACHE_DIR: cache },
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
