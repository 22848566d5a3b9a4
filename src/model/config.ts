// Architecture configuration (SPECS §7): one decoder, the family differences as flags. Read
// from a Hugging Face config.json or from GGUF `<arch>.*` metadata; anything the engine cannot
// honour is refused by name rather than run wrongly.

import { AgentTuneError, FileFormatError } from "../errors.js";
import type { GgufValue } from "./gguf-values.js";

/** A model (architecture, feature, tensor type) the engine does not support; names what. */
export class UnsupportedModelError extends AgentTuneError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { hint: options.hint ?? "supported: qwen2, qwen3, llama (SmolLM2), gemma3 text models", cause: options.cause });
  }
}

/** The decoder families the engine implements. */
export type ModelFamily = "llama" | "qwen2" | "qwen3" | "gemma3";

/** RoPE scaling the engine honours; applied on full-attention layers only (as transformers does for Gemma 3). */
export type RopeScaling = { type: "linear"; factor: number } | null;

/** Every number and flag the decoder needs. */
export interface ModelConfig {
  family: ModelFamily;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  /** RoPE base of full-attention layers. */
  ropeTheta: number;
  /** RoPE base of sliding-window layers (Gemma 3: 1e4); equals ropeTheta when there are none. */
  ropeLocalTheta: number;
  ropeScaling: RopeScaling;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;
  /** Bias on the q, k and v projections (Qwen2). */
  qkvBias: boolean;
  /** Bias on the attention output projection (only when a config's attention_bias says so). */
  attnOutBias: boolean;
  /** RMSNorm over each head of q and k before RoPE (Qwen3, Gemma 3). */
  qkNorm: boolean;
  /** Gate activation of the MLP: SwiGLU (silu) or GeGLU with tanh-approximate GELU. */
  activation: "silu" | "gelu_tanh";
  /** RMSNorm scales by (1 + w) (Gemma) instead of w. */
  normUnitOffset: boolean;
  /** Extra RMSNorm after attention and after the MLP, before the residual add (Gemma 3). */
  sandwichNorm: boolean;
  /** Multiplier of the token embeddings (Gemma: √hidden; others 1). */
  embeddingScale: number;
  /** Window of sliding-window layers (tokens), or null when every layer is global. */
  slidingWindow: number | null;
  /** Per layer: "full" (global causal) or "sliding". */
  layerTypes: ("full" | "sliding")[];
  maxPositions: number;
  /** Attention scores are scaled by queryPreAttnScalar^-0.5 (headDim for all but Gemma's choice). */
  queryPreAttnScalar: number;
  bosTokenId: number | null;
  eosTokenIds: number[];
}

type Json = Record<string, unknown>;

function num(cfg: Json, key: string, fallback?: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new UnsupportedModelError(`config.json has no "${key}"`, { hint: "the config is incomplete; use the model's own config.json" });
  }
  if (typeof v !== "number" || !Number.isFinite(v)) throw new UnsupportedModelError(`config.json "${key}" is ${JSON.stringify(v)}, not a number`);
  return v;
}

function posInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v <= 0) throw new UnsupportedModelError(`${name} is ${v}, not a positive integer`);
  return v;
}

function ids(v: unknown): number[] {
  if (typeof v === "number") return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === "number");
  return [];
}

function ropeScalingFromHf(v: unknown): RopeScaling {
  if (v === undefined || v === null) return null;
  const r = v as Json;
  const type = (r.rope_type ?? r.type) as string | undefined;
  if (type === undefined || type === "default") return null;
  if (type === "linear") {
    const factor = r.factor;
    if (typeof factor !== "number" || !(factor > 0)) throw new UnsupportedModelError(`rope_scaling.factor ${JSON.stringify(factor)} is not a positive number`);
    return { type: "linear", factor };
  }
  throw new UnsupportedModelError(`rope_scaling type "${type}" is not supported (only default and linear)`, {
    hint: "the engine implements plain and linearly scaled RoPE; this model needs another scheme",
  });
}

