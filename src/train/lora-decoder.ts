// QLoRA training of the decoder on any engine Backend (the CPU reference here; any backend that
// passes the conformance suite): the frozen base (float32, or NF4 with double quantisation
// dequantised per use), LoRA A/B on any of the seven projections, one forward that keeps what
// the backward needs, one backward, llm.c style. The same family flags as the inference decoder.
//
// Per layer (N = batch·tokens rows, D hidden, F intermediate, H/Hkv heads of width d):
//   h1 = norm(x)                      q, k, v = lora(h1)          (qk-norm) → rope
//   att = attention(q, k, v)          o = lora(att)               x2 = x + [postnorm](o)
//   h2 = norm(x2)                     g, u = lora(h2)             m = act(g)·u
//   dn = lora(m)                      out = x2 + [postnorm](dn)
// Head: logits = norm(x_L)·Eᵀ in chunks of rows (never [N, vocab] at once), fused cross-entropy.

import type { AttentionShape, Backend, LoraShape, Tensor } from "../engine/backend.js";
import { loraDropoutSeed } from "../engine/cpu/dropout.js";
import { InvalidInputError } from "../errors.js";
import type { ModelConfig } from "../model/config.js";
import { layerAttention, UnsupportedModelError } from "../model/config.js";
import type { HostWeight } from "../model/host-weights.js";
import { type LayerNorms, layerNorms } from "../model/layer-norms.js";
import { dequantizeNf4Rows, type Nf4Tensor, nf4BlockAbsmax, quantizeNf4 } from "../quant/nf4.js";
import { IGNORE_INDEX } from "./batches.js";
import { PEFT_TARGET_MODULES, type LoraTarget, type LoraWeights } from "./export-peft.js";
import { checkNeftuneAlpha, neftuneMagnitude, neftuneNoise, neftuneSeed } from "../engine/neftune.js";
import type { Parameter } from "./optimizer.js";
import type { TrainableModel } from "./trainer.js";

/** LoRA settings of a training run. */
export interface LoraSettings {
  rank: number;
  alpha: number;
  /** Dropout on the adapter's input (PEFT's lora_dropout). */
  dropout: number;
  /** Short names: q, k, v, o, gate, up, down. */
  targets: readonly LoraTarget[];
  /** Seed of A's Kaiming-uniform init and of the dropout masks. */
  seed: number;
  /** NEFTune's noise alpha on the input embeddings while training (src/engine/neftune.ts); 0 or absent = off. */
  neftuneAlpha?: number;
}

export interface LoraDecoderOptions {
  /** How the frozen projections are held: NF4 with double quantisation (QLoRA, default) or f32. */
  baseFormat?: "nf4" | "f32";
  /** The base model's id or path, written into the adapter (`base_model_name_or_path`). */
  baseModel?: string;
  /** Rows of logits materialised at once by the loss head; default keeps a chunk ≤ 16M floats. */
  lossChunkRows?: number;
  /**
   * With an NF4 base: keep each projection's float32 expansion on the backend after its first use
   * instead of expanding it again at every use (twice a step). The same values either way (the
   * codes never change), for 4 bytes a weight beside the codes' half byte. Default false; the
   * trainer decides with `keepExpansionByDefault`.
   */
  keepExpanded?: boolean;
}

/** The seven projections in the order adapters are counted and named. */
export const PROJECTIONS: readonly LoraTarget[] = ["q", "k", "v", "o", "gate", "up", "down"];

/** A frozen projection: f32 on the backend, or NF4 codes on the host dequantised per use. */
type FrozenWeight =
  | { kind: "f32"; t: Tensor; rows: number; cols: number }
  | { kind: "nf4"; nf4: Nf4Tensor; absmax: Float32Array; rows: number; cols: number; expanded?: Tensor };

interface Adapter {
  a: Parameter; // [r, in]
  b: Parameter; // [out, r]
  /** Index of this module among all adapters: part of its dropout seed. */
  index: number;
}

interface Projection {
  w: FrozenWeight;
  bias: Tensor | null;
  adapter: Adapter | null;
}

interface Layer extends LayerNorms<Tensor> {
  proj: Record<LoraTarget, Projection>;
}

