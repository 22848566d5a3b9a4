// The host's share of the CUDA backend's work, measured on any machine: builds stand-ins for the
// CUDA driver, NVRTC and cuBLAS that return at once (test/helpers/stand-in-cuda.c, with the C
// compiler `cc`), then runs a benchmark against them (bench/decode-gpu.ts unless a script is
// named). Every launch, copy and GEMM then costs only what the host spends on it, so the rate printed
// is the most the host lets the GPU reach; beside the rate measured on a GPU it says which side
// bounds it.
// Usage: npx tsx bench/host-overhead.ts [decode-gpu flags, e.g. --prompt 300 --new 64]
//        npx tsx bench/host-overhead.ts bench/decode-batch.ts [its arguments; cuda is the backend]
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildStandInCuda } from "../test/helpers/stand-in-cuda.js";

const here = dirname(fileURLToPath(import.meta.url));
const standIn = buildStandInCuda();
if ("skip" in standIn) throw new Error(`${standIn.skip}; install a C compiler (gcc) and run again`);
try {
  const [first, ...rest] = process.argv.slice(2);
  const script = first?.endsWith(".ts") ? [first, ...rest] : [join(here, "decode-gpu.ts"), "--backend", "cuda", ...process.argv.slice(2)];
  execFileSync(process.execPath, ["--import", "tsx", ...script], { stdio: "inherit", env: { ...process.env, ...standIn.env } });
} finally {
  standIn.dispose();
}
