// The engine's decoder for inference (SPECS §7): one implementation for every family, the
// differences as ModelConfig flags (GQA, qkv bias, qk-norm, tied embeddings, SwiGLU/GeGLU,
// (1 + w) and sandwich norms, embedding scale, sliding-window layers with their own RoPE base).
// Layers, the KV cache and attention over it all run on the Backend (Backend.cachedAttention), so
// prefill and decode share one path and a pass moves only its ids in and its logits out.

import type { Backend, Tensor } from "../engine/backend.js";
import { AgentTuneError, InvalidInputError } from "../errors.js";
import { dequantizeNf4Rows, type Nf4Tensor, nf4BlockAbsmax, quantizeNf4 } from "../quant/nf4.js";
import { layerAttention, type ModelConfig, UnsupportedModelError } from "./config.js";
import { type LayerNorms, layerNorms } from "./layer-norms.js";
import { type HostWeight, hostModelFromGguf, hostModelFromHfFolder } from "./host-weights.js";

/** How the seven projections of every layer are held: f32, or NF4 on the host (dequantised per use). */
export interface DecoderOptions {
  baseFormat?: "f32" | "nf4";
}

/** An NF4 projection: codes on the host, its block absmaxes decoded once. */
interface Nf4Weight {
  nf4: Nf4Tensor;
  absmax: Float32Array;
}

export type { HostWeight };

/** The KV cache ran out of room. */
export class CacheFullError extends AgentTuneError {
  constructor(need: number, max: number) {
    super(`the KV cache holds ${max} tokens; this forward pass needs ${need}`, { hint: "create the cache with a larger maxTokens, or shorten the prompt" });
  }
}

/** Keys and values of every layer for the tokens seen so far. */
export class KvCache {
  /** Tokens cached (the next token's position). */
  length = 0;
  /** The token ids cached, in order (for prefix reuse). */
  readonly ids: number[] = [];
  /** Per layer: k, v [maxTokens, Hkv, d], tensors of the decoder's backend (on the GPU with cuda). */
  readonly k: Tensor[];
  readonly v: Tensor[];
  private readonly backend: Backend;
  constructor(backend: Backend, readonly maxTokens: number, layers: number, kvWidth: number) {
    this.backend = backend;
    this.k = Array.from({ length: layers }, () => backend.alloc([maxTokens, kvWidth]));
    this.v = Array.from({ length: layers }, () => backend.alloc([maxTokens, kvWidth]));
  }
  /** Drops every token from `length` on (keeps a shared prefix). */
  truncate(length: number): void {
    this.length = Math.min(this.length, Math.max(0, length));
    this.ids.length = this.length;
  }
  /** Frees the cache's tensors (device memory with cuda); the cache is unusable after. */
  dispose(): void {
    for (const t of [...this.k, ...this.v]) this.backend.free(t);
    this.k.length = 0;
    this.v.length = 0;
    this.length = 0;
    this.ids.length = 0;
  }
}

interface Layer extends LayerNorms<Tensor> {
  q: Tensor | Nf4Weight;
  k: Tensor | Nf4Weight;
  v: Tensor | Nf4Weight;
  o: Tensor | Nf4Weight;
  qb: Tensor | null;
  kb: Tensor | null;
  vb: Tensor | null;
  ob: Tensor | null;
  gate: Tensor | Nf4Weight;
  up: Tensor | Nf4Weight;
  down: Tensor | Nf4Weight;
}

/** A decoder-only language model held as backend tensors (f32). */
export class Decoder {
  private readonly layers: Layer[];
  private readonly embed: Tensor;
  private readonly head: Tensor;
  private readonly finalNorm: Tensor;
  /** Host copy of the embedding table [vocab, hidden] for the lookup. */
  private constructor(
    readonly backend: Backend,
    readonly config: ModelConfig,
    weights: ReadonlyMap<string, HostWeight>,
    options: DecoderOptions = {},
  ) {
    const c = config;
    const nf4 = options.baseFormat === "nf4";
    const proj = (name: string): Tensor | Nf4Weight => {
      const w = weights.get(name);
      if (!nf4 || w === undefined || w.shape.length !== 2) return req(name);
      const q = quantizeNf4(w.data, w.shape[0] as number, w.shape[1] as number);
      return { nf4: q, absmax: nf4BlockAbsmax(q) };
    };
    if (c.ropeScaling !== null) throw new UnsupportedModelError("RoPE scaling in the engine's decoder");
    const up = (name: string, optional = false): Tensor | null => {
      const w = weights.get(name);
      if (w === undefined) {
        if (optional) return null;
        throw new UnsupportedModelError(`weight ${name} is missing`, { hint: "the weights do not match the config" });
      }
      const t = backend.alloc(w.shape);
      backend.upload(t, w.data);
      return t;
    };
    function req(name: string): Tensor {
      return up(name) as Tensor;
    }
    this.embed = req("model.embed_tokens.weight");
    this.head = c.tieWordEmbeddings || !weights.has("lm_head.weight") ? this.embed : req("lm_head.weight");
    this.finalNorm = req("model.norm.weight");
    this.layers = [];
    for (let i = 0; i < c.numLayers; i++) {
      const p = `model.layers.${i}.`;
      this.layers.push({
        ...layerNorms(c, i, req),
        q: proj(`${p}self_attn.q_proj.weight`),
        k: proj(`${p}self_attn.k_proj.weight`),
        v: proj(`${p}self_attn.v_proj.weight`),
        o: proj(`${p}self_attn.o_proj.weight`),
        qb: up(`${p}self_attn.q_proj.bias`, true),
        kb: up(`${p}self_attn.k_proj.bias`, true),
        vb: up(`${p}self_attn.v_proj.bias`, true),
        ob: up(`${p}self_attn.o_proj.bias`, true),
        gate: proj(`${p}mlp.gate_proj.weight`),
        up: proj(`${p}mlp.up_proj.weight`),
        down: proj(`${p}mlp.down_proj.weight`),
      });
    }
  }