/** What one layer's forward keeps for its backward. All [N, ·] unless noted. */
interface Saved {
  x: Tensor; // layer input [N, D]
  h1: Tensor;
  rstd1: Tensor; // [N]
  qRaw: Tensor; // q before qk-norm [N, H·d] (same tensor as q without qk-norm)
  kRaw: Tensor;
  rstdQ: Tensor | null; // [N·H]
  rstdK: Tensor | null; // [N·Hkv]
  q: Tensor; // rotated q, attention's input
  k: Tensor;
  v: Tensor;
  att: Tensor; // [N, H·d]
  lse: Tensor; // [B, H, T]
  o: Tensor; // [N, D] o_proj output
  rstdO: Tensor | null; // sandwich post-attention norm
  x2: Tensor;
  h2: Tensor;
  rstd2: Tensor;
  g: Tensor; // [N, F]
  u: Tensor;
  m: Tensor;
  dn: Tensor; // [N, D] down_proj output
  rstdD: Tensor | null;
  /** h = dropout(x)·Aᵀ of each adapted projection: [N, r]. */
  loraH: Partial<Record<LoraTarget, Tensor>>;
}

/**
 * The initial A [rank, fanIn] of the adapter at `index` (modules counted layer by layer in
 * q, k, v, o, gate, up, down order): Kaiming-uniform from an xorshift32 stream, so every backend
 * starts a run from the same adapter.
 */
export function initialLoraA(index: number, rank: number, fanIn: number, seed: number): Float32Array {
  return kaimingUniform(rank * fanIn, fanIn, seed * 7919 + index + 1);
}

/** The forward-call counter a checkpoint's random state of a LoRA model holds (`{ calls }`). */
export function callsOfRandomState(state: unknown): number {
  const calls = (state as { calls?: unknown } | null)?.calls;
  if (typeof calls !== "number" || !Number.isSafeInteger(calls) || calls < 0) throw new InvalidInputError("the checkpoint's random state of the LoRA model is malformed", { field: "random_state" });
  return calls;
}

/** The LoRA parameters (PEFT-named) as the weights an adapter export writes: copies of the values. */
export function loraWeightsOf(params: readonly Parameter[], lora: LoraSettings, baseModel: string): LoraWeights {
  const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const p of params) tensors.set(p.name, { shape: p.shape, data: Float32Array.from(p.value) });
  return { baseModel, rank: lora.rank, alpha: lora.alpha, dropout: lora.dropout, targets: lora.targets.map((t) => PEFT_TARGET_MODULES[t]), tensors };
}

/** xorshift32 uniform in [0, 1): the init of A depends only on the seed and the module. */
function kaimingUniform(n: number, fanIn: number, seed: number): Float32Array {
  // PEFT: kaiming_uniform_(A, a=√5) → bound = √(6 / ((1 + 5)·fan_in)) = 1/√fan_in
  const bound = 1 / Math.sqrt(fanIn);
  let s = seed >>> 0 || 0x9e3779b9;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296) * 2 * bound - bound;
  }
  return out;
}

/** PEFT's name of one LoRA matrix: base_model.model.model.layers.{i}.{self_attn|mlp}.{t}_proj.lora_{A|B}.weight */
export function peftName(layer: number, target: LoraTarget, which: "A" | "B"): string {
  const module = target === "gate" || target === "up" || target === "down" ? "mlp" : "self_attn";
  return `base_model.model.model.layers.${layer}.${module}.${PEFT_TARGET_MODULES[target]}.lora_${which}.weight`;
}

/**
 * A decoder with LoRA adapters, trainable through `TrainableModel` (the trainer's interface).
 * Parameters live on the host (the optimizer's side); each call uploads them and adds the
 * backend's gradients into `Parameter.grad`.
 */
export class LoraDecoder implements TrainableModel {
  private readonly layers: Layer[] = [];
  private readonly embed: Tensor;
  private readonly head: Tensor;
  private readonly finalNorm: Tensor;
  private readonly params: Parameter[] = [];
  private readonly adapters: { layer: number; target: LoraTarget; adapter: Adapter }[] = [];
  /** Forward calls so far: with the seed, names every dropout mask (saved in checkpoints). */
  private calls = 0;
  private readonly chunkRows: number;
  private readonly baseModel: string;
  private readonly keepExpanded: boolean;
  /** The config's sizes under the names the layer passes use (D hidden, F intermediate, H/Hkv heads of width d). */
  private readonly dims: { D: number; F: number; H: number; Hkv: number; d: number; eps: number; off: boolean };

