// The conformance suite on the CUDA backend, with bf16 tolerances. Skips, saying why, where there
// is no CUDA backend implementing the engine's Backend interface yet, or no GPU.
import { test } from "node:test";
import type { Backend } from "../../src/engine/backend.js";
import { runConformance } from "./conformance.js";

const modulePath = "../../src/engine/cuda/backend.js";
let reason: string | null = null;
let factory: (() => Backend | Promise<Backend>) | null = null;
try {
  const mod = (await import(modulePath)) as { createCudaBackend?: () => Backend | Promise<Backend> };
  if (typeof mod.createCudaBackend !== "function") reason = `${modulePath} exports no createCudaBackend()`;
  else {
    // probe the GPU once: a machine without driver or device skips here
    const be = await mod.createCudaBackend();
    be.dispose();
    factory = mod.createCudaBackend;
  }
} catch (err) {
  reason = `no CUDA backend here: ${(err as Error).message.split("\n")[0]}`;
}

if (factory) runConformance("cuda", factory, { rtol: 2e-2, atol: 2e-2, fdTolerance: 5e-2 });
else test("cuda backend conformance", { skip: reason ?? "no CUDA backend" }, () => {});
