// The trainer with a model that keeps its optimizer where its gradients are (a GPU, faked here):
// the same losses as the host AdamW, resumable from its checkpoints; data-parallel ranks sum their
// gradients there too when the model can, and host gradients when it cannot.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { ChatMessage } from "../../src/agent/chat-model.js";
import { readCheckpoint } from "../../src/train/checkpoint.js";
import { type GradientReducer, inProcessGroup } from "../../src/train/distributed.js";
import { HostStepOptimizer, type StepOptimizer } from "../../src/train/optimizer.js";
import { chatmlTemplate, tokenizeDataset } from "../../src/train/tokenize.js";
import { type StepLog, TrainSetupError, train } from "../../src/train/trainer.js";
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
  /** Whether the fake GPU can sum its gradients over data-parallel ranks (as NCCL does for the CUDA model). */
  reducesOnDevice = true;
  deviceOptimizer(options: { weightDecay: number; reducer?: GradientReducer }): StepOptimizer | undefined {
    const { reducer } = options;
    if (reducer !== undefined && !this.reducesOnDevice) return undefined;
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
      // the fake device's gradients summed over the ranks where they are
      ...(reducer === undefined
        ? {}
        : {
            reduce: async (loss: number) => {
              const total = Float32Array.of(loss);
              await reducer.allReduceSum([...device.parameters().map((p) => p.grad), total]);
              return total[0] as number;
            },
          }),
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

  it("two data-parallel ranks summing on the device log what one rank logs, and leave the host gradients alone", async () => {
    const one = join(root, "one-rank");
    await train({ ...base, model: new DeviceSoftmaxModel(), outputDir: one });
    const models = [new DeviceSoftmaxModel(), new DeviceSoftmaxModel()];
    const reducers = inProcessGroup(2);
    const dirs = [join(root, "rank0"), join(root, "rank1")];
    await Promise.all(models.map((model, r) => train({ ...base, model, outputDir: dirs[r] as string, distributed: { reducer: reducers[r]! } })));
    for (const model of models) {
      assert.equal(model.deviceOptimizerCalls, 1);
      assert.ok(model.w.grad.every((g) => g === 0), "no host gradient was made");
    }
    // the sums differ from one rank's in the order of the additions: a few ulps
    const [want, got] = [logOf(one), logOf(dirs[0] as string)];
    assert.equal(got.length, want.length);
    for (const [i, row] of got.entries()) {
      for (const [j, v] of row.entries()) assert.ok(Math.abs(v - (want[i]?.[j] as number)) <= 1e-6 * Math.max(1, Math.abs(v)), `step ${i + 1}, column ${j}: ${v} against ${want[i]?.[j]}`);
    }
    assert.deepEqual(models[0]?.device?.w.value, models[1]?.device?.w.value, "every rank applies the same update");
  });

  it("ranks of a model that cannot sum on the device keep the host optimizer, and one that returns no reduce is refused", async () => {
    const [reducer] = inProcessGroup(1);
    const model = new DeviceSoftmaxModel();
    model.reducesOnDevice = false;
    await train({ ...base, model, outputDir: join(root, "ranks"), distributed: { reducer: reducer! } });
    assert.equal(model.deviceOptimizerCalls, 0);
    const careless = new DeviceSoftmaxModel();
    const plain = careless.deviceOptimizer.bind(careless);
    careless.deviceOptimizer = (o) => {
      const { reduce: _reduce, ...rest } = plain({ weightDecay: o.weightDecay, reducer: o.reducer }) as StepOptimizer;
      return rest;
    };
    const [again] = inProcessGroup(1);
    await assert.rejects(train({ ...base, model: careless, outputDir: join(root, "careless"), distributed: { reducer: again! } }), (e: unknown) => e instanceof TrainSetupError && /cannot sum gradients over data-parallel ranks/.test(e.message));
  });
});
