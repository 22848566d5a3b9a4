// mulberry32: a small deterministic generator, so batch order depends only on the seed
import { mulberry32 } from "../random.js";
import type { TokenizedExample } from "./tokenize.js";

export { mulberry32 };

/** The label that carries no loss (PyTorch's ignore_index). */
export const IGNORE_INDEX = -100;

/** A padded batch, row-major [batch, tokens]. */
export interface Batch {
  /** [batch, tokens] input ids; padding uses `padId`. */
  ids: Int32Array;
  /**
   * [batch, tokens] labels, already shifted: targets[b, t] is the token to predict after
   * position t (ids[b, t + 1]) where the loss mask covers it, else -100 (also on padding).
   */
  targets: Int32Array;
  batch: number;
  tokens: number;
  /** Number of labels that are not -100. */
  targetCount: number;
  /** Dataset indices of the rows. */
  indices: number[];
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * The batches of one epoch as lists of example indices: a seeded shuffle, then groups of
 * `batchSize × bucketFactor` examples sorted by length and cut into batches (similar lengths
 * share a batch, so little padding), then the batches shuffled. Same seed and epoch → same order.
 */
export function epochBatchIndices(lengths: readonly number[], options: { batchSize: number; seed: number; epoch: number; bucketFactor?: number }): number[][] {
  const random = mulberry32((options.seed * 1000003 + options.epoch * 7919) >>> 0);
  const order = shuffle(
    lengths.map((_, i) => i),
    random,
  );
  const group = options.batchSize * (options.bucketFactor ?? 8);
  const batches: number[][] = [];
  for (let g = 0; g < order.length; g += group) {
    const chunk = order.slice(g, g + group).sort((a, b) => lengths[a] - lengths[b] || a - b);
    for (let b = 0; b < chunk.length; b += options.batchSize) batches.push(chunk.slice(b, b + options.batchSize));
  }
  return shuffle(batches, random);
}

/** Pads the examples at `indices` into one batch (right padding, labels shifted by one). */
export function collate(examples: readonly TokenizedExample[], indices: readonly number[], padId = 0): Batch {
  const tokens = Math.max(1, ...indices.map((i) => examples[i].ids.length));
  const batch = indices.length;
  const ids = new Int32Array(batch * tokens).fill(padId);
  const targets = new Int32Array(batch * tokens).fill(IGNORE_INDEX);
  let targetCount = 0;
  indices.forEach((index, row) => {
    const ex = examples[index];
    ids.set(ex.ids, row * tokens);
    for (let t = 0; t + 1 < ex.ids.length; t++) {
      if (ex.mask[t + 1] === 1) {
        targets[row * tokens + t] = ex.ids[t + 1];
        targetCount++;
      }
    }
  });
  return { ids, targets, batch, tokens, targetCount, indices: [...indices] };
}
