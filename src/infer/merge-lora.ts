// A PEFT LoRA adapter (SPECS §5) merged into a model's f32 projection weights at load, so the
// engine's decoder runs the adapted model at the base model's speed: W' = W + (alpha/r)·B·A.
// Weights are in Hugging Face layout (a GGUF base is read back into that layout first), which is
// the layout PEFT's keys and shapes refer to.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { matmul } from "../engine/cpu/matmul.js";
import { AgentTuneError, FileFormatError } from "../errors.js";
import type { HostWeight } from "../model/decoder.js";
import { type LoraWeights, readPeftAdapter } from "../train/export-peft.js";

/** An adapter tensor does not fit the model: unknown key, missing partner, or wrong shape. */
export class AdapterMismatchError extends AgentTuneError {
  /** The adapter tensor's key, e.g. `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`. */
  readonly key: string;
  constructor(options: { key: string; problem: string; source?: string; hint?: string }) {
    super(`${options.source === undefined ? "" : `${options.source}: `}adapter tensor "${options.key}" ${options.problem}`, {
      hint: options.hint ?? "the adapter was trained on another base model; pass the base model it was trained on (adapter_config.json base_model_name_or_path)",
      exitCode: 2,
    });
    this.key = options.key;
  }
}

// PEFT's saved keys for the seven projections of a Llama/Qwen/Gemma-style decoder.
const KEY = /^base_model\.model\.(model\.layers\.\d+\.(?:self_attn\.(?:q|k|v|o)_proj|mlp\.(?:gate|up|down)_proj))\.lora_(A|B)\.weight$/;

/**
 * W: [out, in] += scale · B: [out, r] · A: [r, in], in place (one sgemm with beta = 1).
 */
export function mergeLoraPair(w: Float32Array, a: Float32Array, b: Float32Array, out: number, inF: number, r: number, scale: number): void {
  // C[m×n] = alpha·A[m×k]·B[k×n] + beta·C with m = out, n = in, k = r: the product B·A.
  matmul(false, false, out, inF, r, scale, b, r, a, inF, 1, w, inF);
}

/** Options of `mergeLora`. */
export interface MergeLoraOptions {
  /** Multiplier of B·A; default alpha / r. */
  scale?: number;
  /** Names the adapter in errors (its folder). */
  source?: string;
}

/**
 * The weights with every LoRA pair of the adapter merged in: a new map whose merged entries are
 * fresh copies (the input map and its arrays are left as they were). Throws AdapterMismatchError
 * naming the key for a key that is not a projection's lora_A/lora_B, a projection the model does
 * not have, an A without its B (or the reverse), or shapes that do not fit W: [out, in]
 * (A must be [r, in], B [out, r]).
 */
