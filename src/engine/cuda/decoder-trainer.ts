import { envChoice } from "../../env-choice.js";
import { InvalidInputError } from "../../errors.js";
import { loraDropoutSeed } from "../cpu/dropout.js";
import { checkNeftuneAlpha, neftuneMagnitude, neftuneSeed } from "../neftune.js";
import type { ModelConfig } from "../../model/config.js";
import { type AttentionSaved, type AttentionShape, CudaAttention } from "./attention.js";
import type { CudaDevice } from "./device.js";
import { type DevicePtr, offsetPtr } from "./ffi.js";
import { LoraArena, type LoraParam } from "./lora-arena.js";
import { CudaLoraLinear } from "./lora-linear.js";
import { CudaSharedInputGroup, LORA_FOLDS, type LoraFold } from "./shared-input-group.js";
import type { DeviceBuffer } from "./memory.js";
import type { CudaNf4Weight } from "./nf4-weight.js";
import { CudaOps } from "./ops.js";
import { CudaSideStream, inlineWeightGrads, type WeightGradStream } from "./weight-grad-stream.js";

/** The seven projections LoRA may target, by their Hugging Face names. */
export type LoraTarget = "q_proj" | "k_proj" | "v_proj" | "o_proj" | "gate_proj" | "up_proj" | "down_proj";
export const ALL_LORA_TARGETS: LoraTarget[] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

/**
 * What the forward pass keeps for the backward pass:
 * - "off": every activation;
 * - "selective": all but the three that one cheap pass remakes from what is kept — the normalised
 *   inputs of the attention and MLP projections and the GLU output, about a third of a layer's
 *   activations (the GLU output is an [N, intermediate] tensor) — made again in the backward pass
 *   by the same kernels, so the gradients are the same bits;
 * - "full": only each layer's input; the layer's whole forward runs again in the backward pass.
 */
export type Recompute = "off" | "selective" | "full";
export const RECOMPUTE_MODES: readonly Recompute[] = ["off", "selective", "full"];

export interface LoraOptions {
  rank: number;
  alpha: number;
  targets: LoraTarget[];
  recompute: Recompute;
  seed: number;
  /** LoRA dropout p (PEFT's lora_dropout); default 0. */
  dropout?: number;
  /** NEFTune's noise alpha on the input embeddings (src/engine/neftune.ts); default 0 (off). */
  neftuneAlpha?: number;
  /**
   * Run the A-side LoRA products of projections that read one input (q/k/v, gate/up) as one
   * product each (CudaSharedInputGroup); applies only without dropout. Default true; false runs
   * every projection alone (same values up to rounding: for benchmarks and tests).
   */
  fuseSharedInputs?: boolean;
  /**
   * Fold the B side of the q/k/v and gate/up adapters into their base products, in the forward
   * pass or in both (the groups read a normalised input that can carry its xa columns;
   * CudaSharedInputGroup, "Folded"; both ways for fused groups only: with LoRA dropout, where each
   * projection runs alone, the forward folds member by member). Default: $AGENTTUNE_LORA_FOLD, else
   * "auto" (loraFoldFor).
   */
  foldLoraB?: LoraFold | "auto";
  /**
   * The loss head takes only the rows that have a target (see lossHead). Default true; false
   * runs every row through it (the same values up to rounding: for benchmarks and tests).
   */
  scoredRowsOnly?: boolean;
  /**
   * The LoRA weight gradients (dA, dB) on a second stream, beside each projection's input-gradient
   * products (CudaSideStream). The same products in the same order on each stream, so the same
   * gradients bit for bit. Default false; off for a profiled step (the profiler times the main
   * stream only). An experiment towards the 7B speed target (bench/notes/cuda.md).
   */
  overlapWeightGrads?: boolean;
}

/** The fold asked for by $AGENTTUNE_LORA_FOLD (auto | off | forward | both), "auto" when unset. */
export function loraFoldFromEnv(env: NodeJS.ProcessEnv = process.env): LoraFold | "auto" {
  return envChoice(env, "AGENTTUNE_LORA_FOLD", ["auto", ...LORA_FOLDS], "auto");
}

/** Hidden sizes up to this fold the B side both ways under "auto" (loraFoldFor); above, the forward. */
const FOLD_BOTH_UP_TO_HIDDEN = 2048;

/**
 * What "auto" folds for a model: the forward always, since unfolded the bf16 output loses much of
 * the adapter's share of it (CudaSharedInputGroup, "Folded"; SmolLM2's loss curve from the third
 * step 3.2–5.2 % above the CPU's float32 one unfolded, 0.5–1.5 % folded:
 * bench/results/lora-fold-h200); the input gradient too up to a hidden size of 2048, for speed. Measured on an H200 in two runs: both ways takes 1.4–2.4 ms off a
 * Qwen2.5-0.5B step (4–9 %) and 1.9–2.9 ms off 3B (1.6–3.9 %), and adds up to 2.8 ms to 7B at
 * 1 × 2048, whose products are large enough that 16–48 more columns cost cuBLAS as much as the
 * rank-r products they replace; the forward alone moves 7B by −0.5 to +2.1 ms.
 */