function check(c: ModelConfig): ModelConfig {
  for (const k of ["hiddenSize", "numLayers", "numHeads", "numKvHeads", "headDim", "intermediateSize", "vocabSize", "maxPositions"] as const) {
    posInt(k, c[k]);
  }
  if (c.numHeads % c.numKvHeads !== 0) {
    throw new UnsupportedModelError(`${c.numHeads} attention heads are not a multiple of ${c.numKvHeads} key/value heads`);
  }
  if (c.headDim % 2 !== 0) throw new UnsupportedModelError(`head_dim ${c.headDim} is odd; RoPE needs pairs`);
  if (c.layerTypes.length !== c.numLayers) {
    throw new UnsupportedModelError(`${c.layerTypes.length} layer types for ${c.numLayers} layers`);
  }
  if (!(c.rmsNormEps > 0) || !(c.ropeTheta > 0) || !(c.ropeLocalTheta > 0)) {
    throw new UnsupportedModelError("rms_norm_eps and rope_theta must be positive");
  }
  return c;
}

function refuse(cond: boolean, what: string, hint?: string): void {
  if (cond) throw new UnsupportedModelError(`${what} is not supported`, hint === undefined ? {} : { hint });
}

/**
 * A ModelConfig from a Hugging Face `config.json` object (model_type qwen2, qwen3, llama,
 * gemma3_text, or gemma3 with a `text_config`). Throws UnsupportedModelError naming the
 * model_type or feature it cannot honour.
 */
export function configFromHf(config: Json): ModelConfig {
  let cfg = config;
  let modelType = cfg.model_type;
  if (modelType === "gemma3") {
    if (cfg.text_config === null || typeof cfg.text_config !== "object") throw new UnsupportedModelError('model_type "gemma3" without text_config');
    // The multimodal wrapper: use its text model. Token ids may sit on the outer config.
    cfg = { bos_token_id: config.bos_token_id, eos_token_id: config.eos_token_id, ...(cfg.text_config as Json), model_type: "gemma3_text" };
    modelType = "gemma3_text";
  }
  const family: ModelFamily | undefined =
    modelType === "qwen2" ? "qwen2" : modelType === "qwen3" ? "qwen3" : modelType === "llama" ? "llama" : modelType === "gemma3_text" ? "gemma3" : undefined;
  if (family === undefined) {
    throw new UnsupportedModelError(`model_type ${JSON.stringify(modelType)} is not supported`, {
      hint: "supported model types: qwen2, qwen3, llama, gemma3_text (and gemma3)",
    });
  }
  const hidden = num(cfg, "hidden_size");
  const heads = num(cfg, "num_attention_heads");
  const layers = num(cfg, "num_hidden_layers");
  const headDim = num(cfg, "head_dim", hidden / heads);
  const ropeTheta = num(cfg, "rope_theta", family === "gemma3" ? 1e6 : 10000);
  const ropeScaling = ropeScalingFromHf(cfg.rope_scaling);
  const attentionBias = cfg.attention_bias === true;
  refuse(cfg.mlp_bias === true, "mlp_bias: true");
  if (cfg.use_sliding_window === true) refuse(true, `use_sliding_window: true for ${modelType}`);
  let activation: ModelConfig["activation"];
  const act = cfg.hidden_activation ?? cfg.hidden_act;
  if (act === "silu") activation = "silu";
  else if (act === "gelu_pytorch_tanh" || (family === "gemma3" && act === undefined)) activation = "gelu_tanh";
  else throw new UnsupportedModelError(`hidden activation ${JSON.stringify(act)} is not supported (silu, gelu_pytorch_tanh)`);

  let layerTypes: ModelConfig["layerTypes"] = new Array(layers).fill("full");
  let slidingWindow: number | null = null;
  let ropeLocalTheta = ropeTheta;
  let queryPreAttnScalar = headDim;
  let bosTokenId: number | null = typeof cfg.bos_token_id === "number" ? cfg.bos_token_id : null;
  if (family === "gemma3") {
    refuse(cfg.attn_logit_softcapping != null, "attn_logit_softcapping");
    refuse(cfg.final_logit_softcapping != null, "final_logit_softcapping");
    refuse(cfg.use_bidirectional_attention === true, "use_bidirectional_attention");
    slidingWindow = num(cfg, "sliding_window", 4096);
    ropeLocalTheta = num(cfg, "rope_local_base_freq", 10000);
    queryPreAttnScalar = num(cfg, "query_pre_attn_scalar", headDim);
    if (Array.isArray(cfg.layer_types)) {
      layerTypes = (cfg.layer_types as unknown[]).map((t, i) => {
        if (t === "sliding_attention") return "sliding";
        if (t === "full_attention") return "full";
        throw new UnsupportedModelError(`layer_types[${i}] ${JSON.stringify(t)} is not supported`);
      });
    } else {
      const pattern = num(cfg, "sliding_window_pattern", num(cfg, "_sliding_window_pattern", 6));
      layerTypes = layerTypes.map((_, i) => ((i + 1) % pattern === 0 ? "full" : "sliding"));
    }
    if (bosTokenId === null) bosTokenId = 2;
  }
  return check({
    family,
    hiddenSize: hidden,
    numLayers: layers,
    numHeads: heads,
    numKvHeads: num(cfg, "num_key_value_heads", heads),
    headDim,
    intermediateSize: num(cfg, "intermediate_size"),
    vocabSize: num(cfg, "vocab_size"),
    ropeTheta,
    ropeLocalTheta,
    ropeScaling,
    rmsNormEps: num(cfg, "rms_norm_eps", 1e-6),
    tieWordEmbeddings: cfg.tie_word_embeddings === undefined ? family === "gemma3" : cfg.tie_word_embeddings === true,
    qkvBias: family === "qwen2" ? true : attentionBias,
    attnOutBias: family === "qwen2" ? false : attentionBias,
    qkNorm: family === "qwen3" || family === "gemma3",
    activation,
    normUnitOffset: family === "gemma3",
    sandwichNorm: family === "gemma3",
    embeddingScale: family === "gemma3" ? Math.sqrt(hidden) : 1,
    slidingWindow,
    layerTypes,
    maxPositions: num(cfg, "max_position_embeddings", 2048),
    queryPreAttnScalar,
    bosTokenId,
    eosTokenIds: ids(cfg.eos_token_id),
  });
}

