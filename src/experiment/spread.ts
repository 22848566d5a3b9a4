/** The mean of a quantity over repeated runs (seeds) and how far the runs spread around it. */
export interface Spread {
  mean: number;
  /** Sample standard deviation (n − 1); 0 for a single run. */
  std: number;
  min: number;
  max: number;
  /** Runs it is over. */
  n: number;
}

/** The spread of the finite values among `values`; null when there are none (nothing applied). */
export function spreadOf(values: readonly (number | null | undefined)[]): Spread | null {
  const xs = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  if (xs.length === 0) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.length < 2 ? 0 : xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return { mean, std: Math.sqrt(variance), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/**
 * `format(mean)`, then the range over the runs when there are several:
 * `45.8 % (43.8–47.9)`; "—" for no value.
 */
export function formatSpread(spread: Spread | null, format: (v: number) => string): string {
  if (spread === null) return "—";
  if (spread.n < 2) return format(spread.mean);
  return `${format(spread.mean)} (${format(spread.min)}–${format(spread.max)})`;
}