  constructor(
    readonly backend: Backend,
    readonly config: ModelConfig,
    weights: ReadonlyMap<string, HostWeight>,
    readonly lora: LoraSettings,
    options: LoraDecoderOptions = {},
  ) {
    const c = config;
    if (c.ropeScaling !== null) throw new UnsupportedModelError("RoPE scaling in the LoRA trainer");
    if (!(lora.rank > 0) || !Number.isInteger(lora.rank)) throw new InvalidInputError(`LoRA rank must be a positive whole number, got ${lora.rank}`, { field: "rank" });
    if (!(lora.dropout >= 0 && lora.dropout < 1)) throw new InvalidInputError(`LoRA dropout must be in [0, 1), got ${lora.dropout}`, { field: "dropout" });
    checkNeftuneAlpha(lora.neftuneAlpha ?? 0);
    for (const t of lora.targets) if (!PROJECTIONS.includes(t)) throw new InvalidInputError(`unknown LoRA target "${t}"`, { field: "targets", hint: `use any of ${PROJECTIONS.join(", ")}` });
    this.baseModel = options.baseModel ?? "";
    this.keepExpanded = options.keepExpanded === true;
    this.dims = { D: c.hiddenSize, F: c.intermediateSize, H: c.numHeads, Hkv: c.numKvHeads, d: c.headDim, eps: c.rmsNormEps, off: c.normUnitOffset };
    this.chunkRows = options.lossChunkRows ?? Math.max(1, Math.min(1024, Math.floor(2 ** 24 / c.vocabSize)));
    const nf4 = (options.baseFormat ?? "nf4") === "nf4";
    const get = (name: string): HostWeight => {
      const w = weights.get(name);
      if (w === undefined) throw new UnsupportedModelError(`weight ${name} is missing`, { hint: "the weights do not match the config" });
      return w;
    };
    const upload = (w: HostWeight): Tensor => {
      const t = backend.alloc(w.shape);
      backend.upload(t, w.data);
      return t;
    };
    const req = (name: string) => upload(get(name));
    const opt = (name: string) => (weights.has(name) ? req(name) : null);
    this.embed = req("model.embed_tokens.weight");
    this.head = c.tieWordEmbeddings || !weights.has("lm_head.weight") ? this.embed : req("lm_head.weight");
    this.finalNorm = req("model.norm.weight");
    const hfName: Record<LoraTarget, string> = { q: "self_attn.q_proj", k: "self_attn.k_proj", v: "self_attn.v_proj", o: "self_attn.o_proj", gate: "mlp.gate_proj", up: "mlp.up_proj", down: "mlp.down_proj" };
    for (let l = 0; l < c.numLayers; l++) {
      const p = `model.layers.${l}.`;
      const proj = {} as Record<LoraTarget, Projection>;
      for (const target of PROJECTIONS) {
        const w = get(`${p}${hfName[target]}.weight`);
        const [rows, cols] = w.shape as [number, number];
        let frozen: FrozenWeight;
        if (nf4) {
          const q = quantizeNf4(w.data, rows, cols);
          frozen = { kind: "nf4", nf4: q, absmax: nf4BlockAbsmax(q), rows, cols };
        } else frozen = { kind: "f32", t: upload(w), rows, cols };
        let adapter: Adapter | null = null;
        if (lora.targets.includes(target)) {
          const index = this.adapters.length;
          const a: Parameter = { name: peftName(l, target, "A"), shape: [lora.rank, cols], value: initialLoraA(index, lora.rank, cols, lora.seed), grad: new Float32Array(lora.rank * cols) };
          const b: Parameter = { name: peftName(l, target, "B"), shape: [rows, lora.rank], value: new Float32Array(rows * lora.rank), grad: new Float32Array(rows * lora.rank) };
          adapter = { a, b, index };
          this.params.push(a, b);
          this.adapters.push({ layer: l, target, adapter });
        }
        proj[target] = { w: frozen, bias: opt(`${p}${hfName[target]}.bias`), adapter };
      }
      this.layers.push({ ...layerNorms(c, l, req), proj });
    }
  }

  parameters(): readonly Parameter[] {
    return this.params;
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad.fill(0);
  }

  randomState(): unknown {
    return { calls: this.calls };
  }

  setRandomState(state: unknown): void {
    this.calls = callsOfRandomState(state);
  }

  seekRandom(call: number): void {
    this.calls = call;
  }

  /** Number of trainable values. */
  get trainableParameters(): number {
    return this.params.reduce((s, p) => s + p.value.length, 0);
  }

