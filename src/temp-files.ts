// The temporary files of the atomic writers: one naming scheme, removal on Ctrl-C while a write
// is under way, and a sweep of those that a killed process left behind.
import { readdirSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** `.<name>.<pid>.<random>.tmp` beside `path`: hidden, and the pid says whose it is. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the temporary files for `path` whose process is gone (killed mid-write, by a signal
 * no handler sees or by the kernel). Those of a live process, ours included, are left alone.
 */
export function sweepStaleTemps(path: string): void {
  const name = basename(path);
  let entries: string[];
  try {
    entries = readdirSync(dirname(path));
  } catch {
    return; // no folder yet: nothing to sweep
  }
  const prefix = `.${name}.`;
  for (const entry of entries) {
    if (!entry.startsWith(prefix) || !entry.endsWith(".tmp")) continue;
    const match = /^(\d+)\.[a-z0-9]+\.tmp$/.exec(entry.slice(prefix.length));
    if (match === null) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    rmSync(join(dirname(path), entry), { force: true });
  }
}

const held = new Set<string>();

function onSignal(signal: NodeJS.Signals): void {
  // A command that handles the signal itself (eval, serve) finishes its writes; leave them be.
  if (process.listenerCount(signal) > 1) return;
  for (const path of held) rmSync(path, { force: true });
  held.clear();
  detach();
  // With no listener left the signal's default action ends the process, as it would have.
  process.kill(process.pid, signal);
}
const onSigint = () => onSignal("SIGINT");
const onSigterm = () => onSignal("SIGTERM");

function detach(): void {
  process.removeListener("SIGINT", onSigint);
  process.removeListener("SIGTERM", onSigterm);
}

/**
 * Marks `path` as a temporary file being written: Ctrl-C (or SIGTERM) before the returned
 * release removes it before the process ends. Only for asynchronous writes: a signal waits for
 * the event loop, which a synchronous write does not give back until it is done.
 */
export function holdTemp(path: string): () => void {
  if (held.size === 0) {
    // first in line, so the count of listeners it sees still holds a command's own `once`
    process.prependListener("SIGINT", onSigint);
    process.prependListener("SIGTERM", onSigterm);
  }
  held.add(path);
  return () => {
    if (held.delete(path) && held.size === 0) detach();
  };
}
