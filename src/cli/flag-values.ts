import { InvalidInputError } from "../errors.js";
import type { FlagSpec, FlagValues } from "./command.js";

/** A flag that must be a whole number ≥ min. */
export function wholeFlag(flags: FlagValues, name: string, min: number): number {
  const v = flags[name];
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw new InvalidInputError(`--${name} must be a whole number ≥ ${min}, got ${String(v)}`, { field: name });
  return v;
}

/** The same, for a flag that may be left out. */
export function optionalWholeFlag(flags: FlagValues, name: string, min: number): number | undefined {
  return flags[name] === undefined ? undefined : wholeFlag(flags, name, min);
}

/** A flag that must be a number above 0. */
export function positiveFlag(flags: FlagValues, name: string): number {
  const v = flags[name];
  if (typeof v !== "number" || !(v > 0)) throw new InvalidInputError(`--${name} must be a positive number, got ${String(v)}`, { field: name });
  return v;
}

/** --neftune-alpha as the LoRA settings take it: absent when 0 (off), so settings from before the flag compare equal. */
export function neftuneFlag(flags: FlagValues): { neftuneAlpha?: number } {
  const v = flags["neftune-alpha"];
  if (typeof v !== "number" || !(v >= 0 && Number.isFinite(v))) {
    throw new InvalidInputError(`--neftune-alpha must be a number ≥ 0, got ${String(v)}`, { field: "neftune-alpha", hint: "the NEFTune paper uses 5 to 15; 0 turns it off" });
  }
  return v > 0 ? { neftuneAlpha: v } : {};
}

/** The flag's spec, shared by train and experiment scaling (TRL's name as the alias). */
export const NEFTUNE_FLAG: Record<string, FlagSpec> = {
  "neftune-alpha": { type: "number", description: "NEFTune: uniform noise of alpha/√(length·hidden) on the input embeddings while training (0: off)", default: 0, aliases: ["neftune_noise_alpha"] },
};

/** --dropout: a LoRA dropout probability, at least 0 and below 1 (1 would scale the kept inputs by 1/0). */
export function dropoutFlag(flags: FlagValues): number {
  const v = flags.dropout;
  if (typeof v !== "number" || !(v >= 0 && v < 1)) throw new InvalidInputError(`--dropout must be at least 0 and below 1, got ${String(v)}`, { field: "dropout" });
  return v;
}

/** --warmup-ratio: the share of the steps spent warming up, at least 0 and below 1. */
export function warmupRatioFlag(flags: FlagValues): number {
  const v = flags["warmup-ratio"];
  if (typeof v !== "number" || !(v >= 0 && v < 1)) {
    throw new InvalidInputError(`--warmup-ratio must be at least 0 and below 1, got ${String(v)}`, { field: "warmup-ratio", hint: "the reference warms up over 0.03 of the steps" });
  }
  return v;
}

/** --weight-decay: AdamW's decoupled weight decay, a number ≥ 0 (TRL's default 0). */
export function weightDecayFlag(flags: FlagValues): number {
  const v = flags["weight-decay"];
  if (typeof v !== "number" || !(v >= 0 && Number.isFinite(v))) {
    throw new InvalidInputError(`--weight-decay must be a number ≥ 0, got ${String(v)}`, { field: "weight-decay", hint: "0 (the default) turns it off; 0.01 to 0.1 are usual" });
  }
  return v;
}
