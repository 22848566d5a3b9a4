// NEFTune's noise: its half-width as transformers computes it, its distribution, and seeds apart
// from the LoRA dropout masks'.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loraDropoutSeed } from "../../src/engine/cpu/dropout.js";
import { neftuneMagnitude, neftuneNoise, neftuneSeed } from "../../src/engine/neftune.js";

describe("NEFTune noise", () => {
  it("has transformers' half-width alpha / √(padded length · hidden)", () => {
    assert.equal(neftuneMagnitude(5, 512, 576), 5 / Math.sqrt(512 * 576));
    assert.equal(neftuneMagnitude(0, 512, 576), 0);
  });

  it("is uniform on [−m, m): every value inside, mean 0 and variance m²/3 within their sampling error", () => {
    const m = 0.25;
    const n = 200_000;
    const x = neftuneNoise(1234, n, m);
    let sum = 0;
    let sq = 0;
    for (const v of x) {
      assert.ok(v >= -m && v < m, `${v} outside [−${m}, ${m})`);
      sum += v;
      sq += v * v;
    }
    const mean = sum / n;
    const variance = sq / n - mean * mean;
    // the standard error of the mean is m/√(3n) ≈ 3.2e-4; of the variance ≈ 0.9 % of m²/3
    assert.ok(Math.abs(mean) < 5 * (m / Math.sqrt(3 * n)), `mean ${mean}`);
    assert.ok(Math.abs(variance / ((m * m) / 3) - 1) < 0.05, `variance ${variance} against ${(m * m) / 3}`);
    // the same seed gives the same values; another seed others
    assert.deepEqual(neftuneNoise(1234, 100, m), x.subarray(0, 100));
    assert.notDeepEqual(neftuneNoise(1235, 100, m), x.subarray(0, 100));
  });

  it("draws a new seed each call, none of them a LoRA dropout seed of the run", () => {
    const dropoutSeeds = new Set<number>();
    for (let call = 0; call < 50; call++) for (let index = 0; index < 200; index++) dropoutSeeds.add(loraDropoutSeed(7, call, index));
    const seeds = Array.from({ length: 50 }, (_, call) => neftuneSeed(7, call));
    assert.equal(new Set(seeds).size, 50);
    for (const s of seeds) assert.ok(!dropoutSeeds.has(s), `seed ${s} is also a dropout seed`);
  });
});
