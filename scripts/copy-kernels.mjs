// Copies the CUDA kernel sources next to the compiled modules (tsc copies only .ts outputs).
import { cpSync } from "node:fs";
const outDir = process.argv[2] ?? "dist";
cpSync("src/engine/cuda/kernels", `${outDir}/src/engine/cuda/kernels`, { recursive: true });
