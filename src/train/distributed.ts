// Data-parallel training: W ranks (one process a GPU) each run a share of every step's
// micro-batches and sum their gradients before the optimizer, so every rank applies the same
// update and the run follows the loss curve of one rank with the same global batch.
//
// Step k's micro-batches are the same list on every rank (the order depends only on the seed);
// rank r runs those at positions r, r + W, r + 2W, … . The loss scale (1 / the step's target
// tokens) is computed from the whole list, so the summed gradients equal one rank's exactly up to
// the order of the additions. Only rank 0 writes the log, checkpoints and the adapter.

import type { Handle } from "../engine/cuda/driver.js";
import type { DevicePtr } from "../engine/cuda/ffi.js";
import { InvalidInputError } from "../errors.js";

/** Sums arrays over the ranks of a group. */
export interface GradientReducer {
  readonly rank: number;
  readonly world: number;
  /** Replaces each array, on every rank, by its elementwise sum over all ranks. Arrays are given in the same order on every rank. */
  allReduceSum(values: readonly Float32Array[]): Promise<void>;
  close?(): void;
}

/** A reducer that can also sum a GPU buffer over the ranks in place (NcclReducer). */
export interface DeviceGradientReducer extends GradientReducer {
  /**
   * Replaces `count` fp32 values at `ptr` by their sum over the ranks, queued on `stream` (the
   * caller's, in the same CUDA context as the reducer's GPU); the caller synchronises.
   */
  allReduceSumDevice(ptr: DevicePtr, count: number, stream: Handle): void;
}

export function isDeviceGradientReducer(reducer: GradientReducer): reducer is DeviceGradientReducer {
  return typeof (reducer as Partial<DeviceGradientReducer>).allReduceSumDevice === "function";
}

/** The distributed part of the trainer's options. */
export interface DistributedOptions {
  reducer: GradientReducer;
}

/** The positions of a step's micro-batches this rank runs: rank, rank + world, … */
export function rankShare(count: number, rank: number, world: number): number[] {
  if (!Number.isInteger(world) || world < 1) throw new InvalidInputError(`the world size must be a whole number ≥ 1, got ${world}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= world) throw new InvalidInputError(`rank ${rank} is outside a world of ${world}`);
  const out: number[] = [];
  for (let i = rank; i < count; i += world) out.push(i);
  return out;
}

/**
 * W ranks in one process (each a trainer on its own model replica, run concurrently): the
 * reference the NCCL group is checked against, and the way the CPU tests fake several ranks.
 * Sums in rank order, so every rank gets bit-identical results.
 */
export function inProcessGroup(world: number): GradientReducer[] {
  if (!Number.isInteger(world) || world < 1) throw new InvalidInputError(`the world size must be a whole number ≥ 1, got ${world}`);
  let pending: { values: readonly Float32Array[]; resolve: () => void; reject: (e: Error) => void }[] = new Array(world);
  let arrived = 0;
  return Array.from({ length: world }, (_, rank) => ({
    rank,
    world,
    allReduceSum(values: readonly Float32Array[]): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        if (pending[rank] !== undefined) {
          reject(new InvalidInputError(`rank ${rank} entered an all-reduce twice before the others arrived`));
          return;
        }
        pending[rank] = { values, resolve, reject };
        if (++arrived < world) return;
        const round = pending;
        pending = new Array(world);
        arrived = 0;
        const first = round[0]?.values ?? [];
        if (round.some((r) => r.values.length !== first.length || r.values.some((v, i) => v.length !== (first[i] as Float32Array).length))) {
          const error = new InvalidInputError("the ranks of an all-reduce gave arrays of different counts or lengths");
          for (const r of round) r.reject(error);
          return;
        }
        const sums = first.map((v) => new Float64Array(v.length));
        for (const r of round) for (const [i, v] of r.values.entries()) for (let j = 0; j < v.length; j++) (sums[i] as Float64Array)[j] += v[j] as number;
        for (const r of round) {
          for (const [i, v] of r.values.entries()) v.set(sums[i] as Float64Array);
          r.resolve();
        }
      });
    },
  }));
}
