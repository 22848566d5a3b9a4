// Copies of the CLI in child processes, a few at once: how `experiment scaling --jobs N` trains
// several runs side by side (each a process of its own: a training holds its thread while it runs).

import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The CLI's entry script (bin/agenttune.js), from a build (dist/src/cli) or a source checkout (src/cli). */
export function cliEntry(): string {
  for (const rel of ["../../../bin/agenttune.js", "../../bin/agenttune.js"]) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error("bin/agenttune.js is not beside this build");
}

/** Runs `agenttune ARGS` in a child process, its standard output and error into `logFile`; resolves to its exit code. */
export function runCliChild(args: readonly string[], logFile: string): Promise<number> {
  const log = openSync(logFile, "w");
  return new Promise<number>((resolve) => {
    const child = spawn(process.execPath, [cliEntry(), ...args], { stdio: ["ignore", log, log] });
    child.on("error", () => resolve(1));
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  }).finally(() => closeSync(log));
}

/** Runs `count` jobs, at most `jobs` at once, started in order; resolves to their results in order. */
export async function runPool<T>(count: number, jobs: number, start: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await start(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, count) }, worker));
  return results;
}
