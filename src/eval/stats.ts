/**
 * The mean of a quantity over repeated runs (seeds, evaluations) and how far the runs spread
 * around it — one definition for the many-run comparison table and for `scaling.json`.
 */
export interface Spread {
  mean: number;
  /** Sample standard deviation (divides by n − 1); 0 for a single run. */
  std: number;
  min: number;
  max: number;
  /** Runs it is over. */
  n: number;
}

/**
 * `format(mean)`, then for several runs `± format(std)` when `withStd`, and the range over them:
 * `45.8 (43.8–47.9)`, `45.8 ± 3.6 (41.7–47.9)`; "—" for no value.
 */
export function formatSpread(spread: Spread | null, format: (v: number) => string, options: { withStd?: boolean } = {}): string {
  if (spread === null) return "—";
  if (spread.n < 2) return format(spread.mean);
  const std = options.withStd === true ? ` ± ${format(spread.std)}` : "";
  return `${format(spread.mean)}${std} (${format(spread.min)}–${format(spread.max)})`;
}

/** The spread of the finite values among `values`; null when there are none (nothing applied). */
export function spreadOf(values: readonly (number | null | undefined)[]): Spread | null {
  const xs = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  if (xs.length === 0) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.length < 2 ? 0 : xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return { mean, std: Math.sqrt(variance), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}
