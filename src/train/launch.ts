// Starts a data-parallel run: one worker process a GPU, each the same command with its rank in
// the environment (AGENTTUNE_RANK, AGENTTUNE_WORLD, and the NCCL unique id the launcher made).
// Rank 0's output is the run's; the others' standard error comes through with their rank in
// front. When one worker fails, the others are stopped.

import { type ChildProcess, spawn } from "node:child_process";
import { InvalidInputError } from "../errors.js";

export const RANK_ENV = "AGENTTUNE_RANK";
export const WORLD_ENV = "AGENTTUNE_WORLD";
export const NCCL_ID_ENV = "AGENTTUNE_NCCL_ID";

/** This process's place in a data-parallel run, when it is a worker. */
export interface WorkerRank {
  rank: number;
  world: number;
  ncclId: Uint8Array;
}

/** The worker's rank from its environment, or undefined in a launcher or a plain run. */
export function workerRank(env: NodeJS.ProcessEnv = process.env): WorkerRank | undefined {
  if (env[RANK_ENV] === undefined) return undefined;
  const rank = Number(env[RANK_ENV]);
  const world = Number(env[WORLD_ENV]);
  const id = env[NCCL_ID_ENV] ?? "";
  if (!Number.isInteger(world) || world < 1 || !Number.isInteger(rank) || rank < 0 || rank >= world) {
    throw new InvalidInputError(`${RANK_ENV}=${env[RANK_ENV]} and ${WORLD_ENV}=${env[WORLD_ENV]} name no rank of a run`, { hint: "start data-parallel runs with agenttune train --gpus N" });
  }
  if (!/^[0-9a-f]{256}$/.test(id)) throw new InvalidInputError(`${NCCL_ID_ENV} is not a 128-byte id in hex`, { hint: "start data-parallel runs with agenttune train --gpus N" });
  return { rank, world, ncclId: Uint8Array.from(Buffer.from(id, "hex")) };
}

export interface LaunchOptions {
  world: number;
  /** The NCCL unique id every rank joins with (made by the launcher). */
  ncclId: Uint8Array;
  /** The command each worker runs: node, its script and its arguments. */
  command: string;
  args: readonly string[];
  /** Where the other ranks' standard error goes, a line at a time. */
  err(text: string): void;
}

/** Runs `world` workers to the end; resolves to the first non-zero exit code, or 0. */
export function launchWorkers(options: LaunchOptions): Promise<number> {
  const id = Buffer.from(options.ncclId).toString("hex");
  const children: ChildProcess[] = [];
  return new Promise((resolve) => {
    let running = options.world;
    let failed = 0;
    for (let rank = 0; rank < options.world; rank++) {
      const child = spawn(options.command, [...options.args], {
        env: { ...process.env, [RANK_ENV]: String(rank), [WORLD_ENV]: String(options.world), [NCCL_ID_ENV]: id, NCCL_NVLS_ENABLE: "0" },
        stdio: rank === 0 ? "inherit" : ["ignore", "ignore", "pipe"],
      });
      let pending = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        pending += chunk.toString("utf8");
        const lines = pending.split(/\r?\n|\r/);
        pending = lines.pop() ?? "";
        for (const line of lines) if (line.trim() !== "") options.err(`[rank ${rank}] ${line}\n`);
      });
      child.on("exit", (code, signal) => {
        const status = code ?? (signal ? 1 : 0);
        if (status !== 0 && failed === 0) {
          failed = status;
          // one rank gone: the others would wait on it in the next all-reduce forever
          for (const other of children) if (other !== child && other.exitCode === null) other.kill("SIGTERM");
        }
        if (--running === 0) resolve(failed);
      });
      children.push(child);
    }
  });
}
