import * as fs from "node:fs";
import { join } from "node:path";
import { AgentTuneError, FileFormatError } from "../errors.js";
import { openSafetensors, type SafetensorsWriteTensor, writeSafetensors } from "../model/safetensors.js";

/** Short target names (SPECS §6) → the module names PEFT uses for Llama/Qwen-style models. */
export const PEFT_TARGET_MODULES = {
  q: "q_proj",
  k: "k_proj",
  v: "v_proj",
  o: "o_proj",
  gate: "gate_proj",
  up: "up_proj",
  down: "down_proj",
} as const;

/** A short target name: q, k, v, o, gate, up, down. */
export type LoraTarget = keyof typeof PEFT_TARGET_MODULES;

/** LoRA weights with their settings, keyed by PEFT names (see SPECS §5). */
export interface LoraWeights {
  /** The base model's Hugging Face id or path (`base_model_name_or_path`). */
  baseModel: string;
  rank: number;
  alpha: number;
  dropout: number;
  /** PEFT module names (q_proj, …) or short names (q, …). */
  targets: readonly string[];
  /**
   * `base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight` → [r, in],
   * `….lora_B.weight` → [out, r]; values row-major float32.
   */
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>;
}

const KEY = /^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.(q|k|v|o|gate|up|down)_proj\.lora_(A|B)\.weight$/;

/** Maps q → q_proj; PEFT names pass through; anything else is refused. */
export function peftModuleName(target: string): string {
  if (target in PEFT_TARGET_MODULES) return PEFT_TARGET_MODULES[target as LoraTarget];
  if ((Object.values(PEFT_TARGET_MODULES) as string[]).includes(target)) return target;
  throw new AgentTuneError(`unknown LoRA target "${target}"`, { hint: `use any of ${Object.keys(PEFT_TARGET_MODULES).join(", ")}` });
}

/**
 * Writes a PEFT adapter folder: `adapter_config.json` and `adapter_model.safetensors`
 * (F32, metadata {format: "pt"}), each written atomically. Checks every key and shape first.
 */
export function exportPeftAdapter(dir: string, adapter: LoraWeights): void {
  const tensors: Record<string, SafetensorsWriteTensor> = {};
  for (const [name, t] of adapter.tensors) {
    const match = KEY.exec(name);
    if (match === null) throw new AgentTuneError(`"${name}" is not a PEFT LoRA tensor name`, { hint: "expected base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight" });
    const rankAxis = match[4] === "A" ? 0 : 1;
    if (t.shape.length !== 2 || t.shape[rankAxis] !== adapter.rank) {
      throw new AgentTuneError(`"${name}" has shape ${JSON.stringify(t.shape)}, not rank ${adapter.rank} (A is [r, in], B is [out, r])`);
    }
    tensors[name] = { dtype: "F32", shape: t.shape, data: t.data };
  }
  const config = {
    alpha_pattern: {},
    base_model_name_or_path: adapter.baseModel,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    lora_alpha: adapter.alpha,
    lora_dropout: adapter.dropout,
    modules_to_save: null,
    peft_type: "LORA",
    r: adapter.rank,
    rank_pattern: {},
    target_modules: [...new Set(adapter.targets.map(peftModuleName))].sort(),
    task_type: "CAUSAL_LM",
    use_dora: false,
    use_rslora: false,
  };
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, "adapter_model.safetensors"), tensors, { format: "pt" });
  const configPath = join(dir, "adapter_config.json");
  const tmp = `${configPath}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`);
  fs.renameSync(tmp, configPath);
}

/** Reads a PEFT LoRA adapter folder back (F32/F16/BF16 tensors). */
export function readPeftAdapter(dir: string): LoraWeights {
  const configPath = join(dir, "adapter_config.json");
  if (!fs.existsSync(configPath)) throw new FileFormatError({ file: dir, problem: "no adapter_config.json: not a PEFT adapter folder" });
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(fs.readFileSync(configPath, "utf8"));
  } catch (error) {
    throw new FileFormatError({ file: configPath, problem: "not valid JSON", cause: error });
  }
  if (config.peft_type !== "LORA") throw new FileFormatError({ file: configPath, location: "peft_type", problem: `is ${JSON.stringify(config.peft_type)}, not "LORA"` });
  for (const field of ["r", "lora_alpha"]) {
    if (typeof config[field] !== "number") throw new FileFormatError({ file: configPath, location: field, problem: "missing or not a number" });
  }
  const source = openSafetensors(join(dir, "adapter_model.safetensors"));
  const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  try {
    for (const t of source.tensors) tensors.set(t.name, { shape: t.shape, data: source.readTensor(t.name) });
  } finally {
    source.close();
  }
  return {
    baseModel: String(config.base_model_name_or_path ?? ""),
    rank: config.r as number,
    alpha: config.lora_alpha as number,
    dropout: typeof config.lora_dropout === "number" ? config.lora_dropout : 0,
    targets: Array.isArray(config.target_modules) ? config.target_modules.map(String) : [],
    tensors,
  };
}