  /** Replaces the LoRA matrices (PEFT names, as `adapter()` gives them): to resume, or to test. */
  setAdapter(tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>): void {
    for (const p of this.params) {
      const t = tensors.get(p.name);
      if (t === undefined) throw new InvalidInputError(`the adapter has no tensor ${p.name}`, { field: p.name });
      if (t.data.length !== p.value.length) throw new InvalidInputError(`${p.name} has ${t.data.length} values, ${p.value.length} expected (shape [${p.shape.join(", ")}])`, { field: p.name });
      p.value.set(t.data);
    }
  }

  /** The current LoRA weights under PEFT names, ready for `exportPeftAdapter`. */
  adapter(): LoraWeights {
    return loraWeightsOf(this.params, this.lora, this.baseModel);
  }

  /**
   * Forward and backward over one right-padded batch; see TrainableModel. ids, targets:
   * [batch, tokens], targets already shifted (−100: no loss). Returns the summed loss.
   */
  lossAndGrad(ids: Int32Array, targets: Int32Array, batch: number, tokens: number, lossScale: number): number {
    const c = this.config;
    const be = this.backend;
    const N = batch * tokens;
    if (ids.length !== N || targets.length !== N) throw new InvalidInputError(`ids and targets must hold batch·tokens = ${N} values, got ${ids.length} and ${targets.length}`);
    for (const id of ids) if (!(id >= 0 && id < c.vocabSize)) throw new InvalidInputError(`token id ${id} is outside the vocabulary (${c.vocabSize})`);
    for (const y of targets) if (y !== IGNORE_INDEX && !(y >= 0 && y < c.vocabSize)) throw new InvalidInputError(`target ${y} is outside the vocabulary (${c.vocabSize})`);
    const call = this.calls++;
    const run = new StepScope(be);
    try {
      const lora = this.uploadAdapters(run);
      const idT = run.i32([N], ids);
      const pos = run.i32(
        [N],
        Int32Array.from({ length: N }, (_, i) => i % tokens),
      );
      let x = run.alloc([N, c.hiddenSize]);
      be.embeddingForward(x, this.embed, idT, N, c.hiddenSize, c.embeddingScale);
      const neftune = this.lora.neftuneAlpha ?? 0;
      if (neftune > 0) {
        const noise = neftuneNoise(neftuneSeed(this.lora.seed, call), N * c.hiddenSize, neftuneMagnitude(neftune, tokens, c.hiddenSize));
        be.accumulate(x, run.f32([N, c.hiddenSize], noise), N * c.hiddenSize);
      }
      const saved: Saved[] = [];
      for (let l = 0; l < c.numLayers; l++) {
        const s = this.layerForward(run, lora, l, x, pos, batch, tokens, call);
        saved.push(s);
        x = this.layerOutput(run, s, l);
      }
      const { loss, dx } = this.headForwardBackward(run, x, targets, N, lossScale);
      let dOut = dx;
      for (let l = c.numLayers - 1; l >= 0; l--) dOut = this.layerBackward(run, lora, l, saved[l] as Saved, dOut, pos, batch, tokens, call);
      this.downloadGrads(lora);
      return loss;
    } finally {
      run.dispose();
    }
  }

  /** The parameters as backend tensors with zeroed gradient tensors beside them. */
  private uploadAdapters(run: StepScope): Map<Adapter, { a: Tensor; b: Tensor; dA: Tensor; dB: Tensor }> {
    const out = new Map<Adapter, { a: Tensor; b: Tensor; dA: Tensor; dB: Tensor }>();
    for (const { adapter } of this.adapters) {
      out.set(adapter, { a: run.f32(adapter.a.shape, adapter.a.value), b: run.f32(adapter.b.shape, adapter.b.value), dA: run.alloc(adapter.a.shape), dB: run.alloc(adapter.b.shape) });
    }
    return out;
  }

  private downloadGrads(lora: Map<Adapter, { dA: Tensor; dB: Tensor }>): void {
    for (const [adapter, t] of lora) {
      addInto(adapter.a.grad, this.backend.download(t.dA) as Float32Array);
      addInto(adapter.b.grad, this.backend.download(t.dB) as Float32Array);
    }
  }

  /** The frozen weight as an f32 backend tensor (NF4 dequantised into a per-step scratch, or kept from its first use). */
  private weight(run: StepScope, w: FrozenWeight): Tensor {
    if (w.kind === "f32") return w.t;
    if (!this.keepExpanded) return run.dequantized(w.nf4, w.absmax, w.rows, w.cols);
    if (w.expanded === undefined) {
      const t = this.backend.alloc([w.rows, w.cols]);
      this.backend.upload(t, dequantizeNf4Rows(w.nf4, 0, w.rows, new Float32Array(w.rows * w.cols), w.absmax));
      w.expanded = t;
    }
    return w.expanded;
  }

