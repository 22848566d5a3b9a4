// The trainer with a model that keeps its optimizer where its gradients are (a GPU, faked here):
// the same losses as the host AdamW, resumable from its checkpoints, and never used by
// data-parallel ranks (they sum host gradients).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { ChatMessage } from "../../src/agent/chat-model.js";
import { readCheckpoint } from "../../src/train/checkpoint.js";
import { inProcessGroup } from "../../src/train/distributed.js";
import { HostStepOptimizer, type StepOptimizer } from "../../src/train/optimizer.js";
import { chatmlTemplate, tokenizeDataset } from "../../src/train/tokenize.js";
import { type StepLog, train } from "../../src/train/trainer.js";
import { byteTokenize, SoftmaxModel } from "./fake-model.js";

const root = mkdtempSync(join(tmpdir(), "agenttune-device-opt-"));
after(() => rmSync(root, { recursive: true, force: true }));

/**
 * SoftmaxModel with a fake GPU: deviceOptimizer moves the values to a second copy (the "device"),
 * which then computes the gradients and steps; the host copy is left as it was, and a snapshot
 * copies the device's arrays as a download would.
 */
class DeviceSoftmaxModel extends SoftmaxModel {
  device: SoftmaxModel | undefined;
  deviceOptimizerCalls = 0;
  deviceOptimizer(options: { weightDecay: number }): StepOptimizer {
    this.deviceOptimizerCalls++;
    const device = new SoftmaxModel(this.vocab);
    device.w.value.set(this.w.value);
    device.b.value.set(this.b.value);
    this.device = device;
    const inner = new HostStepOptimizer(device.parameters(), options);
    const copies = (arrays: readonly Float32Array[]) => arrays.map((a) => a.slice());
    return {
      clipGradients: (maxNorm) => inner.clipGradients(maxNorm),
      step: (lr) => inner.step(lr),
      snapshot: () => {
        const s = inner.snapshot();
        return { t: s.t, values: copies(s.values), m: copies(s.m), v: copies(s.v) };
      },
      restore: (s) => inner.restore(s),
    };
  }
  override zeroGrad(): void {
    if (this.device) this.device.zeroGrad();
    else super.zeroGrad();
  }
  override lossAndGrad(ids: Int32Array, targets: Int32Array, batch: number, tokens: number, lossScale: number): number {
    return this.device ? this.device.lossAndGrad(ids, targets, batch, tokens, lossScale) : super.lossAndGrad(ids, targets, batch, tokens, lossScale);
  }
}

const conversations: ChatMessage[][] = Array.from({ length: 8 }, (_, i) => [
  { role: "user", content: `q${i}` },
  { role: "assistant", content: `Answer: ${"ab".repeat(i + 1)}` },
]);
const { examples } = tokenizeDataset(conversations, { tokenize: byteTokenize, template: chatmlTemplate });
const base = { modelId: "fake", examples, epochs: 3, batchSize: 2, gradAccum: 2, lr: 0.05, warmupRatio: 0.1, seed: 7, weightDecay: 0.01 };
const logOf = (dir: string) =>
  readFileSync(join(dir, "train_log.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as StepLog)
    .map((l) => [l.step, l.loss, l.lr, l.grad_norm]);

describe("the trainer with a model's own (device) optimizer", () => {
  it("logs the losses and norms of the host AdamW, leaves the host values alone and checkpoints the device's", async () => {
    const hostDir = join(root, "host");
    await train({ ...base, model: new SoftmaxModel(), outputDir: hostDir });
    const model = new DeviceSoftmaxModel();
    const initial = model.w.value.slice();
    const deviceDir = join(root, "device");
    await train({ ...base, model, outputDir: deviceDir });
    assert.equal(model.deviceOptimizerCalls, 1);
    assert.deepEqual(logOf(deviceDir), logOf(hostDir));
    assert.deepEqual(model.w.value, initial, "the host copy is not stepped");
    const saved = readCheckpoint(join(deviceDir, "checkpoint"));
    assert.deepEqual(saved.params.get("w")?.value, model.device?.w.value);
    assert.deepEqual(saved.params.get("w")?.value, readCheckpoint(join(hostDir, "checkpoint")).params.get("w")?.value);
  });

  it("3 steps, then a resume to the end, log what one run logs", async () => {
    const straight = join(root, "straight");
    await train({ ...base, model: new DeviceSoftmaxModel(), outputDir: straight });
    const resumed = join(root, "resumed");
    await train({ ...base, model: new DeviceSoftmaxModel(), outputDir: resumed, maxSteps: 3, saveEvery: 3 });
    await train({ ...base, model: new DeviceSoftmaxModel(), outputDir: resumed, resume: true });
    assert.deepEqual(logOf(resumed), logOf(straight));
  });

  it("data-parallel ranks keep the host optimizer", async () => {
    const [reducer] = inProcessGroup(1);
    const model = new DeviceSoftmaxModel();
    await train({ ...base, model, outputDir: join(root, "ranks"), distributed: { reducer: reducer! } });
    assert.equal(model.deviceOptimizerCalls, 0);
  });
});
