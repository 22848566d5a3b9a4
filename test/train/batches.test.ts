import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { collate, epochBatchIndices, IGNORE_INDEX } from "../../src/train/batches.js";

describe("batches", () => {
  const lengths = [5, 50, 7, 48, 6, 52, 9, 47, 8, 51];

  it("the same seed and epoch give the same batches, another epoch another order", () => {
    const a = epochBatchIndices(lengths, { batchSize: 2, seed: 1, epoch: 0 });
    assert.deepEqual(a, epochBatchIndices(lengths, { batchSize: 2, seed: 1, epoch: 0 }));
    assert.notDeepEqual(a, epochBatchIndices(lengths, { batchSize: 2, seed: 1, epoch: 1 }));
    assert.deepEqual(a.flat().sort((x, y) => x - y), lengths.map((_, i) => i));
  });

  it("batches group examples of similar length", () => {
    for (const batch of epochBatchIndices(lengths, { batchSize: 5, seed: 3, epoch: 0 })) {
      const ls = batch.map((i) => lengths[i]);
      assert.ok(Math.max(...ls) - Math.min(...ls) < 10, JSON.stringify(ls));
    }
  });

  it("padding carries no loss and labels are shifted by one", () => {
    const examples = [
      { ids: Int32Array.from([10, 11, 12, 13]), mask: Uint8Array.from([0, 0, 1, 1]), messages: 2, truncated: false },
      { ids: Int32Array.from([20, 21]), mask: Uint8Array.from([0, 1]), messages: 2, truncated: false },
    ];
    const b = collate(examples, [0, 1], 0);
    assert.equal(b.tokens, 4);
    assert.deepEqual([...b.ids], [10, 11, 12, 13, 20, 21, 0, 0]);
    assert.deepEqual([...b.targets], [IGNORE_INDEX, 12, 13, IGNORE_INDEX, 21, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]);
    assert.equal(b.targetCount, 3);
  });
});
