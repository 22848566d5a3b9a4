// Data-parallel training speed: bench/cuda-train.ts on one GPU, then as N ranks on N GPUs of this
// machine (one process a GPU, each its own batch × tokens, the LoRA gradients summed by NCCL on the
// device before every optimizer step), and the scaling between the two.
// Usage (on a machine with N GPUs; everything after -- goes to cuda-train):
//   node .devbuild/bench/cuda-train-dp.js --gpus 2 -- --config bench/configs/qwen2.5-7b.json --batch 4 --tokens 1024 --steps 7 --recompute selective
// Prints each run's JSON line as cuda-train prints it, then one comparison line:
// {"gpus":N,"one_gpu_tokens_per_s":…,"n_gpu_tokens_per_s":…,"scaling":…,"allreduce_ms":…,…}.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ncclUniqueId } from "../src/engine/cuda/nccl.js";
import { launchWorkers } from "../src/train/launch.js";

const split = process.argv.indexOf("--");
const own = split < 0 ? process.argv.slice(2) : process.argv.slice(2, split);
const passed = split < 0 ? [] : process.argv.slice(split + 1);
const { values } = parseArgs({ args: own, options: { gpus: { type: "string", default: "2" } } });
const gpus = Number(values.gpus);
if (!Number.isInteger(gpus) || gpus < 2) throw new Error(`--gpus must be a whole number ≥ 2, got ${values.gpus}`);

// the sibling script as this one runs (built .js, or .ts under tsx), with this node's flags
const script = [...process.execArgv, new URL(`./cuda-train${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url).pathname];
const work = mkdtempSync(join(tmpdir(), "agenttune-dp-bench-"));
type Line = { tokens_per_s: number; median_step_ms: number; peak_allocated_gib: number; allreduce_ms?: number; config: string; batch: number; tokens: number; recompute: string };
const read = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Line;
try {
  const single = join(work, "one.json");
  const one = spawnSync(process.execPath, [...script, ...passed, "--json-out", single], { stdio: "inherit" });
  if (one.status !== 0) throw new Error(`the one-GPU run failed (exit ${one.status})`);
  const multi = join(work, "n.json");
  const code = await launchWorkers({ world: gpus, ncclId: ncclUniqueId(), command: process.execPath, args: [...script, ...passed, "--json-out", multi], err: (t) => process.stderr.write(t) });
  if (code !== 0) throw new Error(`the ${gpus}-GPU run failed (exit ${code})`);
  const [a, b] = [read(single), read(multi)];
  console.log(
    JSON.stringify({
      config: a.config,
      batch: a.batch,
      tokens: a.tokens,
      recompute: a.recompute,
      gpus,
      one_gpu_tokens_per_s: a.tokens_per_s,
      n_gpu_tokens_per_s: b.tokens_per_s,
      scaling: Number((b.tokens_per_s / a.tokens_per_s).toFixed(3)),
      one_gpu_step_ms: a.median_step_ms,
      n_gpu_step_ms: b.median_step_ms,
      allreduce_ms: b.allreduce_ms,
      peak_allocated_gib: [a.peak_allocated_gib, b.peak_allocated_gib],
    }),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
