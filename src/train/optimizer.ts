import { AgentTuneError } from "../errors.js";

/** A trainable tensor and its gradient, both flat float32 of the same length. */
export interface Parameter {
  name: string;
  /** Shape of `value`, e.g. [r, in] for a LoRA A. */
  shape: readonly number[];
  value: Float32Array;
  grad: Float32Array;
}

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/** torch.optim.AdamW's defaults, for AdamW here and the GPU's AdamW (src/train/cuda-model.ts). */
export const ADAMW_DEFAULTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

/** Every step's loss or gradient was NaN/Inf too many times in a row. */
export class NonFiniteLossError extends AgentTuneError {
  constructor(count: number, step: number) {
    super(`the loss or gradient was NaN or Inf for ${count} steps in a row (last at step ${step}); training stopped`, {
      hint: "lower --lr, check the data for empty or broken examples, or resume from the last checkpoint",
    });
  }
}

/**
 * AdamW in float32, the same update as torch.optim.AdamW (decoupled weight decay applied
 * before the moment update; bias-corrected moments). Moments `m`, `v` are per parameter.
 */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Number of updates applied so far (torch's `step`). */
  t = 0;
  readonly m: Float32Array[];
  readonly v: Float32Array[];

  constructor(
    readonly params: readonly Parameter[],
    options: AdamWOptions = {},
  ) {
    this.beta1 = options.beta1 ?? ADAMW_DEFAULTS.beta1;
    this.beta2 = options.beta2 ?? ADAMW_DEFAULTS.beta2;
    this.eps = options.eps ?? ADAMW_DEFAULTS.eps;
    this.weightDecay = options.weightDecay ?? 0;
    this.m = params.map((p) => new Float32Array(p.value.length));
    this.v = params.map((p) => new Float32Array(p.value.length));
  }

  /** Applies one update with learning rate `lr` from the current gradients. */
  step(lr: number): void {
    this.t++;
    const { beta1: b1, beta2: b2, eps, weightDecay: wd } = this;
    const bc1 = 1 - b1 ** this.t;
    const bc2 = 1 - b2 ** this.t;
    const stepSize = lr / bc1;
    const bc2Sqrt = Math.sqrt(bc2);
    this.params.forEach((p, k) => {
      const x = p.value;
      const g = p.grad;
      const m = this.m[k];
      const v = this.v[k];
      for (let i = 0; i < x.length; i++) {
        if (wd !== 0) x[i] *= 1 - lr * wd;
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        x[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + eps);
      }
    });
  }
}

/** The L2 norm of all gradients together (float64 accumulation); NaN/Inf when any is. */
export function globalGradNorm(params: readonly Parameter[]): number {
  let sum = 0;
  for (const p of params) for (let i = 0; i < p.grad.length; i++) sum += p.grad[i] * p.grad[i];
  return Math.sqrt(sum);
}

/**
 * What torch's clip_grad_norm_ multiplies the gradients by for a global norm `norm`:
 * maxNorm / (norm + 1e-6), clamped to 1; 1 when the norm is NaN or Inf (the step is skipped).
 */
export function clipCoefficient(norm: number, maxNorm: number): number {
  const coef = maxNorm / (norm + 1e-6);
  return Number.isFinite(norm) && coef < 1 ? coef : 1;
}

/** Scales gradients so their global norm is at most `maxNorm` (clipCoefficient). Returns the norm before clipping. */
export function clipGradNorm(params: readonly Parameter[], maxNorm: number): number {
  const norm = globalGradNorm(params);
  const coef = clipCoefficient(norm, maxNorm);
  if (coef < 1) {
    for (const p of params) for (let i = 0; i < p.grad.length; i++) p.grad[i] *= coef;
  }
  return norm;
}

/** What a checkpoint keeps of the optimizer: updates so far, each parameter's value and moments (parameters() order). */
export interface OptimizerSnapshot {
  t: number;
  values: readonly Float32Array[];
  m: readonly Float32Array[];
  v: readonly Float32Array[];
}

/**
 * Clipping and AdamW over the trainable tensors, wherever their gradients are: on the host
 * (HostStepOptimizer) or on the GPU that computed them (a model's `deviceOptimizer`).
 */
export interface StepOptimizer {
  /** Returns the global L2 norm of the accumulated gradients (NaN/Inf when any is) and scales them to at most maxNorm, as torch's clip_grad_norm_. */
  clipGradients(maxNorm: number): number;
  /** One AdamW update at `lr` from the (clipped) gradients. */
  step(lr: number): void;
  snapshot(): OptimizerSnapshot;
  /** Sets what `snapshot` returned (a resume). */
  restore(snapshot: OptimizerSnapshot): void;
  /**
   * Data-parallel ranks whose optimizer keeps the gradients where they are (a model's
   * deviceOptimizer given the ranks' reducer): sums the accumulated gradients and `loss` over the
   * ranks there, and returns the summed loss. Absent, the trainer sums host gradients.
   */
  reduce?(loss: number): Promise<number>;
}

/** AdamW and clipping on the host, over the parameters' own float32 arrays. */
export class HostStepOptimizer implements StepOptimizer {
  private readonly adamw: AdamW;

  constructor(
    private readonly params: readonly Parameter[],
    options: AdamWOptions = {},
  ) {
    this.adamw = new AdamW(params, options);
  }

  clipGradients(maxNorm: number): number {
    return clipGradNorm(this.params, maxNorm);
  }

  step(lr: number): void {
    this.adamw.step(lr);
  }

  snapshot(): OptimizerSnapshot {
    return { t: this.adamw.t, values: this.params.map((p) => p.value), m: this.adamw.m, v: this.adamw.v };
  }

  restore(s: OptimizerSnapshot): void {
    this.params.forEach((p, k) => {
      p.value.set(s.values[k] as Float32Array);
      this.adamw.m[k]?.set(s.m[k] as Float32Array);
      this.adamw.v[k]?.set(s.v[k] as Float32Array);
    });
    this.adamw.t = s.t;
  }
}