export function loraFoldFor(config: ModelConfig, asked: LoraFold | "auto" = loraFoldFromEnv()): LoraFold {
  if (asked !== "auto") return asked;
  return config.hiddenSize <= FOLD_BOTH_UP_TO_HIDDEN ? "both" : "forward";
}

/** A layer's projections by the input they read: each group shares its A-side LoRA products. */
const GROUPS = {
  qkv: ["q_proj", "k_proj", "v_proj"],
  o: ["o_proj"],
  gateUp: ["gate_proj", "up_proj"],
  down: ["down_proj"],
} as const satisfies Record<string, readonly LoraTarget[]>;
type GroupName = keyof typeof GROUPS;
/** Most members of a group: the dxa scratch holds that many ranks of columns. */
const LARGEST_GROUP = 3;

/** One decoder layer's frozen weights on the device. Norm weights and biases are fp32. */
export interface CudaLayerWeights {
  attnNorm: DeviceBuffer;
  mlpNorm: DeviceBuffer;
  postAttnNorm?: DeviceBuffer;
  postMlpNorm?: DeviceBuffer;
  qNorm?: DeviceBuffer;
  kNorm?: DeviceBuffer;
  proj: Record<LoraTarget, CudaNf4Weight>;
  bias: Partial<Record<"q_proj" | "k_proj" | "v_proj" | "o_proj", DeviceBuffer>>;
}

export interface CudaDecoderWeights {
  /**
   * [vocab, hidden] bf16; also the output head when embeddings are tied. Untied, only its rows for
   * the step's ids are read, and it may live in page-locked host memory (embeddingPlacement).
   */
  embed: DeviceBuffer;
  /** [vocab, hidden] bf16 when the head is not tied. */
  lmHead?: DeviceBuffer;
  finalNorm: DeviceBuffer;
  layers: CudaLayerWeights[];
}

/** Everything one layer's forward pass keeps for its backward pass. */
interface LayerActivations {
  x: DevicePtr; // [N, d] layer input (owned by the caller)
  h1: DeviceBuffer | null; // null: not kept (selective recomputation), as h2 and m
  rstd1: DeviceBuffer;
  qRaw: DeviceBuffer; // pre-qk-norm q (= q when there is no qk-norm)
  kRaw: DeviceBuffer;
  qkRstd: DeviceBuffer | null; // [N·H] then [N·Hkv]
  q: DeviceBuffer;
  k: DeviceBuffer;
  v: DeviceBuffer;
  attn: AttentionSaved;
  a: DeviceBuffer;
  oRaw: DeviceBuffer | null; // sandwich: o before its post-norm
  oRstd: DeviceBuffer | null;
  x2: DeviceBuffer;
  h2: DeviceBuffer | null;
  rstd2: DeviceBuffer;
  g: DeviceBuffer;
  u: DeviceBuffer;
  m: DeviceBuffer | null;
  dnRaw: DeviceBuffer | null;
  dnRstd: DeviceBuffer | null;
  xa: Record<GroupName, DeviceBuffer | null>; // [N, L·r] a group (CudaSharedInputGroup)
  out: DeviceBuffer; // [N, d] layer output
}

const bf16 = 2;
const f32 = 4;
/** Rows of logits materialised at once by the loss head. */
const LOSS_CHUNK_ROWS = 1024;

function kaimingUniform(rows: number, cols: number, seed: number): Float32Array {
  // PEFT initialises A with kaiming_uniform_(a=√5): bound = 1/√fan_in
  const bound = 1 / Math.sqrt(cols);
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: rows * cols }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 2 ** 32) * 2 * bound - bound;
  });
}

/**
 * QLoRA training of a decoder (Qwen2/2.5, Qwen3, Llama/SmolLM2, Gemma 3 flags) on one GPU:
 * NF4 base, bf16 activations, LoRA A/B and AdamW state in fp32, all matrices in one LoraArena.
 * `forwardBackward` runs forward and backward over one micro-batch and accumulates the LoRA
 * gradients; `optimizerStep` clips and applies them in two launches over the whole arena.
 */
export class CudaDecoderTrainer {
  readonly ops: CudaOps;
  readonly attention: CudaAttention;
  /** Every LoRA matrix's master, shadow, gradient and moments, in `loraNames()` order. */
  readonly arena: LoraArena;
  private readonly groups: Record<GroupName, CudaSharedInputGroup>[] = [];
  private readonly scratch: DeviceBuffer;
  /** Where the LoRA weight gradients are queued (LoraOptions.overlapWeightGrads). */
  private readonly weightGrads: WeightGradStream;
  private step_ = 0;
  /** Each adapter's place in q, k, v, o, gate, up, down order over the layers: part of its dropout seed. */
  private readonly adapterIndex = new Map<object, number>();
  /** forwardBackward calls so far: with the seed, names every dropout mask (as the CPU trainer does). */
  calls = 0;
  /** The call in progress (the masks of its forward and backward, recomputed or not, agree). */
  private call = 0;
  private disposed = false;