function meta(md: Readonly<Record<string, GgufValue>>, key: string, fallback?: number): number {
  let v = md[key];
  if (Array.isArray(v)) {
    // Per-layer values (some converters write head counts per layer): must be uniform.
    const arr: GgufValue[] = v;
    if (arr.length === 0 || !arr.every((x) => x === arr[0])) throw new UnsupportedModelError(`GGUF "${key}" varies per layer`);
    v = arr[0];
  }
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new UnsupportedModelError(`GGUF metadata has no "${key}"`, { hint: "the GGUF was made by an old or unusual converter" });
  }
  if (typeof v !== "number") throw new UnsupportedModelError(`GGUF "${key}" is ${String(v)}, not a number`);
  return v;
}

/** The shortest decimal that rounds to the same float32 (GGUF stores 1e-5 as 9.99999974e-6). */
function f32Decimal(v: number): number {
  if (Math.fround(v) !== v) return v;
  for (let p = 1; p <= 9; p++) {
    const d = Number(v.toPrecision(p));
    if (Math.fround(d) === v) return d;
  }
  return v;
}

/**
 * A ModelConfig from GGUF metadata (`general.architecture` llama, qwen2, qwen3 or gemma3, with
 * its `<arch>.*` keys). `tensorNames` (when given) decides tied embeddings (no `output.weight`),
 * q/k/v bias and q/k norm from the tensors present. Note: a Gemma 3 GGUF stores its norm
 * weights with the +1 already added; `normUnitOffset` here still describes the HF weights, and
 * the GGUF weight loader subtracts the 1 (see gguf-weights.ts).
 */
