// A tiny random Llama-style model folder (Hugging Face layout) with a byte-level tokenizer: the
// whole pipeline runs on it in seconds on any CPU, so the examples and CI exercise every stage
// for real (training, evaluation on our engine, adapter export) without a download. It learns
// nothing useful; its numbers only show the plumbing works.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { configFromHf, expectedWeights } from "../model/config.js";
import { type SafetensorsWriteTensor, writeSafetensors } from "../model/safetensors.js";
import { bytesToUnicode } from "../model/tokenizer-gguf.js";
import { mulberry32 } from "../random.js";

export interface TinyModelOptions {
  /** Seed of the random weights. Default 0. */
  seed?: number;
  hiddenSize?: number;
  layers?: number;
}

/** The ChatML markers and the end-of-text token, after the 256 byte tokens. */
const SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/** Byte-level BPE without merges: every UTF-8 byte is one token, so any text round-trips. */
function tokenizerJson(): unknown {
  const vocab: Record<string, number> = {};
  bytesToUnicode().forEach((ch, byte) => {
    vocab[ch] = byte;
  });
  const special = (content: string, i: number) => ({ id: 256 + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map(special),
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
  };
}

/**
 * Writes the tiny model into `dir` (config.json, tokenizer.json, tokenizer_config.json,
 * generation_config.json, model.safetensors) and returns `dir`. No chat template: training
 * and our engine both fall back to ChatML, whose markers the tokenizer has.
 */
export function writeTinyModel(dir: string, options: TinyModelOptions = {}): string {
  const hidden = options.hiddenSize ?? 32;
  const eos = 256 + SPECIAL_TOKENS.indexOf("<|im_end|>");
  const config = {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_size: hidden,
    intermediate_size: hidden * 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    num_hidden_layers: options.layers ?? 2,
    vocab_size: 256 + SPECIAL_TOKENS.length,
    max_position_embeddings: 8192,
    hidden_act: "silu",
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
    bos_token_id: null,
    eos_token_id: eos,
    pad_token_id: 256,
    torch_dtype: "float32",
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tokenizerJson()));
  writeFileSync(join(dir, "tokenizer_config.json"), `${JSON.stringify({ eos_token: "<|im_end|>", pad_token: "<|endoftext|>", bos_token: null, model_max_length: 8192 }, null, 2)}\n`);
  writeFileSync(join(dir, "generation_config.json"), `${JSON.stringify({ eos_token_id: eos, pad_token_id: 256 }, null, 2)}\n`);
  writeSafetensors(join(dir, "model.safetensors"), randomWeights(config, options.seed ?? 0));
  return dir;
}

/**
 * Every weight a Hugging Face config needs, seeded: norms 1, the rest uniform in ±0.1 — small
 * enough that the logits start near uniform and training is stable.
 */
export function randomWeights(config: Record<string, unknown>, seed: number): Record<string, SafetensorsWriteTensor> {
  const random = mulberry32(seed);
  const tensors: Record<string, SafetensorsWriteTensor> = {};
  for (const [name, { shape, optional }] of expectedWeights(configFromHf(config))) {
    if (optional) continue;
    const n = shape.reduce((a, b) => a * b, 1);
    const norm = name.endsWith("norm.weight");
    tensors[name] = { dtype: "F32", shape, data: Float32Array.from({ length: n }, () => (norm ? 1 : (random() * 2 - 1) * 0.1)) };
  }
  return tensors;
}