  constructor(
    readonly device: CudaDevice,
    readonly config: ModelConfig,
    readonly weights: CudaDecoderWeights,
    readonly lora: LoraOptions,
  ) {
    if (config.ropeScaling) throw new InvalidInputError("the CUDA trainer does not apply RoPE scaling yet");
    if (!RECOMPUTE_MODES.includes(lora.recompute)) {
      throw new InvalidInputError(`recompute must be ${RECOMPUTE_MODES.join(", ")}; got ${String(lora.recompute)}`, { field: "recompute" });
    }
    if (lora.foldLoraB !== undefined && lora.foldLoraB !== "auto" && !LORA_FOLDS.includes(lora.foldLoraB)) {
      throw new InvalidInputError(`foldLoraB must be auto, ${LORA_FOLDS.join(", ")}; got ${String(lora.foldLoraB)}`, { field: "foldLoraB" });
    }
    checkNeftuneAlpha(lora.neftuneAlpha ?? 0); // as the CPU trainer checks it: library callers skip the CLI's flag check
    this.ops = new CudaOps(device);
    this.attention = new CudaAttention(device);
    // the largest weight, with room for a folded group's xa columns
    const largest = Math.max(...weights.layers.flatMap((l) => ALL_LORA_TARGETS.map((t) => l.proj[t].rows * (l.proj[t].cols + LARGEST_GROUP * lora.rank))));
    this.scratch = device.alloc(largest * bf16);
    this.weightGrads = lora.overlapWeightGrads === true ? new CudaSideStream(device) : inlineWeightGrads(device);
    // A [r, in] (kaiming) then B [out, r] (zeros) of each trained target, layer by layer; in memory
    // a group's A matrices sit side by side, then its B matrices (CudaSharedInputGroup)
    const initial: (Float32Array | null)[] = [];
    const sizes: number[] = [];
    const placement: number[] = [];
    let seed = lora.seed;
    for (const layer of weights.layers) {
      const indexOf = new Map<LoraTarget, number>();
      for (const target of ALL_LORA_TARGETS) {
        if (!lora.targets.includes(target)) continue;
        const w = layer.proj[target];
        indexOf.set(target, sizes.length);
        initial.push(kaimingUniform(lora.rank, w.cols, ++seed), null);
        sizes.push(lora.rank * w.cols, w.rows * lora.rank);
      }
      for (const members of Object.values(GROUPS)) {
        const trained = members.flatMap((t) => (indexOf.has(t) ? [indexOf.get(t) as number] : []));
        placement.push(...trained, ...trained.map((i) => i + 1));
      }
    }
    this.arena = new LoraArena(device, this.ops, sizes, placement);
    this.arena.setMasters(initial); // and the shadows
    let next = 0;
    for (const layer of weights.layers) {
      const linears = {} as Record<LoraTarget, CudaLoraLinear>;
      for (const target of ALL_LORA_TARGETS) {
        const w = layer.proj[target];
        let adapter: CudaLoraLinear["lora"] = null;
        if (lora.targets.includes(target)) {
          const a = this.arena.params[next++];
          const b = this.arena.params[next++];
          adapter = { a, b, rank: lora.rank, scale: lora.alpha / lora.rank, dropout: lora.dropout ?? 0 };
          this.adapterIndex.set(adapter, this.adapterIndex.size);
        }
        const bias = (layer.bias as Record<string, DeviceBuffer | undefined>)[target] ?? null;
        linears[target] = new CudaLoraLinear(device, this.ops, w, bias, adapter, this.scratch, this.weightGrads);
      }
      const fuse = lora.fuseSharedInputs ?? true;
      const fold = loraFoldFor(config, lora.foldLoraB);
      // q/k/v and gate/up read an RMSNorm output, which the norm writes with room for xa beside it
      const group = (members: readonly LoraTarget[], foldable: boolean) => new CudaSharedInputGroup(device, this.ops, members.map((t) => linears[t]), fuse, foldable ? fold : "off");
      this.groups.push({ qkv: group(GROUPS.qkv, true), o: group(GROUPS.o, false), gateUp: group(GROUPS.gateUp, true), down: group(GROUPS.down, false) });
    }
  }

  /** The LoRA matrices (views into `arena`), in `loraNames()` order. */
  get params(): readonly LoraParam[] {
    return this.arena.params;
  }

  /**
   * The LoRA matrices in a fixed order — for each layer, for each target in ALL_LORA_TARGETS order
   * that is trained: A [r, in] then B [out, r] — with their names in PEFT's adapter layout.
   */
  loraNames(): string[] {
    const names: string[] = [];
    for (let l = 0; l < this.config.numLayers; l++) {
      for (const t of ALL_LORA_TARGETS) {
        if (!this.lora.targets.includes(t)) continue;
        const module = t.endsWith("_proj") && ["gate_proj", "up_proj", "down_proj"].includes(t) ? "mlp" : "self_attn";
        names.push(`base_model.model.model.layers.${l}.${module}.${t}.lora_A.weight`, `base_model.model.model.layers.${l}.${module}.${t}.lora_B.weight`);
      }
    }
    return names;
  }

