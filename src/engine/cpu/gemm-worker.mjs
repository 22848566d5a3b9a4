// A worker thread of the WASM GEMM route: runs its share of the B panels of each product the main
// thread posts through the shared control block (layout: CTL in gemm-wasm-module.ts), then reports
// it done. Plain JavaScript so that it loads the same way from src/ (under tsx) and from dist/.
import { workerData } from "node:worker_threads";

const SEQ = 0;
const PARAMS = 1;
const RANGE = 16;
const DONE = 32;
const READY = 48;

const { module, memory, control, index } = workerData;
const gemm = new WebAssembly.Instance(module, { env: { memory } }).exports.gemm;
const ctl = new Int32Array(control);
Atomics.store(ctl, READY + index, 1);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, SEQ, seen);
  const seq = Atomics.load(ctl, SEQ);
  if (seq < 0) break;
  if (seq === seen) continue;
  seen = seq;
  const jp0 = ctl[RANGE + 2 * index];
  const jp1 = ctl[RANGE + 2 * index + 1];
  if (jp1 > jp0) gemm(ctl[PARAMS], ctl[PARAMS + 1], ctl[PARAMS + 2], ctl[PARAMS + 3], ctl[PARAMS + 4], ctl[PARAMS + 5], ctl[PARAMS + 6], jp0, jp1);
  Atomics.store(ctl, DONE + index, seq);
  Atomics.notify(ctl, DONE + index);
}
