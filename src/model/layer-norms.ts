import type { ModelConfig } from "./config.js";

/** One decoder layer's norm weights, by the family's flags (sandwich norms, q/k norms). */
export interface LayerNorms<T> {
  inNorm: T;
  postAttnNorm: T;
  /** Gemma 3's extra norms around the MLP. */
  preFfnNorm: T | null;
  postFfnNorm: T | null;
  /** Qwen3's and Gemma 3's per-head norms of q and k. */
  qNorm: T | null;
  kNorm: T | null;
}

/** The norms of layer `l`, each fetched by its Hugging Face name through `get`. */
export function layerNorms<T>(config: ModelConfig, l: number, get: (name: string) => T): LayerNorms<T> {
  const p = `model.layers.${l}.`;
  return {
    inNorm: get(`${p}input_layernorm.weight`),
    postAttnNorm: get(`${p}post_attention_layernorm.weight`),
    preFfnNorm: config.sandwichNorm ? get(`${p}pre_feedforward_layernorm.weight`) : null,
    postFfnNorm: config.sandwichNorm ? get(`${p}post_feedforward_layernorm.weight`) : null,
    qNorm: config.qkNorm ? get(`${p}self_attn.q_norm.weight`) : null,
    kNorm: config.qkNorm ? get(`${p}self_attn.k_norm.weight`) : null,
  };
}
