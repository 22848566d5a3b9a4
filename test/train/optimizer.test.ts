import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AdamW, clipGradNorm, type Parameter } from "../../src/train/optimizer.js";
import { cosineWithWarmup, warmupStepsFor } from "../../src/train/schedule.js";

describe("schedule", () => {
  it("cosine with warm-up matches transformers' get_cosine_schedule_with_warmup", () => {
    // transformers 5.24.0: get_cosine_schedule_with_warmup(SGD(lr=2e-4), 3, 10), lr before each step.
    const expected = [
      0.0, 6.666666666666667e-5, 0.00013333333333333334, 0.0002, 0.0001900968867902419, 0.00016234898018587337, 0.00012225209339563145,
      7.774790660436858e-5, 3.7651019814126654e-5, 9.903113209758096e-6, 0.0,
    ];
    expected.forEach((lr, step) => {
      const got = cosineWithWarmup(step, { baseLr: 2e-4, warmupSteps: 3, totalSteps: 10 });
      assert.ok(Math.abs(got - lr) < 1e-15, `step ${step}: ${got} vs ${lr}`);
    });
  });

  it("warm-up steps round up like transformers", () => {
    assert.equal(warmupStepsFor(100, 0.03), 3);
    assert.equal(warmupStepsFor(10, 0.03), 1);
    assert.equal(warmupStepsFor(10, 0), 0);
  });
});

describe("AdamW", () => {
  it("three steps match torch.optim.AdamW(lr 0.1, weight_decay 0.01)", () => {
    const p: Parameter = { name: "x", shape: [3], value: Float32Array.from([0.5, -1, 2]), grad: new Float32Array(3) };
    const opt = new AdamW([p], { weightDecay: 0.01 });
    for (const g of [
      [1, -2, 0.5],
      [0.3, 0.3, -4],
      [-1, 0, 2],
    ]) {
      p.grad.set(g);
      opt.step(0.1);
    }
    // torch 2.13.0 CPU, float32.
    const expected = [0.3096804916858673, -0.7993532419204712, 1.9766441583633423];
    for (const [i, e] of expected.entries()) assert.ok(Math.abs(p.value[i] - e) < 1e-6, `${i}: ${p.value[i]} vs ${e}`);
    assert.equal(opt.t, 3);
  });

  it("clipping scales gradients to the global norm and returns the norm before", () => {
    const a: Parameter = { name: "a", shape: [2], value: new Float32Array(2), grad: Float32Array.from([3, 0]) };
    const b: Parameter = { name: "b", shape: [1], value: new Float32Array(1), grad: Float32Array.from([4]) };
    assert.equal(clipGradNorm([a, b], 1), 5);
    const coef = 1 / (5 + 1e-6);
    assert.ok(Math.abs(a.grad[0] - 3 * coef) < 1e-7);
    assert.ok(Math.abs(b.grad[0] - 4 * coef) < 1e-7);
    assert.ok(Math.abs(clipGradNorm([a, b], 10) - 1) < 1e-6);
    assert.ok(Math.abs(b.grad[0] - 4 * coef) < 1e-7, "a norm under the limit is not scaled");
  });

  it("a NaN gradient gives a NaN norm and is left unscaled", () => {
    const a: Parameter = { name: "a", shape: [2], value: new Float32Array(2), grad: Float32Array.from([Number.NaN, 1]) };
    assert.ok(Number.isNaN(clipGradNorm([a], 1)));
    assert.equal(a.grad[1], 1);
  });
});
