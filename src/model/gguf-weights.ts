// GGUF tensors in Hugging Face terms: llama.cpp's tensor names mapped to transformers' names,
// Q/K rows un-permuted for llama GGUFs, and Gemma 3's folded-in +1 taken back out of its norm
// weights, so a GGUF model and an HF folder give the engine the same weights.

import type { ModelConfig } from "./config.js";
import type { GgufFile } from "./gguf.js";
import { ggufPermutesQK, unpermuteQK } from "./gguf-permute.js";

const LAYER: Record<string, string> = {
  attn_norm: "input_layernorm",
  attn_q: "self_attn.q_proj",
  attn_k: "self_attn.k_proj",
  attn_v: "self_attn.v_proj",
  attn_output: "self_attn.o_proj",
  attn_q_norm: "self_attn.q_norm",
  attn_k_norm: "self_attn.k_norm",
  post_attention_norm: "post_attention_layernorm",
  post_ffw_norm: "post_feedforward_layernorm",
  ffn_gate: "mlp.gate_proj",
  ffn_up: "mlp.up_proj",
  ffn_down: "mlp.down_proj",
};

/**
 * The transformers name of a GGUF tensor (`blk.3.attn_q.weight` → `model.layers.3.self_attn.q_proj.weight`),
 * or undefined for tensors without one (e.g. `rope_freqs.weight`). `ffn_norm` is the pre-MLP norm:
 * `post_attention_layernorm` in Llama/Qwen, `pre_feedforward_layernorm` in Gemma 3.
 */
export function ggufNameToHf(name: string, family: ModelConfig["family"]): string | undefined {
  if (name === "token_embd.weight") return "model.embed_tokens.weight";
  if (name === "output_norm.weight") return "model.norm.weight";
  if (name === "output.weight") return "lm_head.weight";
  const m = /^blk\.(\d+)\.([a-z_]+)\.(weight|bias)$/.exec(name);
  if (m === null) return undefined;
  const part = m[2] === "ffn_norm" ? (family === "gemma3" ? "pre_feedforward_layernorm" : "post_attention_layernorm") : LAYER[m[2]];
  return part === undefined ? undefined : `model.layers.${m[1]}.${part}.${m[3]}`;
}

/** One weight in Hugging Face layout. */
export interface HfWeight {
  name: string;
  /** Row-major, as in the transformers state dict (`[out, in]` for a linear). */
  shape: number[];
  data: Float32Array;
}

/**
 * Reads one GGUF tensor dequantised and in Hugging Face layout: named as transformers names it,
 * Q/K rows un-permuted (llama), Gemma 3 norm weights with the +1 removed.
 */
export function readGgufTensorAsHf(file: GgufFile, ggufName: string, config: ModelConfig): HfWeight | undefined {
  const name = ggufNameToHf(ggufName, config.family);
  const info = file.tensor(ggufName);
  if (name === undefined || info === undefined) return undefined;
  let data = file.readTensor(ggufName);
  const shape = [...info.shape];
  if (ggufPermutesQK(file.architecture)) {
    const rows = shape[0];
    const cols = shape.length > 1 ? shape[1] : 1;
    if (/\.attn_q\.(weight|bias)$/.test(ggufName)) data = unpermuteQK(data, rows, cols, config.numHeads);
    else if (/\.attn_k\.(weight|bias)$/.test(ggufName)) data = unpermuteQK(data, rows, cols, config.numKvHeads);
  }
  if (config.family === "gemma3" && ggufName.endsWith("norm.weight")) {
    for (let i = 0; i < data.length; i++) data[i] -= 1;
  }
  return { name, shape, data };
}
