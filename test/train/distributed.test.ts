// Data-parallel training with ranks faked in one process: two and three ranks follow one rank's
// loss curve with the same global batch, the real LoRA decoder (dropout on) included, and only
// rank 0 writes the log and the checkpoint.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createCpuBackend } from "../../src/engine/cpu/backend.js";
import { hostModelFromHfFolder } from "../../src/model/host-weights.js";
import { inProcessGroup, rankShare } from "../../src/train/distributed.js";
import { LoraDecoder } from "../../src/train/lora-decoder.js";
import { chatmlTemplate, tokenizeDataset } from "../../src/train/tokenize.js";
import { type StepLog, type TrainableModel, train } from "../../src/train/trainer.js";
import { byteTokenize, SoftmaxModel } from "./fake-model.js";

const root = mkdtempSync(join(tmpdir(), "agenttune-dp-"));
after(() => rmSync(root, { recursive: true, force: true }));

const examples = tokenizeDataset(
  Array.from({ length: 12 }, (_, i) => [
    { role: "user" as const, content: `What is ${i} + ${i}?` },
    { role: "assistant" as const, content: `Thought: add.\nAnswer: ${2 * i}` },
  ]),
  { tokenize: byteTokenize, template: chatmlTemplate },
).examples;

const log = (dir: string) =>
  readFileSync(join(dir, "train_log.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as StepLog);

async function runRanks(world: number, makeModel: () => TrainableModel, name: string, gradAccum = 4): Promise<{ dir: string; models: TrainableModel[] }> {
  const dir = join(root, name);
  const reducers = inProcessGroup(world);
  const models = reducers.map(() => makeModel());
  await Promise.all(
    reducers.map((reducer, r) =>
      train({ model: models[r] as TrainableModel, modelId: "m", examples, outputDir: dir, epochs: 2, lr: 0.05, gradAccum, seed: 7, saveEvery: 2, ...(world > 1 ? { distributed: { reducer } } : {}) }),
    ),
  );
  return { dir, models };
}

describe("data-parallel training", () => {
  it("splits a step's micro-batches round-robin over the ranks", () => {
    assert.deepEqual(rankShare(5, 0, 2), [0, 2, 4]);
    assert.deepEqual(rankShare(5, 1, 2), [1, 3]);
    assert.deepEqual(rankShare(2, 2, 3), []);
    assert.throws(() => rankShare(4, 2, 2), /rank 2 is outside a world of 2/);
  });

  it("two and three ranks give one rank's losses and parameters; only rank 0 writes", async () => {
    const one = await runRanks(1, () => new SoftmaxModel(256), "one");
    for (const world of [2, 3]) {
      const many = await runRanks(world, () => new SoftmaxModel(256), `world-${world}`);
      const a = log(one.dir);
      const b = log(many.dir);
      assert.equal(b.length, a.length, "one log line a step, written once");
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs((b[i] as StepLog).loss - (a[i] as StepLog).loss) <= 1e-5 * Math.abs((a[i] as StepLog).loss), `step ${i + 1}: ${b[i]?.loss} vs ${a[i]?.loss}`);
      const ref = one.models[0]?.parameters()[0]?.value as Float32Array;
      for (const m of many.models) {
        const w = m.parameters()[0]?.value as Float32Array;
        let worst = 0;
        for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs((w[i] as number) - (ref[i] as number)));
        assert.ok(worst < 1e-5, `parameters drift by ${worst}`);
      }
      assert.ok(existsSync(join(many.dir, "checkpoint")));
    }
  });

  it("the LoRA decoder with dropout on two ranks follows one rank: the masks follow the micro-batch, not the rank", async () => {
    const host = hostModelFromHfFolder(new URL("../fixtures/decoder/llama", import.meta.url).pathname);
    const make = () => new LoraDecoder(createCpuBackend(), host.config, host.weights, { rank: 4, alpha: 8, dropout: 0.2, targets: ["q", "v", "down"], seed: 3 }, { baseFormat: "f32" });
    // the tiny model's vocabulary is 32 ids: bytes folded into it
    const folded = examples.map((e) => ({ ...e, ids: e.ids.map((id) => id % 32) }));
    const runFolded = async (world: number, name: string) => {
      const dir = join(root, name);
      const reducers = inProcessGroup(world);
      const models = reducers.map(make);
      await Promise.all(reducers.map((reducer, r) => train({ model: models[r] as LoraDecoder, modelId: "tiny", examples: folded, outputDir: dir, epochs: 1, lr: 0.01, gradAccum: 4, seed: 1, ...(world > 1 ? { distributed: { reducer } } : {}) })));
      return log(dir);
    };
    const a = await runFolded(1, "lora-one");
    const b = await runFolded(2, "lora-two");
    assert.equal(b.length, a.length);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs((b[i] as StepLog).loss - (a[i] as StepLog).loss) <= 1e-5 * (a[i] as StepLog).loss, `step ${i + 1}: ${b[i]?.loss} vs ${a[i]?.loss}`);
  });

  it("an all-reduce whose ranks disagree on the arrays fails on every rank", async () => {
    const [r0, r1] = inProcessGroup(2);
    const results = await Promise.allSettled([r0?.allReduceSum([new Float32Array(3)]), r1?.allReduceSum([new Float32Array(4)])]);
    assert.ok(results.every((r) => r.status === "rejected"));
  });
});
