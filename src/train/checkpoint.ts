import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { basename, dirname, join } from "node:path";
import { AgentTuneError, FileFormatError } from "../errors.js";
import { openSafetensors, type SafetensorsWriteTensor, writeSafetensors } from "../model/safetensors.js";

/** Where training stands: enough to continue exactly where it stopped. */
export interface TrainState {
  /** Optimizer steps done (the scheduler's step). */
  step: number;
  /** AdamW's update count (skipped steps do not count). */
  adamT: number;
  epoch: number;
  /** Batches of `epoch` already consumed. */
  batchInEpoch: number;
  /** Steps in a row whose loss or gradient was NaN/Inf. */
  badSteps: number;
  /** Hash of the base model id and the training options; a resume must match it. */
  fingerprint: string;
  /** Micro-batches run so far over all ranks (absent in checkpoints of older runs). */
  microBatches?: number;
}

/** A checkpoint: the state plus every parameter and its two AdamW moments. */
export interface CheckpointData {
  state: TrainState;
  /** name → values. */
  params: Map<string, { shape: readonly number[]; value: Float32Array; m: Float32Array; v: Float32Array }>;
}

/** A resume folder that belongs to another model or other options. */
export class CheckpointMismatchError extends AgentTuneError {
  constructor(dir: string) {
    super(`${dir} is a checkpoint of another model or other training options`, {
      hint: "resume with the same --model, --data and options, or start a fresh --output-dir",
      exitCode: 2,
    });
  }
}

/** The file system calls a checkpoint write uses (tests replace them to simulate a full disk). */
export interface CheckpointFs {
  writeFileSync: typeof fs.writeFileSync;
  renameSync: typeof fs.renameSync;
}

/** A stable hash of any JSON value (object keys sorted). */
export function fingerprint(value: unknown): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canon) : v !== null && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])])) : v;
  return createHash("sha256").update(JSON.stringify(canon(value))).digest("hex");
}

const STATE = "trainer_state.json";
const TENSORS = "optimizer.safetensors";

/**
 * Writes `dir` atomically: everything goes to a temporary sibling folder first, which then
 * replaces `dir` by rename. If any write fails (a full disk), the temporary folder is removed
 * and the previous checkpoint in `dir` is left as it was.
 */
export function writeCheckpoint(dir: string, data: CheckpointData, fsImpl: CheckpointFs = fs): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  const old = `${dir}.old-${process.pid}`;
  // Leftovers of killed runs: unfinished temporary folders (never a complete checkpoint).
  const parent = dirname(dir);
  if (fs.existsSync(parent)) {
    for (const n of fs.readdirSync(parent)) if (n.startsWith(`${basename(dir)}.tmp-`)) fs.rmSync(join(parent, n), { recursive: true, force: true });
  }
  fs.mkdirSync(tmp, { recursive: true });
  try {
    const tensors: Record<string, SafetensorsWriteTensor> = {};
    for (const [name, p] of data.params) {
      tensors[`${name}`] = { dtype: "F32", shape: p.shape, data: p.value };
      tensors[`${name}.exp_avg`] = { dtype: "F32", shape: p.shape, data: p.m };
      tensors[`${name}.exp_avg_sq`] = { dtype: "F32", shape: p.shape, data: p.v };
    }
    writeSafetensors(join(tmp, TENSORS), tensors, { format: "pt" });
    fsImpl.writeFileSync(join(tmp, STATE), `${JSON.stringify({ ...data.state, params: [...data.params.keys()] }, null, 2)}\n`);
  } catch (error) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new AgentTuneError(`could not write the checkpoint ${dir}: ${(error as Error).message}`, {
      hint: "free disk space; the previous checkpoint is unchanged",
      cause: error,
    });
  }
  const hadOld = fs.existsSync(dir);
  if (hadOld) fsImpl.renameSync(dir, old);
  fsImpl.renameSync(tmp, dir);
  if (hadOld) fs.rmSync(old, { recursive: true, force: true });
  // A previous checkpoint moved aside by a killed run is stale now.
  if (fs.existsSync(parent)) {
    for (const n of fs.readdirSync(parent)) if (n.startsWith(`${basename(dir)}.old-`)) fs.rmSync(join(parent, n), { recursive: true, force: true });
  }
}

/**
 * The folder to resume from: `dir` itself, or, when a process was killed between the two
 * renames of writeCheckpoint, the previous checkpoint it had moved aside (`dir.old-PID`).
 * Undefined when there is neither.
 */
export function findCheckpoint(dir: string): string | undefined {
  if (fs.existsSync(dir)) return dir;
  const parent = dirname(dir);
  if (!fs.existsSync(parent)) return undefined;
  const prefix = `${basename(dir)}.old-`;
  const old = fs.readdirSync(parent).filter((n) => n.startsWith(prefix) && fs.existsSync(join(parent, n, STATE)));
  return old.length === 0 ? undefined : join(parent, old.sort()[old.length - 1]);
}

/** Reads a checkpoint folder written by writeCheckpoint. */
export function readCheckpoint(dir: string): CheckpointData {
  const statePath = join(dir, STATE);
  if (!fs.existsSync(statePath)) {
    throw new FileFormatError({ file: dir, problem: `no ${STATE}: not a training checkpoint`, hint: "point --resume at a folder written by agenttune train" });
  }
  let raw: TrainState & { params: string[] };
  try {
    raw = JSON.parse(fs.readFileSync(statePath, "utf8"));
  } catch (error) {
    throw new FileFormatError({ file: statePath, problem: "not valid JSON", cause: error });
  }
  const source = openSafetensors(join(dir, TENSORS));
  const params: CheckpointData["params"] = new Map();
  try {
    for (const name of raw.params) {
      const value = source.readTensor(name);
      const shape = source.tensor(name)?.shape ?? [value.length];
      params.set(name, { shape, value, m: source.readTensor(`${name}.exp_avg`), v: source.readTensor(`${name}.exp_avg_sq`) });
    }
  } finally {
    source.close();
  }
  const { params: _names, ...state } = raw;
  return { state, params };
}