  /** A decoder over host weights under Hugging Face names (tied models may omit lm_head). */
  static fromWeights(backend: Backend, config: ModelConfig, weights: ReadonlyMap<string, HostWeight>, options: DecoderOptions = {}): Decoder {
    return new Decoder(backend, config, weights, options);
  }

  /** Loads an HF folder (config.json + safetensors) as f32. */
  static fromHfFolder(backend: Backend, dir: string, options: DecoderOptions = {}): Decoder {
    const m = hostModelFromHfFolder(dir);
    return new Decoder(backend, m.config, m.weights, options);
  }

  /** Loads a GGUF file, every tensor dequantised to f32 in Hugging Face layout. */
  static fromGguf(backend: Backend, path: string, options: DecoderOptions = {}): Decoder {
    const m = hostModelFromGguf(path);
    return new Decoder(backend, m.config, m.weights, options);
  }

  /** An empty KV cache for up to maxTokens tokens. */
  createCache(maxTokens: number): KvCache {
    const c = this.config;
    return new KvCache(this.backend, maxTokens, c.numLayers, c.numKvHeads * c.headDim);
  }

  /**
   * Runs ids (appended after the cache's tokens) through the model, filling the cache.
   * Returns the logits of the last position: [vocab].
   */
  forward(ids: Int32Array, cache: KvCache): Float32Array {
    return this.forwardSegments([{ ids, cache }])[0] as Float32Array;
  }

