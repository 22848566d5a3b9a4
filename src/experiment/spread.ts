// How the scaling report writes a spread over seeds (the spread itself: `spreadOf` in eval/stats).
import type { Spread } from "../eval/stats.js";

/**
 * `format(mean)`, then the range over the runs when there are several:
 * `45.8 % (43.8–47.9)`; "—" for no value.
 */
export function formatSpread(spread: Spread | null, format: (v: number) => string): string {
  if (spread === null) return "—";
  if (spread.n < 2) return format(spread.mean);
  return `${format(spread.mean)} (${format(spread.min)}–${format(spread.max)})`;
}