  private loraShape(rows: number, p: Projection, call: number): LoraShape {
    const a = p.adapter as Adapter;
    // one mask per module and call; the backward regenerates it from the same seed
    const seed = loraDropoutSeed(this.lora.seed, call, a.index);
    return { rows, inF: p.w.cols, outF: p.w.rows, rank: this.lora.rank, scaling: this.lora.alpha / this.lora.rank, dropout: this.lora.dropout, seed };
  }

  /** y = x·Wᵀ + b (+ the adapter's share, saving h). */
  private projForward(run: StepScope, lora: Map<Adapter, { a: Tensor; b: Tensor }>, saved: Saved, target: LoraTarget, p: Projection, y: Tensor, x: Tensor, rows: number, call: number): void {
    const w = this.weight(run, p.w);
    if (p.adapter === null) {
      this.backend.linearForward(y, x, w, p.bias, rows, p.w.cols, p.w.rows);
      return;
    }
    const t = lora.get(p.adapter) as { a: Tensor; b: Tensor };
    const h = run.alloc([rows, this.lora.rank]);
    saved.loraH[target] = h;
    this.backend.loraForward(y, h, x, w, p.bias, t.a, t.b, this.loraShape(rows, p, call));
  }

  /** dx = dy·W (+ the adapter's share), dA += , dB += ; dx overwritten. */
  private projBackward(run: StepScope, lora: Map<Adapter, { a: Tensor; b: Tensor; dA: Tensor; dB: Tensor }>, saved: Saved, target: LoraTarget, p: Projection, dx: Tensor, dy: Tensor, x: Tensor, rows: number, call: number): void {
    const w = this.weight(run, p.w);
    if (p.adapter === null) {
      this.backend.linearBackward(dx, null, null, dy, x, w, rows, p.w.cols, p.w.rows);
      return;
    }
    const t = lora.get(p.adapter) as { a: Tensor; b: Tensor; dA: Tensor; dB: Tensor };
    this.backend.loraBackward(dx, t.dA, t.dB, dy, x, w, t.a, t.b, saved.loraH[target] as Tensor, this.loraShape(rows, p, call));
  }

  private attentionShape(l: number, batch: number, tokens: number): AttentionShape {
    const c = this.config;
    return { batch, tokens, heads: c.numHeads, kvHeads: c.numKvHeads, headDim: c.headDim, scale: c.queryPreAttnScalar ** -0.5, window: layerAttention(c, l).window };
  }