  /** Sets LoRA matrices (fp32 host values, in `loraNames()` order) — to resume or to test. */
  setLoraParams(values: Float32Array[]): void {
    this.arena.setMasters(values);
  }

  /** Downloads the LoRA matrices or their accumulated gradients (fp32, `loraNames()` order). */
  readLora(which: "params" | "grads"): Float32Array[] {
    return this.arena.read(which === "params" ? "master" : "grad");
  }

  /** Zeroes the accumulated LoRA gradients (optimizerStep does this too). */
  zeroGrads(): void {
    this.arena.zeroGrads();
  }

  /**
   * What the q/k/v groups fold (CudaSharedInputGroup, "Folded"): the fold asked for as the groups
   * can take it (one by one, under LoRA dropout, the forward only).
   */
  get loraFold(): LoraFold {
    const qkv = this.groups[0]?.qkv;
    return qkv?.foldedBackward ? "both" : qkv?.folded ? "forward" : "off";
  }

  /** Number of trainable parameters (the matrices' elements, not the arena's padding). */
  get trainableParameters(): number {
    return this.arena.trainableParameters;
  }

  /** The dropout seed of each member of a group in the current call. */
  private seedsOf(group: CudaSharedInputGroup): number[] {
    return group.members.map((linear) => loraDropoutSeed(this.lora.seed, this.call, linear.lora === null ? 0 : (this.adapterIndex.get(linear.lora) ?? 0)));
  }

  private shape(batch: number, tokens: number, layer: number): AttentionShape {
    const c = this.config;
    const sliding = c.layerTypes[layer] === "sliding" && c.slidingWindow !== null;
    return {
      batch,
      tokens,
      heads: c.numHeads,
      kvHeads: c.numKvHeads,
      headDim: c.headDim,
      scale: c.queryPreAttnScalar ** -0.5,
      window: sliding ? (c.slidingWindow as number) : 0,
    };
  }

  /** The RoPE angle table of a layer (its theta), made once a step in forwardBackward. */
  private ropeTableOf(l: number, tables: ReadonlyMap<number, DeviceBuffer>): DevicePtr {
    const c = this.config;
    const table = tables.get(c.layerTypes[l] === "sliding" ? c.ropeLocalTheta : c.ropeTheta);
    if (!table) throw new InvalidInputError(`no RoPE table for layer ${l}`);
    return table.ptr;
  }

