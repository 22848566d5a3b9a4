// Copies the CUDA kernel sources next to the compiled modules (tsc copies only .ts outputs).
// A build that compiled the tests (the device build) gets the tests' own kernels too.
import { cpSync, existsSync } from "node:fs";
const outDir = process.argv[2] ?? "dist";
cpSync("src/engine/cuda/kernels", `${outDir}/src/engine/cuda/kernels`, { recursive: true });
if (existsSync(`${outDir}/test/engine/cuda`)) cpSync("test/engine/cuda/kernels", `${outDir}/test/engine/cuda/kernels`, { recursive: true });