  private layerForward(run: StepScope, lora: Map<Adapter, { a: Tensor; b: Tensor }>, l: number, x: Tensor, pos: Tensor, batch: number, tokens: number, call: number): Saved {
    const c = this.config;
    const be = this.backend;
    const L = this.layers[l] as Layer;
    const N = batch * tokens;
    const { D, F, H, Hkv, d, eps, off } = this.dims;
    const { theta } = layerAttention(c, l);
    const s = { x, loraH: {} } as Saved;
    s.h1 = run.alloc([N, D]);
    s.rstd1 = run.alloc([N]);
    be.rmsnormForward(s.h1, s.rstd1, x, L.inNorm, N, D, eps, off);
    s.qRaw = run.alloc([N, H * d]);
    s.kRaw = run.alloc([N, Hkv * d]);
    s.v = run.alloc([N, Hkv * d]);
    this.projForward(run, lora, s, "q", L.proj.q, s.qRaw, s.h1, N, call);
    this.projForward(run, lora, s, "k", L.proj.k, s.kRaw, s.h1, N, call);
    this.projForward(run, lora, s, "v", L.proj.v, s.v, s.h1, N, call);
    if (L.qNorm !== null && L.kNorm !== null) {
      s.q = run.alloc([N, H * d]);
      s.k = run.alloc([N, Hkv * d]);
      s.rstdQ = run.alloc([N * H]);
      s.rstdK = run.alloc([N * Hkv]);
      be.rmsnormForward(s.q, s.rstdQ, s.qRaw, L.qNorm, N * H, d, eps, off);
      be.rmsnormForward(s.k, s.rstdK, s.kRaw, L.kNorm, N * Hkv, d, eps, off);
    } else {
      // without qk-norm the rotation is in place: the pre-rotation q is never needed again
      s.q = s.qRaw;
      s.k = s.kRaw;
      s.rstdQ = null;
      s.rstdK = null;
    }
    be.ropeForward(s.q, pos, N, H, d, theta);
    be.ropeForward(s.k, pos, N, Hkv, d, theta);
    s.att = run.alloc([N, H * d]);
    s.lse = run.alloc([batch, H, tokens]);
    be.attentionForward(s.att, s.lse, s.q, s.k, s.v, this.attentionShape(l, batch, tokens));
    s.o = run.alloc([N, D]);
    this.projForward(run, lora, s, "o", L.proj.o, s.o, s.att, N, call);
    s.x2 = run.alloc([N, D]);
    s.h2 = run.alloc([N, D]);
    s.rstd2 = run.alloc([N]);
    if (L.preFfnNorm !== null) {
      const o2 = run.alloc([N, D]);
      s.rstdO = run.alloc([N]);
      be.rmsnormForward(o2, s.rstdO, s.o, L.postAttnNorm, N, D, eps, off);
      be.residualForward(s.x2, x, o2, N * D);
      run.free(o2);
      be.rmsnormForward(s.h2, s.rstd2, s.x2, L.preFfnNorm, N, D, eps, off);
    } else {
      s.rstdO = null;
      be.residualForward(s.x2, x, s.o, N * D);
      be.rmsnormForward(s.h2, s.rstd2, s.x2, L.postAttnNorm, N, D, eps, off);
    }
    s.g = run.alloc([N, F]);
    s.u = run.alloc([N, F]);
    s.m = run.alloc([N, F]);
    this.projForward(run, lora, s, "gate", L.proj.gate, s.g, s.h2, N, call);
    this.projForward(run, lora, s, "up", L.proj.up, s.u, s.h2, N, call);
    be.gluForward(s.m, s.g, s.u, N * F, c.activation);
    s.dn = run.alloc([N, D]);
    this.projForward(run, lora, s, "down", L.proj.down, s.dn, s.m, N, call);
    s.rstdD = L.postFfnNorm !== null ? run.alloc([N]) : null;
    return s;
  }

  /** out = x2 + [post-FFN norm](dn): the next layer's input. */
  private layerOutput(run: StepScope, s: Saved, l: number): Tensor {
    const c = this.config;
    const be = this.backend;
    const L = this.layers[l] as Layer;
    const n = s.x2.size;
    const N = n / c.hiddenSize;
    const out = run.alloc([N, c.hiddenSize]);
    if (L.postFfnNorm !== null && s.rstdD !== null) {
      const dn2 = run.alloc([N, c.hiddenSize]);
      be.rmsnormForward(dn2, s.rstdD, s.dn, L.postFfnNorm, N, c.hiddenSize, c.rmsNormEps, c.normUnitOffset);
      be.residualForward(out, s.x2, dn2, n);
      run.free(dn2);
    } else be.residualForward(out, s.x2, s.dn, n);
    return out;
  }