  /** One layer forward; `lean` frees h1, h2 and m once used (selective recomputation). */
  private layerForward(l: number, x: DevicePtr, rope: ReadonlyMap<number, DeviceBuffer>, batch: number, tokens: number, lean: boolean): LayerActivations {
    const c = this.config;
    const w = this.weights.layers[l];
    const dev = this.device;
    const N = batch * tokens;
    const d = c.hiddenSize;
    const qd = c.numHeads * c.headDim;
    const kd = c.numKvHeads * c.headDim;
    const I = c.intermediateSize;
    const groups = this.groups[l];
    const xa: LayerActivations["xa"] = { qkv: null, o: null, gateUp: null, down: null };
    // runs group `name` on x into ys, keeping its xa for the backward pass
    const project = (name: GroupName, ys: DevicePtr[], input: DevicePtr) => {
      const group = groups[name];
      const buffer = group.xaColumns > 0 ? dev.alloc(N * group.xaColumns * bf16) : null;
      xa[name] = buffer;
      group.forward(ys, input, N, buffer?.ptr ?? null, this.seedsOf(group));
    };
    // a buffer the backward pass needs only when the forward keeps everything
    const kept = (b: DeviceBuffer): DeviceBuffer | null => {
      if (!lean) return b;
      b.free();
      return null;
    };
    // h1 and h2 are `stride` elements a row: a folded group keeps its xa beside them
    const h1 = dev.alloc(N * groups.qkv.stride * bf16);
    const rstd1 = dev.alloc(N * f32);
    this.ops.rmsnormForward(h1.ptr, rstd1.ptr, x, w.attnNorm.ptr, N, d, c.rmsNormEps, c.normUnitOffset, groups.qkv.stride);
    const qRaw = dev.alloc(N * qd * bf16);
    const kRaw = dev.alloc(N * kd * bf16);
    const v = dev.alloc(N * kd * bf16);
    project("qkv", [qRaw.ptr, kRaw.ptr, v.ptr], h1.ptr);
    const h1Kept = kept(h1);
    let q = qRaw;
    let k = kRaw;
    let qkRstd: DeviceBuffer | null = null;
    if (c.qkNorm && w.qNorm && w.kNorm) {
      q = dev.alloc(N * qd * bf16);
      k = dev.alloc(N * kd * bf16);
      qkRstd = dev.alloc(N * (c.numHeads + c.numKvHeads) * f32);
      this.ops.rmsnormForward(q.ptr, qkRstd.ptr, qRaw.ptr, w.qNorm.ptr, N * c.numHeads, c.headDim, c.rmsNormEps, c.normUnitOffset);
      const kRstd = BigInt(qkRstd.ptr) + BigInt(N * c.numHeads * f32);
      this.ops.rmsnormForward(k.ptr, kRstd, kRaw.ptr, w.kNorm.ptr, N * c.numKvHeads, c.headDim, c.rmsNormEps, c.normUnitOffset);
    }
    const table = this.ropeTableOf(l, rope);
    this.ops.ropeFromTable(q.ptr, table, N, c.numHeads, c.headDim);
    this.ops.ropeFromTable(k.ptr, table, N, c.numKvHeads, c.headDim);
    const a = dev.alloc(N * qd * bf16);
    const attn = this.attention.forward(a.ptr, q.ptr, k.ptr, v.ptr, this.shape(batch, tokens, l));
    // a sublayer's output through its own RMSNorm where the model has one (Gemma 3's sandwich
    // norm): the normed output, and the raw output and rstd its backward needs
    const postNorm = (raw: DeviceBuffer, weight: DeviceBuffer | null | undefined) => {
      if (!c.sandwichNorm || !weight) return { out: raw, raw: null, rstd: null };
      const rstd = dev.alloc(N * f32);
      const out = dev.alloc(N * d * bf16);
      this.ops.rmsnormForward(out.ptr, rstd.ptr, raw.ptr, weight.ptr, N, d, c.rmsNormEps, c.normUnitOffset);
      return { out, raw, rstd };
    };
    const o = dev.alloc(N * d * bf16);
    project("o", [o.ptr], a.ptr);
    const attnOut = postNorm(o, w.postAttnNorm);
    // x2 = x + attention output, h2 = RMSNorm(x2): one fused pass
    const x2 = dev.alloc(N * d * bf16);
    const h2 = dev.alloc(N * groups.gateUp.stride * bf16);
    const rstd2 = dev.alloc(N * f32);
    this.ops.addRmsnormForward(x2.ptr, h2.ptr, rstd2.ptr, x, attnOut.out.ptr, w.mlpNorm.ptr, N, d, c.rmsNormEps, c.normUnitOffset, groups.gateUp.stride);
    attnOut.out.free(); // the raw output stays when normed (for the backward)
    const g = dev.alloc(N * I * bf16);
    const u = dev.alloc(N * I * bf16);
    const m = dev.alloc(N * I * bf16);
    project("gateUp", [g.ptr, u.ptr], h2.ptr);
    const h2Kept = kept(h2);
    this.ops.gluForward(m.ptr, g.ptr, u.ptr, N * I, c.activation);
    const dn = dev.alloc(N * d * bf16);
    project("down", [dn.ptr], m.ptr);
    const mKept = kept(m);
    const mlpOut = postNorm(dn, w.postMlpNorm);
    const out = dev.alloc(N * d * bf16);
    this.ops.add(out.ptr, x2.ptr, mlpOut.out.ptr, N * d);
    mlpOut.out.free();
    return { x, h1: h1Kept, rstd1, qRaw, kRaw, qkRstd, q, k, v, attn, a, oRaw: attnOut.raw, oRstd: attnOut.rstd, x2, h2: h2Kept, rstd2, g, u, m: mKept, dnRaw: mlpOut.raw, dnRstd: mlpOut.rstd, xa, out };
  }

  /** Frees what a layer's forward kept, except its output (`keepOut`) which feeds the next layer. */
  private freeActivations(s: LayerActivations, keepOut: boolean): void {
    // q and k are the raw projections themselves when there is no qk-norm: free each buffer once
    const all = new Set([s.h1, s.rstd1, s.qRaw, s.kRaw, s.qkRstd, s.q, s.k, s.v, s.a, s.oRaw, s.oRstd, s.x2, s.h2, s.rstd2, s.g, s.u, s.m, s.dnRaw, s.dnRstd]);
    for (const b of all) b?.free();
    s.attn.free();
    for (const b of Object.values(s.xa)) b?.free();
    if (!keepOut) s.out.free();
  }

  /** `kept`, or a new buffer of `bytes` that `make` fills: an activation the lean forward freed. */
  private orMake(kept: DeviceBuffer | null, bytes: number, make: (out: DevicePtr) => void): DeviceBuffer {
    if (kept) return kept;
    const out = this.device.alloc(bytes);
    make(out.ptr);
    return out;
  }

  /**
   * RMSNorm of x: [N, d] into out again, by the forward's kernel (the fused add + norm normalises
   * the same rounded sum), so the same bits; its rstd goes to a scratch row, the saved one stays.
   */
  private normalizeAgain(out: DevicePtr, x: DevicePtr, weight: DevicePtr, N: number, stride: number): void {
    const c = this.config;
    const rstd = this.device.alloc(N * f32);
    this.ops.rmsnormForward(out, rstd.ptr, x, weight, N, c.hiddenSize, c.rmsNormEps, c.normUnitOffset, stride);
    rstd.free();
  }