export function mergeLora(weights: ReadonlyMap<string, HostWeight>, adapter: LoraWeights, options: MergeLoraOptions = {}): Map<string, HostWeight> {
  const scale = options.scale ?? adapter.alpha / adapter.rank;
  const source = options.source;
  const pairs = new Map<string, { a?: string; b?: string }>();
  for (const key of adapter.tensors.keys()) {
    const m = KEY.exec(key);
    if (m === null) {
      throw new AdapterMismatchError({
        key,
        source,
        problem: "is not a LoRA weight of a q/k/v/o/gate/up/down projection",
        hint: "the engine merges PEFT LoRA adapters on the seven projections (keys base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight, …); other modules and DoRA are not supported",
      });
    }
    const module = m[1] as string;
    const pair = pairs.get(module) ?? {};
    if (m[2] === "A") pair.a = key;
    else pair.b = key;
    pairs.set(module, pair);
  }
  const merged = new Map(weights);
  for (const [module, pair] of pairs) {
    if (pair.a === undefined || pair.b === undefined) {
      const key = (pair.a ?? pair.b) as string;
      throw new AdapterMismatchError({ key, source, problem: `has no ${pair.a === undefined ? "lora_A" : "lora_B"} partner`, hint: "the adapter file is incomplete; export it again" });
    }
    const target = `${module}.weight`;
    const w = weights.get(target);
    if (w === undefined) throw new AdapterMismatchError({ key: pair.a, source, problem: `targets ${target}, which this model does not have` });
    if (w.shape.length !== 2) throw new AdapterMismatchError({ key: pair.a, source, problem: `targets ${target} of shape [${w.shape.join(", ")}], not a matrix` });
    const [out, inF] = w.shape as [number, number];
    const a = adapter.tensors.get(pair.a) as { shape: readonly number[]; data: Float32Array };
    const b = adapter.tensors.get(pair.b) as { shape: readonly number[]; data: Float32Array };
    const r = a.shape[0] as number;
    if (a.shape.length !== 2 || r !== adapter.rank || a.shape[1] !== inF) {
      throw new AdapterMismatchError({ key: pair.a, source, problem: `has shape [${a.shape.join(", ")}]; ${target} is [${out}, ${inF}], so lora_A must be [${adapter.rank}, ${inF}] (r = ${adapter.rank})` });
    }
    if (b.shape.length !== 2 || b.shape[0] !== out || b.shape[1] !== r) {
      throw new AdapterMismatchError({ key: pair.b, source, problem: `has shape [${b.shape.join(", ")}]; ${target} is [${out}, ${inF}], so lora_B must be [${out}, ${r}]` });
    }
    const data = Float32Array.from(w.data);
    mergeLoraPair(data, a.data, b.data, out, inF, r, scale);
    merged.set(target, { shape: w.shape, data });
  }
  return merged;
}

/** A PEFT adapter read for merging, with the scale its config asks for. */
export interface MergeableAdapter {
  adapter: LoraWeights;
  /** alpha / r, or alpha / √r for rsLoRA. */
  scale: number;
}

/**
 * Reads a PEFT adapter folder and checks that its settings are ones a plain merge reproduces:
 * no DoRA, no per-module rank or alpha patterns, no fan_in_fan_out (GPT-2 style Conv1D), no
 * trained biases. rsLoRA's alpha/√r scale is honoured. Throws FileFormatError naming the field.
 */
export function readMergeableAdapter(dir: string): MergeableAdapter {
  const adapter = readPeftAdapter(dir);
  const configPath = join(dir, "adapter_config.json");
  if (adapter.tensors.size === 0) {
    throw new FileFormatError({ file: join(dir, "adapter_model.safetensors"), problem: "holds no LoRA tensors", hint: "the adapter is empty; export it again from the training run" });
  }
  const config = existsSync(configPath) ? (JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>) : {};
  const refuse = (field: string, problem: string, hint: string) => {
    throw new FileFormatError({ file: configPath, location: field, problem, hint });
  };
  if (config.use_dora === true) refuse("use_dora", "is true: DoRA adapters cannot be merged as W + (alpha/r)·B·A", "merge it with PEFT (merge_and_unload) and load the merged folder");
  if (config.fan_in_fan_out === true) refuse("fan_in_fan_out", "is true (Conv1D weights)", "the engine's models use Linear projections; this adapter is for another architecture");
  for (const field of ["rank_pattern", "alpha_pattern"]) {
    const v = config[field];
    if (v !== undefined && v !== null && (typeof v !== "object" || Object.keys(v as object).length > 0)) {
      refuse(field, "gives some modules their own rank or alpha, which the engine does not support", "train the adapter with one r and lora_alpha for every module");
    }
  }
  if (config.bias !== undefined && config.bias !== "none") refuse("bias", `is ${JSON.stringify(config.bias)}; only "none" merges as B·A`, 'train with bias="none"');
  const scale = config.use_rslora === true ? adapter.alpha / Math.sqrt(adapter.rank) : adapter.alpha / adapter.rank;
  return { adapter, scale };
}
