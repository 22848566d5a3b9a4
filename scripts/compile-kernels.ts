// Compiles every CUDA kernel source with NVRTC, without a GPU: NVRTC is a compiler library and
// needs no driver, so a kernel edit can be checked for errors before device time is spent on it.
// Prints each file's kernels (the extern "C" entry points found in its image) or NVRTC's log.
//
// With --resources it also prints ptxas's report for each kernel (registers, spills, shared memory).
//
// Run: AGENTTUNE_CUDA_LIB_DIR=<folder with libnvrtc.so.12> npx tsx scripts/compile-kernels.ts [--arch sm_90] [--resources]
// (libnvrtc comes with the CUDA toolkit, or from the nvidia-cuda-nvrtc-cu12 wheel's nvidia/cuda_nvrtc/lib)
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { kernelSourceIn, sourceArch } from "../src/engine/cuda/kernel-source.js";
import { Nvrtc } from "../src/engine/cuda/nvrtc.js";

const archAt = process.argv.indexOf("--arch");
const arch = archAt >= 0 ? (process.argv[archAt + 1] ?? "sm_90") : "sm_90";
const resources = process.argv.includes("--resources");
const nvrtc = new Nvrtc();
console.log(`NVRTC ${nvrtc.version} (${nvrtc.path}), ${arch}`);
let failed = 0;
// the backend's kernels and the tests' own; a file with a `// needs: sm_90a` line (wgmma) is
// compiled for that architecture instead
const folders = [fileURLToPath(new URL("../src/engine/cuda/kernels/", import.meta.url)), fileURLToPath(new URL("../test/engine/cuda/kernels/", import.meta.url))];
for (const folder of folders)
for (const file of readdirSync(folder)
  .filter((f) => f.endsWith(".cu"))
  .sort()) {
  // entry points written out (a macro-made name, `name##D`, is left to the image's load on a GPU)
  const declared = [...readFileSync(`${folder}${file}`, "utf8").matchAll(/extern "C" __global__ void (?:__launch_bounds__\([^)]*\)\s*)?(\w+)((?:##\w+)+)?\(/g)]
    .filter((m) => m[2] === undefined)
    .map((m) => m[1] as string);
  try {
    const source = kernelSourceIn(pathToFileURL(folder), file);
    const fileArch = sourceArch(source, arch);
    const { image, log } = nvrtc.compileWithLog(source, file, fileArch, resources ? ["-Xptxas", "-v"] : [], false);
    // an entry point's name is in the image's string table, NUL-terminated
    const missing = declared.filter((name) => !image.includes(Buffer.from(`${name}\0`)));
    if (missing.length > 0) throw new Error(`not in the image: ${missing.join(", ")}`);
    console.log(`ok   ${file} (${fileArch}): ${declared.join(", ")}`);
    // ptxas: each kernel, its stack/spill line, its registers line, and any note about wgmma (serialised products)
    if (resources) for (const line of log.split("\n").filter((l) => /Compiling entry|spill|Used \d+ registers|wgmma/.test(l))) console.log(`       ${line.trim()}`);
  } catch (error) {
    failed++;
    console.log(`FAIL ${file}: ${(error as Error).message}`);
  }
}
if (failed > 0) {
  console.log(`${failed} file(s) failed`);
  process.exitCode = 1;
}