  /** dOut: [N, d] → dx: [N, d] (a new buffer); accumulates the layer's LoRA gradients. */
  private layerBackward(l: number, s: LayerActivations, dOut: DevicePtr, rope: ReadonlyMap<number, DeviceBuffer>, batch: number, tokens: number): DeviceBuffer {
    const c = this.config;
    const w = this.weights.layers[l];
    const dev = this.device;
    const N = batch * tokens;
    const d = c.hiddenSize;
    const qd = c.numHeads * c.headDim;
    const kd = c.numKvHeads * c.headDim;
    const I = c.intermediateSize;
    const groups = this.groups[l];
    const dxa = dev.alloc(N * this.lora.rank * LARGEST_GROUP * bf16);
    // dx (= or +=) the input gradient of group `name` from its outputs' gradients dys
    const backProject = (name: GroupName, dx: DevicePtr, dys: DevicePtr[], input: DevicePtr, accumulate: boolean) =>
      groups[name].backward(dx, dys, input, s.xa[name]?.ptr ?? null, dxa.ptr, N, accumulate, this.seedsOf(groups[name]));
    // residual: dx2 = dOut + (through the MLP branch)
    const dx2 = dev.alloc(N * d * bf16);
    dev.copy(dx2.ptr, dOut, N * d * bf16);
    let dDn: DevicePtr = dOut;
    let dDnBuf: DeviceBuffer | null = null;
    if (s.dnRaw && s.dnRstd && w.postMlpNorm) {
      dDnBuf = dev.alloc(N * d * bf16);
      this.ops.rmsnormBackward(dDnBuf.ptr, dOut, s.dnRaw.ptr, w.postMlpNorm.ptr, s.dnRstd.ptr, N, d, c.normUnitOffset, false);
      dDn = dDnBuf.ptr;
    }
    const dm = dev.alloc(N * I * bf16);
    let dg: DeviceBuffer;
    let du: DeviceBuffer;
    const downXa = s.xa.down;
    if (s.m === null && downXa && groups.down.fused) {
      // the forward dropped the GLU output m, which only down's dA reads: the GLU backward, which
      // reads gate and up anyway, writes m over dm once it has read it, and dA comes after
      groups.down.backwardExceptA(dm.ptr, [dDn], downXa.ptr, dxa.ptr, N, false);
      dDnBuf?.free();
      dg = dev.alloc(N * I * bf16);
      du = dev.alloc(N * I * bf16);
      this.ops.gluBackwardRemaking(dg.ptr, du.ptr, dm.ptr, s.g.ptr, s.u.ptr, N * I, c.activation);
      groups.down.weightGradA(dm.ptr, dxa.ptr, N);
    } else {
      const m = this.orMake(s.m, N * I * bf16, (out) => this.ops.gluForward(out, s.g.ptr, s.u.ptr, N * I, c.activation));
      backProject("down", dm.ptr, [dDn], m.ptr, false);
      if (m !== s.m) m.free();
      dDnBuf?.free();
      dg = dev.alloc(N * I * bf16);
      du = dev.alloc(N * I * bf16);
      this.ops.gluBackward(dg.ptr, du.ptr, dm.ptr, s.g.ptr, s.u.ptr, N * I, c.activation);
    }
    dm.free();
    const gu = groups.gateUp;
    const dh2 = dev.alloc(N * gu.gradStride * bf16);
    const h2 = this.orMake(s.h2, N * gu.stride * bf16, (out) => this.normalizeAgain(out, s.x2.ptr, w.mlpNorm.ptr, N, gu.stride));
    backProject("gateUp", dh2.ptr, [dg.ptr, du.ptr], h2.ptr, false);
    if (h2 !== s.h2) h2.free();
    dg.free();
    du.free();
    this.ops.rmsnormBackward(dx2.ptr, dh2.ptr, s.x2.ptr, w.mlpNorm.ptr, s.rstd2.ptr, N, d, c.normUnitOffset, true, gu.gradStride);
    dh2.free();
    // attention branch
    let dO: DevicePtr = dx2.ptr;
    let dOBuf: DeviceBuffer | null = null;
    if (s.oRaw && s.oRstd && w.postAttnNorm) {
      dOBuf = dev.alloc(N * d * bf16);
      this.ops.rmsnormBackward(dOBuf.ptr, dx2.ptr, s.oRaw.ptr, w.postAttnNorm.ptr, s.oRstd.ptr, N, d, c.normUnitOffset, false);
      dO = dOBuf.ptr;
    }
    const da = dev.alloc(N * qd * bf16);
    backProject("o", da.ptr, [dO], s.a.ptr, false);
    dOBuf?.free();
    const dq = dev.alloc(N * qd * bf16);
    const dk = dev.alloc(N * kd * bf16);
    const dv = dev.alloc(N * kd * bf16);
    this.attention.backward(dq.ptr, dk.ptr, dv.ptr, da.ptr, s.attn, this.shape(batch, tokens, l));
    da.free();
    const table = this.ropeTableOf(l, rope);
    this.ops.ropeFromTable(dq.ptr, table, N, c.numHeads, c.headDim, true);
    this.ops.ropeFromTable(dk.ptr, table, N, c.numKvHeads, c.headDim, true);
    let dqRaw = dq;
    let dkRaw = dk;
    if (s.qkRstd && w.qNorm && w.kNorm) {
      dqRaw = dev.alloc(N * qd * bf16);
      dkRaw = dev.alloc(N * kd * bf16);
      this.ops.rmsnormBackward(dqRaw.ptr, dq.ptr, s.qRaw.ptr, w.qNorm.ptr, s.qkRstd.ptr, N * c.numHeads, c.headDim, c.normUnitOffset, false);
      const kRstd = BigInt(s.qkRstd.ptr) + BigInt(N * c.numHeads * f32);
      this.ops.rmsnormBackward(dkRaw.ptr, dk.ptr, s.kRaw.ptr, w.kNorm.ptr, kRstd, N * c.numKvHeads, c.headDim, c.normUnitOffset, false);
      dq.free();
      dk.free();
    }
    const qkv = groups.qkv;
    const dh1 = dev.alloc(N * qkv.gradStride * bf16);
    const h1 = this.orMake(s.h1, N * qkv.stride * bf16, (out) => this.normalizeAgain(out, s.x, w.attnNorm.ptr, N, qkv.stride));
    backProject("qkv", dh1.ptr, [dqRaw.ptr, dkRaw.ptr, dv.ptr], h1.ptr, false);
    if (h1 !== s.h1) h1.free();
    dqRaw.free();
    dkRaw.free();
    dv.free();
    // dx = dx2 + RMSNorm₁ backward (accumulated in place)
    this.ops.rmsnormBackward(dx2.ptr, dh1.ptr, s.x, w.attnNorm.ptr, s.rstd1.ptr, N, d, c.normUnitOffset, true, qkv.gradStride);
    dh1.free();
    dxa.free();
    return dx2;
  }

