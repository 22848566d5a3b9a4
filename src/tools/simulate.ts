import { mulberry32 } from "../random.js";
import type { JsonValue } from "./types.js";

/**
 * The deterministic randomness every simulator shares. A simulator draws from a generator
 * seeded with a hash of (tool, canonical arguments, seed), so the same call with the same seed
 * always gives the same observation, and another seed gives other values.
 */

/** 32-bit FNV-1a hash of a string's UTF-16 code units. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export { mulberry32 };

/** JSON with object keys sorted at every level, so equal values always give equal text. */
export function sortedJson(value: JsonValue | undefined): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(",")}]`;
  const keys = Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${sortedJson(value[k])}`).join(",")}}`;
}

/** Hash of several parts (strings, numbers, JSON values) joined unambiguously. */
export function hashOf(...parts: (JsonValue | undefined)[]): number {
  return fnv1a(parts.map((p) => (typeof p === "string" ? p : sortedJson(p))).join("\u0000"));
}

/** A seeded generator with the draws simulators need. */
export class SimRandom {
  private readonly source: () => number;

  constructor(seed: number) {
    this.source = mulberry32(seed);
  }

  /** A generator seeded from a hash of `parts`: `SimRandom.of("get_weather", "Tokyo", seed)`. */
  static of(...parts: (JsonValue | undefined)[]): SimRandom {
    return new SimRandom(hashOf(...parts));
  }

  /** A float in [0, 1). */
  next(): number {
    return this.source();
  }

  /** A float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.source();
  }

  /** An integer in [lo, hi], both ends included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.source() * (hi - lo + 1));
  }

  /** A float in [-1, 1] that favours the middle (the mean of two uniforms). */
  centered(): number {
    return this.source() + this.source() - 1;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.source() * items.length)];
  }

  /** One key by weight; weights need not sum to 1. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let r = this.source() * total;
    for (const [key, w] of entries) {
      r -= w;
      if (r < 0) return key;
    }
    return entries[entries.length - 1][0];
  }

  /** A copy of the list in a random order. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.source() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** `n` lowercase hex digits. */
  hex(n: number): string {
    let s = "";
    while (s.length < n) s += Math.floor(this.source() * 16).toString(16);
    return s;
  }
}

/** Rounds to `digits` decimals (half away from zero, as people round prices). */
export function roundTo(value: number, digits: number): number {
  const f = 10 ** digits;
  return (Math.sign(value) * Math.round(Math.abs(value) * f + 1e-9)) / f;
}

/** Lowercase, accents removed, spaces collapsed: the key under which names are looked up. */
export function lookupKey(text: string): string {
  return text
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[.'’]/g, "")
    .replace(/[\s_-]+/g, " ")
    .trim();
}

/** Start of the simulated month: every seed's clock falls in November 2026. */
const CLOCK_START = Date.UTC(2026, 10, 1);
const CLOCK_SPAN_MINUTES = 30 * 24 * 60;

/**
 * The simulated "now" for a seed: a minute in November 2026 chosen by the seed. All tools of
 * one episode share it, so `get_time` in Tokyo and in London agree, and the weather fits the
 * season. Independent of the real clock so that observations are reproducible.
 */
export function simulatedNow(seed: number): Date {
  const minute = hashOf("clock", seed) % CLOCK_SPAN_MINUTES;
  return new Date(CLOCK_START + minute * 60_000);
}
