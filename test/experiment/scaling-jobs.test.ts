// `agenttune experiment scaling --jobs N` for real: copies of the CLI in child processes, each
// training and evaluating one run of a tiny random model on the CPU, then the parent's table of
// them all; a run that fails is named with its log, and the same command again finishes it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { ScalingResult } from "../../src/experiment/scaling-summary.js";
import { writeTinyModel } from "../../src/experiment/tiny-model.js";
import { writeTasks } from "./helpers.js";

const root = mkdtempSync(join(tmpdir(), "agenttune-scaling-jobs-"));
after(() => rmSync(root, { recursive: true, force: true }));
const model = writeTinyModel(join(root, "tiny-model"));
const tasks = writeTasks(join(root, "tasks.jsonl"));
const bin = new URL("../../bin/agenttune.js", import.meta.url).pathname;

/** `agenttune ARGS` from the source (not a build that may be older). */
const cli = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", env: { ...process.env, AGENTTUNE_FROM_SOURCE: "1" } });

describe("experiment scaling --jobs", () => {
  const out = join(root, "study");
  const args = ["experiment", "scaling", "--model", model, "--sizes", "3,4", "--seeds", "0,1", "--epochs", "1", "--grad-accum", "1", "--max-length", "4096", "--max-steps", "1", "--tasks", tasks, "--eval-max-steps", "1", "--max-tokens", "4", "--out", out];

  it("runs each size × seed as a copy of the command, two at once, and then writes the table of all four", () => {
    const r = cli([...args, "--jobs", "2"]);
    assert.equal(r.status, 0, r.stderr);
    for (const id of ["3-s0", "3-s1", "4-s0", "4-s1"]) {
      assert.match(r.stderr, new RegExp(`start: ${id} \\(log: .*logs/${id}\\.txt\\)`));
      assert.match(r.stderr, new RegExp(`finished: ${id}`));
      assert.ok(existsSync(join(out, "runs", id, "eval.json")), id);
      assert.match(readFileSync(join(out, "logs", `${id}.txt`), "utf8"), /train: \d examples/, `${id}'s log holds its progress`);
    }
    const study = JSON.parse(readFileSync(join(out, "scaling.json"), "utf8")) as ScalingResult;
    assert.deepEqual(study.runs.map((run) => run.id), ["3-s0", "3-s1", "4-s0", "4-s1"]);
    assert.match(readFileSync(join(out, "scaling.md"), "utf8"), /Runs finished: 4 of 4/);
    assert.match(r.stdout, /^ {5}3 samples × 2 seed\(s\)/m);
  });

  it("names a run that failed and its log, keeps the others, and the same command again finishes it", () => {
    // a file where 4-s1's folder goes: that copy cannot write its run; the table has the three others
    const folder = join(out, "runs", "4-s1");
    rmSync(folder, { recursive: true });
    writeFileSync(folder, "not a folder");
    const r = cli([...args, "--jobs", "2"]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /failed \(exit \d\): 4-s1/);
    assert.match(r.stderr, /1 run of the study failed: 4-s1 \(.*logs\/4-s1\.txt\)/);
    assert.match(r.stderr, /the same command again retries what failed/);
    assert.match(readFileSync(join(out, "logs", "4-s1.txt"), "utf8"), /4-s1/);
    assert.match(readFileSync(join(out, "scaling.md"), "utf8"), /Runs finished: 3 of 4; not run: 4-s1/);
    rmSync(folder);
    const again = cli([...args, "--jobs", "2"]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /finished: 4-s1/);
    assert.match(readFileSync(join(out, "scaling.md"), "utf8"), /Runs finished: 4 of 4/);
  });
});