  /**
   * The loss head over the last layer's output xL: [N, d]: final norm, logits = h·Eᵀ, fused
   * cross-entropy, dh = dlogits·E, norm backward → dx: [N, d]. Only the rows with a target go
   * through the head (gathered into a compact block; the others' dh is 0, as cross-entropy would
   * make it): in agent trajectories most rows are the system prompt and tool outputs, which have
   * none. In chunks of LOSS_CHUNK_ROWS rows, so the full logits never exist. `losses` holds the
   * `scored` rows' losses.
   */
  private lossHead(xL: DevicePtr, targets: Int32Array, targetsBuf: DevicePtr, N: number, lossScale: number): { dx: DeviceBuffer; losses: DeviceBuffer; scored: number } {
    const c = this.config;
    const dev = this.device;
    const d = c.hiddenSize;
    const V = c.vocabSize;
    const rows = Int32Array.from(targets.keys()).filter((i) => (targets[i] as number) >= 0);
    // every row scored (or scoredRowsOnly off): the head reads hf and writes dhf in place; else it
    // works on compact copies of the scored rows
    const compact = rows.length < N && (this.lora.scoredRowsOnly ?? true);
    const M = compact ? rows.length : N;
    const gather = compact && M > 0; // at least one scored row to gather
    const hf = dev.alloc(N * d * bf16);
    const rstdF = dev.alloc(N * f32);
    this.ops.rmsnormForward(hf.ptr, rstdF.ptr, xL, this.weights.finalNorm.ptr, N, d, c.rmsNormEps, c.normUnitOffset);
    const dhf = dev.alloc(N * d * bf16);
    const rowsBuf = gather ? dev.alloc(M * 4) : null;
    const hC = gather ? dev.alloc(M * d * bf16) : null;
    const dhC = gather ? dev.alloc(M * d * bf16) : null;
    const targetsC = gather ? dev.alloc(M * 4) : null;
    if (compact) dev.fill(dhf.ptr, 0, N * d * bf16);
    if (rowsBuf && hC && targetsC) {
      dev.upload(rowsBuf.ptr, rows);
      dev.upload(targetsC.ptr, Int32Array.from(rows, (r) => targets[r] as number));
      this.ops.gatherRows(hC.ptr, hf.ptr, rowsBuf.ptr, M, d);
    }
    const h = hC?.ptr ?? hf.ptr;
    const dh = dhC?.ptr ?? dhf.ptr;
    const t = targetsC?.ptr ?? targetsBuf;
    const weight = (this.weights.lmHead ?? this.weights.embed).ptr;
    const losses = dev.alloc(Math.max(M, 1) * f32);
    const chunk = Math.min(LOSS_CHUNK_ROWS, Math.max(M, 1));
    const logits = M > 0 ? dev.alloc(chunk * V * bf16) : null;
    for (let r0 = 0; logits && r0 < M; r0 += chunk) {
      const n = Math.min(chunk, M - r0);
      dev.cublas.gemm({ transA: false, transB: true, m: n, n: V, k: d, a: offsetPtr(h, r0 * d * bf16), b: weight, c: logits.ptr, dtype: "bf16" });
      this.ops.crossEntropy(logits.ptr, offsetPtr(t, r0 * 4), offsetPtr(losses.ptr, r0 * f32), n, V, lossScale);
      dev.cublas.gemm({ transA: false, transB: false, m: n, n: d, k: V, a: logits.ptr, b: weight, c: offsetPtr(dh, r0 * d * bf16), dtype: "bf16" });
    }
    if (rowsBuf && dhC) this.ops.scatterRows(dhf.ptr, dhC.ptr, rowsBuf.ptr, M, d);
    const dx = dev.alloc(N * d * bf16);
    this.ops.rmsnormBackward(dx.ptr, dhf.ptr, xL, this.weights.finalNorm.ptr, rstdF.ptr, N, d, c.normUnitOffset, false);
    for (const b of [logits, rowsBuf, hC, dhC, targetsC, hf, dhf, rstdF]) b?.free();
    return { dx, losses, scored: M };
  }