  /**
   * Several sequences in one pass: each segment's ids are appended after its own cache's tokens.
   * The rows of every segment go through the projections together (the weights are read once
   * for all of them), attention runs per segment over its cache. Returns each segment's
   * last-position logits, in order. Two segments must not share a cache.
   */
  forwardSegments(segments: readonly { ids: Int32Array; cache: KvCache }[]): Float32Array[] {
    const c = this.config;
    const be = this.backend;
    if (segments.length === 0) throw new InvalidInputError("forwardSegments needs at least one segment");
    if (new Set(segments.map((s) => s.cache)).size !== segments.length) throw new InvalidInputError("two segments of one forward pass share a KV cache");
    // Segment g covers rows rowStart[g] … rowStart[g] + its length − 1 of the stacked batch.
    const rowStart: number[] = [];
    let n = 0;
    for (const { ids, cache } of segments) {
      if (ids.length === 0) throw new InvalidInputError("forward needs at least one token");
      if (cache.length + ids.length > cache.maxTokens) throw new CacheFullError(cache.length + ids.length, cache.maxTokens);
      for (const id of ids) if (!(id >= 0 && id < c.vocabSize)) throw new InvalidInputError(`token id ${id} is outside the vocabulary (${c.vocabSize})`);
      rowStart.push(n);
      n += ids.length;
    }
    const D = c.hiddenSize;
    const H = c.numHeads;
    const Hkv = c.numKvHeads;
    const d = c.headDim;
    const F = c.intermediateSize;
    const off = c.normUnitOffset;
    const eps = c.rmsNormEps;
    const tmp: Tensor[] = [];
    // NF4 projections are dequantised into one reused f32 tensor per shape.
    const scratch = new Map<string, { t: Tensor; host: Float32Array }>();
    const w = (p: Tensor | Nf4Weight): Tensor => {
      if (!("nf4" in p)) return p;
      const key = `${p.nf4.rows}x${p.nf4.cols}`;
      let s = scratch.get(key);
      if (s === undefined) {
        s = { t: a([p.nf4.rows, p.nf4.cols]), host: new Float32Array(p.nf4.rows * p.nf4.cols) };
        scratch.set(key, s);
      }
      dequantizeNf4Rows(p.nf4, 0, p.nf4.rows, s.host, p.absmax);
      be.upload(s.t, s.host);
      return s.t;
    };
    const a = (shape: number[], dtype?: "i32"): Tensor => {
      const t = be.alloc(shape, dtype);
      tmp.push(t);
      return t;
    };
    try {
      const allIds = new Int32Array(n);
      const positions = new Int32Array(n);
      segments.forEach(({ ids, cache }, g) => {
        allIds.set(ids, rowStart[g]);
        for (let i = 0; i < ids.length; i++) positions[(rowStart[g] as number) + i] = cache.length + i;
      });
      const idT = a([n], "i32");
      be.upload(idT, allIds);
      const pos = a([n], "i32");
      be.upload(pos, positions);
      const x = a([n, D]); // residual stream
      be.embeddingForward(x, this.embed, idT, n, D, c.embeddingScale);
      const hN = a([n, D]);
      const rstd = a([n]);
      const rstdH = a([n * H]);
      const q = a([n, H * d]);
      const k = a([n, Hkv * d]);
      const v = a([n, Hkv * d]);
      const qn = a([n * H, d]);
      const kn = a([n * Hkv, d]);
      const att = a([n, H * d]);
      const o = a([n, D]);
      const o2 = a([n, D]);
      const g = a([n, F]);
      const u = a([n, F]);
      const hh = a([n, F]);
      const scale = c.queryPreAttnScalar ** -0.5;
      const kvW = Hkv * d;
      for (let l = 0; l < c.numLayers; l++) {
        const L = this.layers[l] as Layer;
        const { theta, window } = layerAttention(c, l);
        be.rmsnormForward(hN, rstd, x, L.inNorm, n, D, eps, off);
        be.linearForward(q, hN, w(L.q), L.qb, n, D, H * d);
        be.linearForward(k, hN, w(L.k), L.kb, n, D, kvW);
        be.linearForward(v, hN, w(L.v), L.vb, n, D, kvW);
        let qr = q;
        let kr = k;
        if (L.qNorm !== null && L.kNorm !== null) {
          be.rmsnormForward(qn, rstdH, q, L.qNorm, n * H, d, eps, off);
          be.rmsnormForward(kn, rstdH, k, L.kNorm, n * Hkv, d, eps, off);
          qr = qn;
          kr = kn;
        }
        be.ropeForward(qr, pos, n, H, d, theta);
        be.ropeForward(kr, pos, n, Hkv, d, theta);
        segments.forEach(({ ids, cache }, g) => {
          const r0 = rowStart[g] as number;
          const rows = ids.length;
          const start = cache.length;
          const kc = cache.k[l] as Tensor;
          const vc = cache.v[l] as Tensor;
          be.copyRows(kc, start, kr, r0, rows, kvW);
          be.copyRows(vc, start, v, r0, rows, kvW);
          be.cachedAttention(att, qr, r0, kc, vc, { rows, start, heads: H, kvHeads: Hkv, headDim: d, scale, window });
        });
        be.linearForward(o, att, w(L.o), L.ob, n, H * d, D);
        if (L.preFfnNorm !== null && L.postFfnNorm !== null) {
          be.rmsnormForward(o2, rstd, o, L.postAttnNorm, n, D, eps, off);
          be.residualForward(x, x, o2, n * D);
          be.rmsnormForward(hN, rstd, x, L.preFfnNorm, n, D, eps, off);
        } else {
          be.residualForward(x, x, o, n * D);
          be.rmsnormForward(hN, rstd, x, L.postAttnNorm, n, D, eps, off);
        }
        be.linearForward(g, hN, w(L.gate), null, n, D, F);
        be.linearForward(u, hN, w(L.up), null, n, D, F);
        be.gluForward(hh, g, u, n * F, c.activation);
        be.linearForward(o, hh, w(L.down), null, n, F, D);
        if (L.postFfnNorm !== null) {
          be.rmsnormForward(o2, rstd, o, L.postFfnNorm, n, D, eps, off);
          be.residualForward(x, x, o2, n * D);
        } else {
          be.residualForward(x, x, o, n * D);
        }
      }
      // Only each segment's last row goes through the head.
      const S = segments.length;
      const last = a([S, D]);
      segments.forEach(({ ids }, g) => {
        be.copyRows(last, g, x, (rowStart[g] as number) + ids.length - 1, 1, D);
      });
      const lastN = a([S, D]);
      const r1 = a([S]);
      be.rmsnormForward(lastN, r1, last, this.finalNorm, S, D, eps, off);
      const logits = a([S, c.vocabSize]);
      be.linearForward(logits, lastN, this.head, null, S, D, c.vocabSize);
      for (const { ids, cache } of segments) {
        cache.length += ids.length;
        for (const id of ids) cache.ids.push(id);
      }
      const all = be.download(logits) as Float32Array;
      return segments.map((_, g) => Float32Array.from(all.subarray(g * c.vocabSize, (g + 1) * c.vocabSize)));
    } finally {
      for (const t of tmp) be.free(t);
    }
  }
}
