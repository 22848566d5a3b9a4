import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { defineCommand, formatHelp, parseFlags } from "../src/cli/command.js";
import { runCli, untilReaderCloses } from "../src/cli/main.js";

const echo = defineCommand({
  name: "echo",
  summary: "print the flags back",
  flags: {
    "model-id": { type: "string", description: "the model", aliases: ["model"] },
    steps: { type: "number", description: "how many", default: 3 },
    verbose: { type: "boolean", description: "talk more" },
  },
  run(flags, positionals, io) {
    io.out(JSON.stringify({ flags, positionals }));
    return 0;
  },
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), interactive: false } };
}

test("the reference's underscore spellings and aliases reach the kebab-case flag", () => {
  assert.equal(parseFlags(echo, ["--model_id", "a"]).flags["model-id"], "a");
  assert.equal(parseFlags(echo, ["--model=b"]).flags["model-id"], "b");
  assert.equal(parseFlags(echo, ["--model-id", "c", "x"]).positionals[0], "x");
});

test("numbers are parsed and defaults filled; a non-number is refused by name", () => {
  assert.equal(parseFlags(echo, []).flags.steps, 3);
  assert.equal(parseFlags(echo, ["--steps", "7"]).flags.steps, 7);
  assert.throws(() => parseFlags(echo, ["--steps", "seven"]), /--steps takes a number/);
});

test("an unknown flag is a usage error with exit code 2 and a hint", async () => {
  const c = capture();
  const code = await runCli(["echo", "--nope"], c.io, [echo]);
  assert.equal(code, 2);
  assert.match(c.err.join(""), /--help/);
});

test("--help on a command lists every flag with its underscore alias", async () => {
  const c = capture();
  assert.equal(await runCli(["echo", "--help"], c.io, [echo]), 0);
  assert.match(c.out.join(""), /--model-id <string>\s+the model \(also --model_id, --model\)/);
  assert.equal(formatHelp(echo), c.out.join(""));
});

test("an unknown command says so and exits 2", async () => {
  const c = capture();
  assert.equal(await runCli(["fly"], c.io, [echo]), 2);
  assert.match(c.err.join(""), /unknown command "fly"/);
});

test("output to a reader that has gone is dropped, not thrown: the command finishes its work", async () => {
  const dir = mkdtempSync(join(tmpdir(), "agenttune-epipe-"));
  const out = join(dir, "train.jsonl");
  // the reader closes its end at once, as `agenttune data build … | head -c 0` would
  const child = spawn(process.execPath, [fileURLToPath(new URL("../bin/agenttune.js", import.meta.url)), "data", "build", "--samples", "40", "--out", out], {
    env: { ...process.env, AGENTTUNE_FROM_SOURCE: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.destroy();
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE/);
  assert.equal(readFileSync(out, "utf8").trim().split("\n").length, 40);
});

test("untilReaderCloses stops writing after EPIPE and still throws any other stream error", () => {
  const written: string[] = [];
  const stream = new EventEmitter() as EventEmitter & { write: (t: string) => boolean };
  stream.write = (t: string) => {
    written.push(t);
    return true;
  };
  const write = untilReaderCloses(stream as unknown as NodeJS.WritableStream);
  write("a");
  stream.emit("error", Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
  write("b");
  assert.deepEqual(written, ["a"]);
  assert.throws(() => stream.emit("error", Object.assign(new Error("write EIO"), { code: "EIO" })), /EIO/);
});

test("a negative number after a number flag is its value; --help wins over a bad value; errors name the command once", async () => {
  assert.equal(parseFlags(echo, ["--steps", "-3"]).flags.steps, -3);
  assert.equal(parseFlags(echo, ["--steps", "-.5", "x"]).flags.steps, -0.5);
  assert.deepEqual(parseFlags(echo, ["--steps", "-3", "x"]).positionals, ["x"]);
  assert.equal(parseFlags(echo, ["--steps", "abc", "--help"]).help, true);
  const c = capture();
  assert.equal(await runCli(["echo", "--stream"], c.io, [echo]), 2);
  assert.equal(c.err.join("").match(/agenttune echo:/g)?.length, 1, c.err.join(""));
});