export function configFromGguf(md: Readonly<Record<string, GgufValue>>, tensorNames?: readonly string[]): ModelConfig {
  const arch = md["general.architecture"];
  const family: ModelFamily | undefined = arch === "llama" || arch === "qwen2" || arch === "qwen3" || arch === "gemma3" ? arch : undefined;
  if (family === undefined) {
    throw new UnsupportedModelError(`GGUF architecture ${JSON.stringify(arch)} is not supported`, {
      hint: "supported GGUF architectures: llama, qwen2, qwen3, gemma3",
    });
  }
  const k = (s: string) => `${family}.${s}`;
  const hidden = meta(md, k("embedding_length"));
  const heads = meta(md, k("attention.head_count"));
  const layers = meta(md, k("block_count"));
  const headDim = meta(md, k("attention.key_length"), hidden / heads);
  const valueDim = meta(md, k("attention.value_length"), headDim);
  refuse(valueDim !== headDim, `value_length ${valueDim} different from key_length ${headDim}`);
  const ropeDim = meta(md, k("rope.dimension_count"), headDim);
  refuse(ropeDim !== headDim, `partial RoPE (rope.dimension_count ${ropeDim} of head size ${headDim})`);
  const scalingType = md[k("rope.scaling.type")];
  let ropeScaling: RopeScaling = null;
  if (scalingType === "linear") ropeScaling = { type: "linear", factor: meta(md, k("rope.scaling.factor")) };
  else if (scalingType !== undefined && scalingType !== "none") refuse(true, `rope scaling type ${JSON.stringify(scalingType)}`);
  const tokens = md["tokenizer.ggml.tokens"];
  const vocab = meta(md, k("vocab_size"), Array.isArray(tokens) ? tokens.length : undefined);
  const has = (name: string) => tensorNames?.includes(name);
  const ropeTheta = f32Decimal(meta(md, k("rope.freq_base"), family === "gemma3" ? 1e6 : 10000));
  let layerTypes: ModelConfig["layerTypes"] = new Array(layers).fill("full");
  let slidingWindow: number | null = null;
  let queryPreAttnScalar = headDim;
  if (family === "gemma3") {
    slidingWindow = meta(md, k("attention.sliding_window"), 4096);
    // llama.cpp fixes Gemma 3's pattern (every 6th layer global) and local base (1e4).
    layerTypes = layerTypes.map((_, i) => ((i + 1) % 6 === 0 ? "full" : "sliding"));
    // Gemma 3 27B (62 layers) scales by hidden/heads instead of head_dim, as llama.cpp does.
    queryPreAttnScalar = layers === 62 ? hidden / heads : headDim;
  }
  const eos = [md["tokenizer.ggml.eos_token_id"], md["tokenizer.ggml.eot_token_id"]].filter((x): x is number => typeof x === "number");
  const bos = md["tokenizer.ggml.bos_token_id"];
  return check({
    family,
    hiddenSize: hidden,
    numLayers: layers,
    numHeads: heads,
    numKvHeads: meta(md, k("attention.head_count_kv"), heads),
    headDim,
    intermediateSize: meta(md, k("feed_forward_length")),
    vocabSize: vocab,
    ropeTheta,
    ropeLocalTheta: family === "gemma3" ? 10000 : ropeTheta,
    ropeScaling,
    rmsNormEps: f32Decimal(meta(md, k("attention.layer_norm_rms_epsilon"), 1e-6)),
    tieWordEmbeddings: tensorNames === undefined ? true : !has("output.weight"),
    qkvBias: tensorNames === undefined ? family === "qwen2" : has("blk.0.attn_q.bias") === true,
    attnOutBias: tensorNames === undefined ? false : has("blk.0.attn_output.bias") === true,
    qkNorm: tensorNames === undefined ? family === "qwen3" || family === "gemma3" : has("blk.0.attn_q_norm.weight") === true,
    activation: family === "gemma3" ? "gelu_tanh" : "silu",
    normUnitOffset: family === "gemma3",
    sandwichNorm: family === "gemma3",
    embeddingScale: family === "gemma3" ? Math.sqrt(hidden) : 1,
    slidingWindow,
    layerTypes,
    maxPositions: meta(md, k("context_length"), 2048),
    queryPreAttnScalar,
    bosTokenId: typeof bos === "number" ? bos : null,
    eosTokenIds: [...new Set(eos)],
  });
}

