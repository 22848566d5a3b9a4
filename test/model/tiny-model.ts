// A tiny llama config and weights of the right shapes, for folder and hub tests.
import { configFromHf, expectedWeights } from "../../src/model/config.js";
import type { SafetensorsWriteTensor } from "../../src/model/safetensors.js";

export const TINY_LLAMA_CONFIG = {
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  hidden_size: 8,
  intermediate_size: 16,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  num_hidden_layers: 2,
  vocab_size: 12,
  hidden_act: "silu",
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: true,
  bos_token_id: 1,
  eos_token_id: 2,
};

/** Every weight TINY_LLAMA_CONFIG needs, filled with `i / 7` (tensor k's element i). */
export function tinyLlamaWeights(): Record<string, SafetensorsWriteTensor> {
  const out: Record<string, SafetensorsWriteTensor> = {};
  for (const [name, { shape, optional }] of expectedWeights(configFromHf(TINY_LLAMA_CONFIG))) {
    if (optional) continue;
    const n = shape.reduce((a, b) => a * b, 1);
    out[name] = { dtype: "F32", shape, data: Float32Array.from({ length: n }, (_, i) => i / 7) };
  }
  return out;
}