  /**
   * Forward and backward over one micro-batch. ids, targets: [batch·tokens] int32 (targets −100 =
   * no loss). `lossScale` multiplies the gradients (1 / unmasked tokens of the whole accumulated
   * batch). Returns the summed loss over the unmasked tokens of this micro-batch.
   */
  forwardBackward(ids: Int32Array, targets: Int32Array, batch: number, tokens: number, lossScale: number): number {
    const c = this.config;
    const dev = this.device;
    const N = batch * tokens;
    const d = c.hiddenSize;
    if (ids.length !== N || targets.length !== N) throw new InvalidInputError(`ids and targets must hold batch·tokens = ${N} values`);
    this.call = this.calls++;
    const idsBuf = dev.alloc(N * 4);
    const targetsBuf = dev.alloc(N * 4);
    const positions = dev.alloc(N * 4);
    dev.upload(idsBuf.ptr, ids);
    dev.upload(targetsBuf.ptr, targets);
    dev.upload(positions.ptr, Int32Array.from({ length: N }, (_, i) => i % tokens));
    // one (cos, sin) table a theta for the whole step: [N, headDim/2] float2
    const rope = new Map<number, DeviceBuffer>();
    for (const l of c.layerTypes.keys()) {
      const theta = c.layerTypes[l] === "sliding" ? c.ropeLocalTheta : c.ropeTheta;
      if (rope.has(theta)) continue;
      const table = dev.alloc((N * c.headDim) / 2 * 8);
      this.ops.ropeTable(table.ptr, positions.ptr, N, c.headDim, theta);
      rope.set(theta, table);
    }
    const x0 = dev.alloc(N * d * bf16);
    this.ops.embedding(x0.ptr, this.weights.embed.ptr, idsBuf.ptr, N, d, c.embeddingScale);
    const neftune = this.lora.neftuneAlpha ?? 0;
    if (neftune > 0) this.ops.neftuneNoise(x0.ptr, N * d, neftuneSeed(this.lora.seed, this.call), neftuneMagnitude(neftune, tokens, d));

    // forward: keep every layer's input (and the rest, or all but h1, h2 and m, unless "full")
    const inputs: DeviceBuffer[] = [x0];
    const saved: (LayerActivations | null)[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      const acts = this.layerForward(l, inputs[l].ptr, rope, batch, tokens, this.lora.recompute === "selective");
      inputs.push(acts.out);
      if (this.lora.recompute === "full") {
        this.freeActivations(acts, true);
        saved.push(null);
      } else {
        saved.push(acts);
      }
    }

    const xL = inputs[c.numLayers];
    const head = this.lossHead(xL.ptr, targets, targetsBuf.ptr, N, lossScale);
    let dx = head.dx;
    xL.free();

    for (let l = c.numLayers - 1; l >= 0; l--) {
      const acts = saved[l] ?? this.layerForward(l, inputs[l].ptr, rope, batch, tokens, false);
      const dxPrev = this.layerBackward(l, acts, dx.ptr, rope, batch, tokens);
      this.freeActivations(acts, false);
      dx.free();
      dx = dxPrev;
      if (l > 0) inputs[l].free();
    }
    dx.free();
    x0.free();
    const lossHost = new Float32Array(head.scored);
    if (head.scored > 0) dev.download(lossHost, head.losses.ptr);
    for (const b of [head.losses, idsBuf, targetsBuf, positions, ...rope.values()]) b.free();
    let total = 0;
    for (const v of lossHost) total += v;
    return total;
  }

  /**
   * Clips the accumulated gradients to `maxGradNorm`, applies AdamW, refreshes the bf16 shadows and
   * zeroes the gradients. Returns the pre-clip norm. Two launches over the whole arena, whatever
   * the number of matrices: Σg² (then a 4-byte readback), and the fused AdamW + shadow + zero.
   */
  optimizerStep(o: { lr: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number; maxGradNorm?: number }): number {
    const norm = this.arena.gradNorm();
    const clip = o.maxGradNorm && norm > o.maxGradNorm ? o.maxGradNorm / (norm + 1e-6) : 1;
    this.step_++;
    this.arena.adamwStep({
      lr: o.lr,
      beta1: o.beta1 ?? 0.9,
      beta2: o.beta2 ?? 0.999,
      eps: o.eps ?? 1e-8,
      weightDecay: o.weightDecay ?? 0,
      step: this.step_,
      gradScale: clip,
    });
    return norm;
  }

  /** Frees the LoRA arenas and the weight scratch, once (a second call does nothing). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.weightGrads.dispose();
    this.arena.dispose();
    this.scratch.free();
  }
}
