import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { writeFileAtomic } from "../src/atomic-file.js";
import { readJsonl, writeJsonl } from "../src/data/jsonl.js";
import { PACKAGE_TASKS, tasksFileFor } from "../src/data/package-tasks.js";
import { describeError } from "../src/errors.js";
import { writeFileAtomic as writeModelFileAtomic } from "../src/model/gguf-io.js";

const dir = mkdtempSync(join(tmpdir(), "agenttune-out-"));
writeFileSync(join(dir, "a-file"), "x");

/** The error as a user sees it, its name, and the files the folder holds afterwards. */
async function failure(write: () => Promise<unknown> | unknown) {
  try {
    await write();
  } catch (error) {
    return { text: describeError(error), name: (error as Error).name };
  }
  assert.fail("the write should have failed");
}

test("every atomic writer names the output, not its temporary file, when the path cannot be written", async () => {
  const writers: [string, (path: string) => Promise<unknown> | unknown][] = [
    ["writeJsonl", (path) => writeJsonl(path, [{ a: 1 }])],
    ["writeFileAtomic", (path) => writeFileAtomic(path, "text")],
    ["the model writer", (path) => writeModelFileAtomic(path, (sink) => sink(new Uint8Array(4)))],
  ];
  for (const [name, write] of writers) {
    const folder = await failure(() => write(dir));
    assert.equal(folder.name, "InvalidInputError", name);
    assert.match(folder.text, new RegExp(`cannot write ${dir}: it is a folder`), name);
    const underFile = await failure(() => write(join(dir, "a-file", "out.jsonl")));
    assert.match(underFile.text, /cannot write .*a-file\/out\.jsonl: a part of the path before it is a file/, `${name}: ${underFile.text}`);
    assert.doesNotMatch(underFile.text, /\.tmp/, name);
    const empty = await failure(() => write(""));
    assert.match(empty.text, /the output path is empty/, name);
  }
  assert.deepEqual(readdirSync(dir), ["a-file"], "no temporary file is left behind");
  assert.equal(readFileSync(join(dir, "a-file"), "utf8"), "x");
});

test("describeError puts the operating system's refusals in words with a hint", async () => {
  const open = await failure(() => writeFile(dir, "x"));
  assert.match(open.text, new RegExp(`cannot open ${dir}: it is a folder\\n  hint: `));
  const busy = Object.assign(new Error("listen EADDRINUSE: address already in use :::8080"), { code: "EADDRINUSE", syscall: "listen", port: 8080 });
  assert.match(describeError(busy), /port 8080 is already in use\n {2}hint: .*--port/);
  assert.equal(describeError(new Error("plain")), "plain");
});

test("a folder given where a JSONL file is read is named as a folder", async () => {
  const read = await failure(async () => {
    for await (const _ of readJsonl(dir)) assert.fail("a folder has no records");
  });
  assert.match(read.text, new RegExp(`cannot read ${dir}: it is a folder`));
});

test("--tasks data/eval/tasks.jsonl finds the package's copy when run outside a checkout", () => {
  const cwd = process.cwd();
  try {
    process.chdir(dir);
    const file = tasksFileFor(PACKAGE_TASKS);
    assert.ok(file.endsWith("data/eval/tasks.jsonl") && file.startsWith("/"), file);
    assert.ok(readFileSync(file, "utf8").length > 0);
    assert.equal(tasksFileFor("mine.jsonl"), "mine.jsonl");
  } finally {
    process.chdir(cwd);
  }
});
