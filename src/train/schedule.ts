/**
 * Cosine learning-rate schedule with linear warm-up, as transformers'
 * `get_cosine_schedule_with_warmup` (num_cycles 0.5): the multiplier rises linearly from 0 over
 * `warmupSteps`, then falls along half a cosine to 0 at `totalSteps`.
 */
export function cosineWithWarmup(step: number, options: { baseLr: number; warmupSteps: number; totalSteps: number }): number {
  const { baseLr, warmupSteps, totalSteps } = options;
  if (step < warmupSteps) return (baseLr * step) / Math.max(1, warmupSteps);
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  return baseLr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 2 * 0.5 * progress)));
}

/** Warm-up steps for a ratio of the total, as transformers' `TrainingArguments.get_warmup_steps` (ceil). */
export function warmupStepsFor(totalSteps: number, ratio: number): number {
  return Math.ceil(totalSteps * ratio);
}