/**
 * The weights a config implies, by their transformers names, with row-major shapes
 * (`[out, in]` for linears). `optional` marks lm_head of a tied model (some checkpoints keep it).
 */
export function expectedWeights(c: ModelConfig): Map<string, { shape: number[]; optional: boolean }> {
  const w = new Map<string, { shape: number[]; optional: boolean }>();
  const add = (name: string, shape: number[], optional = false) => w.set(name, { shape, optional });
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  add("model.embed_tokens.weight", [c.vocabSize, c.hiddenSize]);
  add("model.norm.weight", [c.hiddenSize]);
  add("lm_head.weight", [c.vocabSize, c.hiddenSize], c.tieWordEmbeddings);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}.`;
    add(`${p}input_layernorm.weight`, [c.hiddenSize]);
    add(`${p}post_attention_layernorm.weight`, [c.hiddenSize]);
    if (c.sandwichNorm) {
      add(`${p}pre_feedforward_layernorm.weight`, [c.hiddenSize]);
      add(`${p}post_feedforward_layernorm.weight`, [c.hiddenSize]);
    }
    add(`${p}self_attn.q_proj.weight`, [q, c.hiddenSize]);
    add(`${p}self_attn.k_proj.weight`, [kv, c.hiddenSize]);
    add(`${p}self_attn.v_proj.weight`, [kv, c.hiddenSize]);
    add(`${p}self_attn.o_proj.weight`, [c.hiddenSize, q]);
    if (c.qkvBias) {
      add(`${p}self_attn.q_proj.bias`, [q]);
      add(`${p}self_attn.k_proj.bias`, [kv]);
      add(`${p}self_attn.v_proj.bias`, [kv]);
    }
    if (c.attnOutBias) add(`${p}self_attn.o_proj.bias`, [c.hiddenSize]);
    if (c.qkNorm) {
      add(`${p}self_attn.q_norm.weight`, [c.headDim]);
      add(`${p}self_attn.k_norm.weight`, [c.headDim]);
    }
    add(`${p}mlp.gate_proj.weight`, [c.intermediateSize, c.hiddenSize]);
    add(`${p}mlp.up_proj.weight`, [c.intermediateSize, c.hiddenSize]);
    add(`${p}mlp.down_proj.weight`, [c.hiddenSize, c.intermediateSize]);
  }
  return w;
}

/**
 * Checks that the weights a file holds (transformers name → row-major shape) are those the
 * config needs: every required tensor present with its exact shape. Throws FileFormatError
 * naming the file and the tensor. Tensors the config does not use are ignored.
 */
export function checkWeightShapes(file: string, shapes: ReadonlyMap<string, readonly number[]>, config: ModelConfig): void {
  for (const [name, want] of expectedWeights(config)) {
    const got = shapes.get(name);
    if (got === undefined) {
      if (want.optional) continue;
      throw new FileFormatError({
        file,
        location: `tensors[${JSON.stringify(name)}]`,
        problem: `is missing, but a ${config.family} model with ${config.numLayers} layers needs it`,
        hint: "the weights do not belong to this config (or the file is incomplete)",
      });
    }
    if (got.length !== want.shape.length || got.some((d, i) => d !== want.shape[i])) {
      throw new FileFormatError({
        file,
        location: `tensors[${JSON.stringify(name)}]`,
        problem: `has shape [${got.join(", ")}] but the config needs [${want.shape.join(", ")}]`,
        hint: "the weights do not belong to this config; check config.json against the weights",
      });
    }
  }
}

/** Layer `l`'s RoPE base and attention window (0: global): sliding-window layers have their own base. */
export function layerAttention(config: ModelConfig, l: number): { theta: number; window: number } {
  const sliding = config.layerTypes[l] === "sliding";
  return { theta: sliding ? config.ropeLocalTheta : config.ropeTheta, window: sliding ? (config.slidingWindow ?? 0) : 0 };
}
