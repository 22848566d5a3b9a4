import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { ChatMessage } from "../../src/agent/chat-model.js";
import { CheckpointMismatchError, readCheckpoint } from "../../src/train/checkpoint.js";
import { NonFiniteLossError } from "../../src/train/optimizer.js";
import { chatmlTemplate, tokenizeDataset } from "../../src/train/tokenize.js";
import { type StepLog, train } from "../../src/train/trainer.js";
import { byteTokenize, SoftmaxModel } from "./fake-model.js";
import { trainOptions } from "./kill-options.js";

const root = mkdtempSync(join(tmpdir(), "agenttune-train-"));
after(() => rmSync(root, { recursive: true, force: true }));

const conversations: ChatMessage[][] = Array.from({ length: 8 }, (_, i) => [
  { role: "user", content: `q${i}` },
  { role: "assistant", content: `Answer: ${"ab".repeat(i + 1)}` },
]);
const { examples } = tokenizeDataset(conversations, { tokenize: byteTokenize, template: chatmlTemplate });
const base = { modelId: "fake", examples, epochs: 3, batchSize: 2, gradAccum: 1, lr: 0.05, warmupRatio: 0.1, seed: 7 };
const readLog = (dir: string): StepLog[] =>
  readFileSync(join(dir, "train_log.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

describe("trainer", () => {
  it("the loss falls and every step is logged", async () => {
    const dir = join(root, "falls");
    const result = await train({ ...base, model: new SoftmaxModel(), outputDir: dir });
    const log = readLog(dir);
    assert.equal(result.totalSteps, 12);
    assert.deepEqual(
      log.map((l) => l.step),
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    assert.ok(log[11].loss < log[0].loss * 0.9, `${log[0].loss} → ${log[11].loss}`);
    for (const key of ["step", "epoch", "loss", "lr", "grad_norm", "tokens", "tokens_per_s", "elapsed_s"]) assert.ok(key in log[0], key);
    assert.equal(log[0].lr, 0);
    assert.equal(log[11].epoch, 3);
  });

  it("a run whose steps are all warm-up says so; one with steps past the warm-up does not", async () => {
    const warnings: string[] = [];
    await train({ ...base, examples: examples.slice(0, 2), epochs: 1, model: new SoftmaxModel(), outputDir: join(root, "all-warmup"), onWarning: (m) => warnings.push(m) });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /all 1 step\(s\) are warm-up: the learning rate climbs from 0 and never reaches --lr 0\.05/);
    const none: string[] = [];
    await train({ ...base, model: new SoftmaxModel(), outputDir: join(root, "past-warmup"), onWarning: (m) => none.push(m) });
    assert.deepEqual(none, []);
  });

  it("a resume with no checkpoint is refused and makes no output folder", async () => {
    const out = join(root, "nothing-to-resume");
    await assert.rejects(train({ ...base, model: new SoftmaxModel(), outputDir: out, resume: true }), (e: Error) => e.name === "TrainSetupError" && /no checkpoint to resume/.test(e.message));
    assert.equal(fs.existsSync(out), false);
  });

  it("6 steps straight and 3 steps + resume to 6 log the same losses", async () => {
    const straight = join(root, "straight");
    await train({ ...base, model: new SoftmaxModel(), outputDir: straight, maxSteps: 6 });
    const resumed = join(root, "resumed");
    await train({ ...base, model: new SoftmaxModel(), outputDir: resumed, maxSteps: 3, saveEvery: 3 });
    await train({ ...base, model: new SoftmaxModel(), outputDir: resumed, maxSteps: 6, resume: true });
    const a = readLog(straight);
    const b = readLog(resumed);
    assert.equal(b.length, 6);
    assert.deepEqual(
      b.map((l) => [l.step, l.loss, l.lr, l.grad_norm]),
      a.map((l) => [l.step, l.loss, l.lr, l.grad_norm]),
    );
  });

  it("resuming a finished run trains nothing and reports the last step's loss", async () => {
    const dir = join(root, "finished");
    const first = await train({ ...base, model: new SoftmaxModel(), outputDir: dir, maxSteps: 4 });
    const again = await train({ ...base, model: new SoftmaxModel(), outputDir: dir, maxSteps: 4, resume: true });
    assert.equal(again.steps, 4);
    assert.ok(Number.isFinite(first.finalLoss));
    assert.equal(again.finalLoss, first.finalLoss);
    assert.equal(readLog(dir).length, 4, "nothing appended");
  });

  it("a resume with gradient accumulation crossing an epoch repeats the losses", async () => {
    const opts = { ...base, gradAccum: 3 };
    const straight = join(root, "acc-straight");
    await train({ ...opts, model: new SoftmaxModel(), outputDir: straight });
    const resumed = join(root, "acc-resumed");
    await train({ ...opts, model: new SoftmaxModel(), outputDir: resumed, maxSteps: 2, saveEvery: 1 });
    await train({ ...opts, model: new SoftmaxModel(), outputDir: resumed, resume: true });
    assert.deepEqual(
      readLog(resumed).map((l) => l.loss),
      readLog(straight).map((l) => l.loss),
    );
  });

  it("a run killed mid-training resumes to the same losses as an uninterrupted run", async () => {
    const straight = join(root, "kill-straight");
    await train({ ...trainOptions(), model: new SoftmaxModel(), outputDir: straight });
    const dir = join(root, "killed");
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./kill-child.ts", import.meta.url)), dir], { stdio: "ignore" });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    const logFile = join(dir, "train_log.jsonl");
    for (let i = 0; i < 600; i++) {
      if (fs.existsSync(logFile) && readFileSync(logFile, "utf8").split("\n").length > 5) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    assert.equal(await exited, null, "the child was killed before it finished");
    await train({ ...trainOptions(), model: new SoftmaxModel(), outputDir: dir, resume: true });
    assert.deepEqual(
      readLog(dir).map((l) => [l.step, l.loss]),
      readLog(straight).map((l) => [l.step, l.loss]),
    );
  });

  it("a checkpoint of another model or other options is refused", async () => {
    const dir = join(root, "other");
    await train({ ...base, model: new SoftmaxModel(), outputDir: dir, maxSteps: 2 });
    await assert.rejects(train({ ...base, modelId: "another", model: new SoftmaxModel(), outputDir: dir, resume: true }), CheckpointMismatchError);
    await assert.rejects(train({ ...base, lr: 0.1, model: new SoftmaxModel(), outputDir: dir, resume: true }), CheckpointMismatchError);
    await assert.rejects(train({ ...base, model: new SoftmaxModel(), outputDir: dir }), /already holds a training checkpoint/);
    assert.equal(readCheckpoint(join(dir, "checkpoint")).state.step, 2);
  });

  it("a full disk while writing a checkpoint leaves the previous checkpoint intact", async () => {
    const dir = join(root, "enospc");
    await train({ ...base, model: new SoftmaxModel(), outputDir: dir, maxSteps: 2, saveEvery: 2 });
    const before = readCheckpoint(join(dir, "checkpoint"));
    const failing = {
      writeFileSync: (() => {
        throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      }) as typeof fs.writeFileSync,
      renameSync: fs.renameSync,
    };
    await assert.rejects(
      train({ ...base, model: new SoftmaxModel(), outputDir: dir, resume: true, maxSteps: 4, saveEvery: 1, checkpointFs: failing }),
      /could not write the checkpoint.*ENOSPC/,
    );
    const afterFail = readCheckpoint(join(dir, "checkpoint"));
    assert.equal(afterFail.state.step, 2);
    assert.deepEqual(afterFail.params.get("w")?.value, before.params.get("w")?.value);
    assert.deepEqual(afterFail.params.get("w")?.m, before.params.get("w")?.m);
    assert.deepEqual(
      fs.readdirSync(dir).sort(),
      ["checkpoint", "train_log.jsonl"],
    );
  });

  it("a NaN loss skips the step and says so; too many in a row stop training", async () => {
    const model = new SoftmaxModel();
    model.nanCalls = new Set([1]);
    const warnings: string[] = [];
    const dir = join(root, "nan");
    await train({ ...base, model, outputDir: dir, maxSteps: 4, onWarning: (m) => warnings.push(m) });
    const log = readLog(dir);
    assert.equal(log[1].skipped, true);
    assert.equal(log[2].skipped, undefined);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /step 2: .*NaN or Inf.*skipped/);
    assert.ok(model.w.value.every(Number.isFinite));

    const bad = new SoftmaxModel();
    bad.nanCalls = new Set([0, 1, 2, 3, 4, 5]);
    await assert.rejects(train({ ...base, model: bad, outputDir: join(root, "nan2"), maxBadSteps: 3 }), NonFiniteLossError);
  });
});
