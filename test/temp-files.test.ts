import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../src/atomic-file.js";
import { sweepStaleTemps, tempPathFor } from "../src/temp-files.js";

const root = mkdtempSync(join(tmpdir(), "agenttune-temps-"));
after(() => rmSync(root, { recursive: true, force: true }));

const WRITER = fileURLToPath(new URL("./helpers/slow-jsonl-writer.ts", import.meta.url));

/** A pid that belonged to a process which has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

/** Starts the slow writer on `file` and resolves once it has opened its temporary file. */
async function startWriter(file: string, mode = "") {
  const child = spawn(process.execPath, ["--import", "tsx", WRITER, file, mode], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("started")) resolve();
    });
    child.on("exit", () => reject(new Error(`the writer exited before it started: ${out}`)));
  });
  return { child, exited, output: () => out };
}

describe("temporary files", () => {
  it("are hidden beside their target and carry the writer's pid", () => {
    const temp = tempPathFor(join(root, "data.jsonl"));
    assert.match(basename(temp), new RegExp(`^\\.data\\.jsonl\\.${process.pid}\\.[a-z0-9]+\\.tmp$`));
  });

  it("a sweep removes those of a process that is gone and keeps the live ones and other files", () => {
    const dir = join(root, "sweep");
    mkdirSync(dir);
    const target = join(dir, "out.json");
    const dead = `.out.json.${deadPid()}.abc123.tmp`;
    const mine = `.out.json.${process.pid}.def456.tmp`;
    const other = `.other.json.${deadPid()}.abc123.tmp`;
    const notOurs = ".out.json.notes.tmp";
    for (const name of [dead, mine, other, notOurs]) writeFileSync(join(dir, name), "half");
    sweepStaleTemps(target);
    assert.deepEqual(readdirSync(dir).sort(), [mine, other, notOurs].sort());
  });

  it("the next atomic write of a file sweeps what a killed write of it left", async () => {
    const dir = join(root, "next-write");
    mkdirSync(dir);
    const stale = join(dir, `.run.json.${deadPid()}.zz9.tmp`);
    writeFileSync(stale, "{ half");
    await writeFileAtomic(join(dir, "run.json"), "{}\n");
    assert.deepEqual(readdirSync(dir), ["run.json"]);
  });

  it("Ctrl-C during a JSONL write removes the temporary file and ends the process as Ctrl-C does", async () => {
    const dir = join(root, "interrupted");
    const file = join(dir, "train.jsonl");
    const { child, exited } = await startWriter(file);
    assert.equal(readdirSync(dir).length, 1, "the temporary file is there while writing");
    child.kill("SIGINT");
    const { signal } = await exited;
    assert.equal(signal, "SIGINT");
    assert.deepEqual(readdirSync(dir), []);
    assert.equal(existsSync(file), false);
  });

  it("a command that handles Ctrl-C itself finishes its write", async () => {
    const dir = join(root, "own-handler");
    const file = join(dir, "train.jsonl");
    const { child, exited, output } = await startWriter(file, "own-handler");
    child.kill("SIGINT");
    const { code } = await exited;
    assert.equal(code, 0);
    assert.match(output(), /written/);
    assert.equal(readFileSync(file, "utf8"), '{"n":1}\n{"n":2}\n');
    assert.deepEqual(readdirSync(dir), ["train.jsonl"]);
  });
});
