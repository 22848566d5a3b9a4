import { mulberry32 } from "../random.js";

/**
 * A small seeded random generator (mulberry32) for the data builder: the same seed gives the
 * same dataset on every machine and Node version (Math.random is never used).
 */
export class Rng {
  private readonly source: () => number;

  constructor(seed: number) {
    this.source = mulberry32(hashSeed(seed));
  }

  /** A float in [0, 1). */
  next(): number {
    return this.source();
  }

  /** An integer in [min, max] (both included). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick from an empty list");
    return items[Math.floor(this.next() * items.length)];
  }

  /** `count` distinct elements (fewer when the list is shorter), in random order. */
  sample<T>(items: readonly T[], count: number): T[] {
    return this.shuffle(items).slice(0, count);
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Mixes a seed (any number) into a 32-bit state so that nearby seeds give unrelated streams. */
function hashSeed(seed: number): number {
  let h = Math.floor(Number.isFinite(seed) ? seed : 0) ^ 0x9e3779b9;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** A 32-bit FNV-1a hash of a string (stable ids and seeds derived from text). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * An Rng whose `pick` deals the lists it is given from shuffled decks: every element of such a
 * list comes up once before any comes up twice, then its deck is shuffled again. Other lists are
 * drawn as by Rng. A build uses it for even coverage of a slot list that plain draws leave gaps in
 * at a few hundred samples.
 */
export class DeckRng extends Rng {
  private readonly decks = new Map<readonly unknown[], unknown[]>();

  constructor(seed: number, dealt: readonly (readonly unknown[])[]) {
    super(seed);
    for (const list of dealt) this.decks.set(list, []);
  }

  override pick<T>(items: readonly T[]): T {
    const deck = this.decks.get(items) as T[] | undefined;
    if (deck === undefined) return super.pick(items);
    if (items.length === 0) throw new RangeError("pick from an empty list");
    if (deck.length === 0) deck.push(...this.shuffle(items));
    return deck.pop() as T;
  }
}