  /** dOut [N, D] → d(layer input) [N, D]; adds the adapters' gradients. */
  private layerBackward(run: StepScope, lora: Map<Adapter, { a: Tensor; b: Tensor; dA: Tensor; dB: Tensor }>, l: number, s: Saved, dOut: Tensor, pos: Tensor, batch: number, tokens: number, call: number): Tensor {
    const c = this.config;
    const be = this.backend;
    const L = this.layers[l] as Layer;
    const N = batch * tokens;
    const { D, F, H, Hkv, d, off } = this.dims;
    const { theta } = layerAttention(c, l);
    // MLP branch: out = x2 + [norm](dn)
    let ddn = dOut;
    if (L.postFfnNorm !== null && s.rstdD !== null) {
      ddn = run.alloc([N, D]);
      be.rmsnormBackward(ddn, null, dOut, s.dn, L.postFfnNorm, s.rstdD, N, D, off);
    }
    const dm = run.alloc([N, F]);
    this.projBackward(run, lora, s, "down", L.proj.down, dm, ddn, s.m, N, call);
    if (ddn !== dOut) run.free(ddn);
    const dg = run.alloc([N, F]);
    const du = run.alloc([N, F]);
    be.gluBackward(dg, du, dm, s.g, s.u, N * F, c.activation);
    run.free(dm);
    const dh2 = run.alloc([N, D]);
    const tmp = run.alloc([N, D]);
    this.projBackward(run, lora, s, "gate", L.proj.gate, dh2, dg, s.h2, N, call);
    this.projBackward(run, lora, s, "up", L.proj.up, tmp, du, s.h2, N, call);
    be.accumulate(dh2, tmp, N * D);
    run.free(dg);
    run.free(du);
    // dx2 = dOut + norm2'(dh2)
    const dx2 = run.alloc([N, D]);
    be.rmsnormBackward(dx2, null, dh2, s.x2, L.preFfnNorm ?? L.postAttnNorm, s.rstd2, N, D, off);
    be.accumulate(dx2, dOut, N * D);
    run.free(dh2);
    // attention branch: x2 = x + [norm](o)
    let dO = dx2;
    if (L.preFfnNorm !== null && s.rstdO !== null) {
      dO = tmp;
      be.rmsnormBackward(dO, null, dx2, s.o, L.postAttnNorm, s.rstdO, N, D, off);
    }
    const datt = run.alloc([N, H * d]);
    this.projBackward(run, lora, s, "o", L.proj.o, datt, dO, s.att, N, call);
    const dq = run.alloc([N, H * d]);
    const dk = run.alloc([N, Hkv * d]);
    const dv = run.alloc([N, Hkv * d]);
    be.attentionBackward(dq, dk, dv, datt, s.q, s.k, s.v, s.att, s.lse, this.attentionShape(l, batch, tokens));
    run.free(datt);
    be.ropeBackward(dq, pos, N, H, d, theta);
    be.ropeBackward(dk, pos, N, Hkv, d, theta);
    let dqRaw = dq;
    let dkRaw = dk;
    if (L.qNorm !== null && L.kNorm !== null && s.rstdQ !== null && s.rstdK !== null) {
      dqRaw = run.alloc([N, H * d]);
      dkRaw = run.alloc([N, Hkv * d]);
      be.rmsnormBackward(dqRaw, null, dq, s.qRaw, L.qNorm, s.rstdQ, N * H, d, off);
      be.rmsnormBackward(dkRaw, null, dk, s.kRaw, L.kNorm, s.rstdK, N * Hkv, d, off);
    }
    const dh1 = run.alloc([N, D]);
    this.projBackward(run, lora, s, "q", L.proj.q, dh1, dqRaw, s.h1, N, call);
    this.projBackward(run, lora, s, "k", L.proj.k, tmp, dkRaw, s.h1, N, call);
    be.accumulate(dh1, tmp, N * D);
    this.projBackward(run, lora, s, "v", L.proj.v, tmp, dv, s.h1, N, call);
    be.accumulate(dh1, tmp, N * D);
    // dx = dx2 + norm1'(dh1)
    const dx = run.alloc([N, D]);
    be.rmsnormBackward(dx, null, dh1, s.x, L.inNorm, s.rstd1, N, D, off);
    be.accumulate(dx, dx2, N * D);
    for (const t of [dq, dk, dv, dqRaw, dkRaw, dh1, tmp, dx2, dOut]) run.free(t);
    run.releaseSaved(s);
    return dx;
  }

  /**
   * The head over chunks of rows: final norm, logits = h·Eᵀ, cross-entropy; returns the summed
   * loss and d(lossScale·summed loss)/dx [N, D].
   */
  private headForwardBackward(run: StepScope, x: Tensor, targets: Int32Array, N: number, lossScale: number): { loss: number; dx: Tensor } {
    const c = this.config;
    const be = this.backend;
    const D = c.hiddenSize;
    const V = c.vocabSize;
    const hN = run.alloc([N, D]);
    const rstd = run.alloc([N]);
    be.rmsnormForward(hN, rstd, x, this.finalNorm, N, D, c.rmsNormEps, c.normUnitOffset);
    const hHost = be.download(hN) as Float32Array;
    const dhHost = new Float32Array(N * D);
    // Only rows with a target reach the head: prompt rows (most of a ReAct example) carry no loss.
    const rowsWithLoss: number[] = [];
    for (let r = 0; r < N; r++) if (targets[r] !== IGNORE_INDEX) rowsWithLoss.push(r);
    let loss = 0;
    for (let k0 = 0; k0 < rowsWithLoss.length; k0 += this.chunkRows) {
      const picked = rowsWithLoss.slice(k0, k0 + this.chunkRows);
      const rows = picked.length;
      const hPacked = new Float32Array(rows * D);
      const y = new Int32Array(rows);
      for (const [i, r] of picked.entries()) {
        hPacked.set(hHost.subarray(r * D, (r + 1) * D), i * D);
        y[i] = targets[r] as number;
      }
      const scope = new StepScope(be);
      try {
        const h = scope.f32([rows, D], hPacked);
        const logits = scope.alloc([rows, V]);
        be.linearForward(logits, h, this.head, null, rows, D, V);
        const losses = scope.alloc([rows]);
        const yT = scope.i32([rows], y);
        const mean = be.crossEntropy(losses, logits, logits, yT, rows, V);
        loss += mean * rows;
        // dlogits = (softmax − onehot)/rows; the summed loss's gradient is rows× that
        const dh = scope.alloc([rows, D]);
        be.matmul(dh, logits, this.head, rows, D, V, { alpha: rows * lossScale });
        const dhPacked = be.download(dh) as Float32Array;
        for (const [i, r] of picked.entries()) dhHost.set(dhPacked.subarray(i * D, (i + 1) * D), r * D);
      } finally {
        scope.dispose();
      }
    }
    const dh = run.f32([N, D], dhHost);
    const dx = run.alloc([N, D]);
    be.rmsnormBackward(dx, null, dh, x, this.finalNorm, rstd, N, D, c.normUnitOffset);
    run.free(dh);
    run.free(hN);
    return { loss, dx };
  }

  /** Releases the base weights' backend tensors. */
  dispose(): void {
    const be = this.backend;
    const seen = new Set<Tensor>();
    const free = (t: Tensor | null) => {
      if (t !== null && !seen.has(t)) {
        seen.add(t);
        be.free(t);
      }
    };
    free(this.embed);
    free(this.head);
    free(this.finalNorm);
    for (const L of this.layers) {
      for (const t of [L.inNorm, L.postAttnNorm, L.preFfnNorm, L.postFfnNorm, L.qNorm, L.kNorm]) free(t);
      for (const p of Object.values(L.proj)) {
        free(p.bias);
        if (p.w.kind === "f32") free(p.w.t);
        else if (p.w.expanded !== undefined) {
          free(p.w.expanded);
          p.w.expanded = undefined;
        }
      }
    }
  }
}

function addInto(dst: Float32Array, src: Float32Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] = (dst[i] as number) + (src[i] as number);
}

/**
 * The tensors of one step: everything allocated through it is freed at `dispose` (or earlier
 * with `free`), and NF4 weights are dequantised into one scratch tensor per shape.
 */
class StepScope {
  private readonly live = new Set<Tensor>();
  private readonly scratch = new Map<string, { t: Tensor; host: Float32Array; of: Nf4Tensor | null }>();
  constructor(private readonly be: Backend) {}
  alloc(shape: readonly number[]): Tensor {
    const t = this.be.alloc(shape);
    this.live.add(t);
    return t;
  }
  f32(shape: readonly number[], data: Float32Array): Tensor {
    const t = this.alloc(shape);
    this.be.upload(t, data);
    return t;
  }
  i32(shape: readonly number[], data: Int32Array): Tensor {
    const t = this.be.alloc(shape, "i32");
    this.live.add(t);
    this.be.upload(t, data);
    return t;
  }
  free(t: Tensor): void {
    if (this.live.delete(t)) this.be.free(t);
  }
  /** Frees what a layer kept for its backward pass (the layer input belongs to the layer before). */
  releaseSaved(s: Saved): void {
    for (const [key, t] of Object.entries(s)) {
      if (key === "x" || key === "loraH" || t === null) continue;
      this.free(t as Tensor);
    }
    for (const t of Object.values(s.loraH)) if (t) this.free(t);
  }
  /** W [rows, cols] dequantised from NF4; the scratch of that shape holds one weight at a time. */
  dequantized(nf4: Nf4Tensor, absmax: Float32Array, rows: number, cols: number): Tensor {
    const key = `${rows}x${cols}`;
    let s = this.scratch.get(key);
    if (s === undefined) {
      s = { t: this.be.alloc([rows, cols]), host: new Float32Array(rows * cols), of: null };
      this.scratch.set(key, s);
    }
    if (s.of !== nf4) {
      dequantizeNf4Rows(nf4, 0, rows, s.host, absmax);
      this.be.upload(s.t, s.host);
      s.of = nf4;
    }
    return s.t;
  }
  dispose(): void {
    for (const t of this.live) this.be.free(t);
    this.live.clear();
    for (const s of this.scratch.values()) this.be.free(s.t);
    this.scratch.clear();
  }
}
