// `agenttune train`'s engine: opens the base model (catalog name, GGUF, HF folder or id) for
// QLoRA on the chosen backend, with the tokenizer and chat template the model itself carries,
// so training text is rendered exactly as inference renders it.

import type { ChatMessage } from "../agent/chat-model.js";
import type { Backend } from "../engine/backend.js";
import { totalmem } from "node:os";
import { createCpuBackend } from "../engine/cpu/backend.js";
import { envChoice } from "../env-choice.js";
import { InvalidInputError } from "../errors.js";
import { jinjaTemplateFn } from "../model/chat-template.js";
import type { ModelConfig } from "../model/config.js";
import type { HostModel } from "../model/host-weights.js";
import { layerNorms } from "../model/layer-norms.js";
import { locateModel, readHostModel, readModelText } from "../model/locate.js";
import type { Tokenizer } from "../model/tokenizer.js";
import { quantizeNf4 } from "../quant/nf4.js";
import type { LoadedTrainModel, TrainEngineRequest } from "./engine.js";
import type { LoraTarget } from "./export-peft.js";
import { LoraDecoder, type LoraSettings } from "./lora-decoder.js";
import { type ChatTemplateFn, chatmlTemplate } from "./tokenize.js";

/** The model's chat template as the trainer's segments; observations (tool role) become user turns as at inference. */
export function trainingTemplate(tokenizer: Tokenizer, template: string | undefined): ChatTemplateFn {
  if (template === undefined) return chatmlTemplate;
  const token = (id: number | undefined) => (id === undefined ? "" : (tokenizer.idToToken(id) ?? ""));
  const render = jinjaTemplateFn(template, { variables: { bos_token: token(tokenizer.bosId), eos_token: token(tokenizer.eosId) } });
  return (messages: readonly ChatMessage[]) => render(messages.map((m) => (m.role === "tool" ? { role: "user", content: m.content } : m)));
}

function loraSettings(request: TrainEngineRequest): LoraSettings {
  return { ...request.lora, targets: request.lora.targets as LoraTarget[] };
}

/** Weights in the seven projections of all layers: what an expanded NF4 base holds in float32. */
export function projectionWeights(c: Pick<ModelConfig, "numLayers" | "hiddenSize" | "intermediateSize" | "numHeads" | "numKvHeads" | "headDim">): number {
  const D = c.hiddenSize;
  const attention = 2 * c.numHeads * c.headDim * D + 2 * c.numKvHeads * c.headDim * D; // q, o; k, v
  return c.numLayers * (attention + 3 * c.intermediateSize * D);
}

/**
 * Whether the CPU trainer keeps the NF4 base's float32 expansion between uses
 * (LoraDecoderOptions.keepExpanded): $AGENTTUNE_CPU_KEEP_EXPANDED = on | off, or by default
 * ("auto") when the expansion takes at most a quarter of the machine's memory — 0.4 GB for
 * SmolLM2-135M, 1.4 GB for Qwen2.5-0.5B. Expanding every projection twice a step is a tenth of
 * a SmolLM2 step on this project's 2-core machine (bench/README.md).
 */
export function keepExpansionByDefault(config: Parameters<typeof projectionWeights>[0], env: NodeJS.ProcessEnv = process.env, memoryBytes = totalmem()): boolean {
  const choice = envChoice(env, "AGENTTUNE_CPU_KEEP_EXPANDED", ["auto", "on", "off"], "auto");
  if (choice !== "auto") return choice === "on";
  return projectionWeights(config) * 4 <= memoryBytes / 4;
}

/** Opens a base model for LoRA training (the `TrainEngineLoader` of `agenttune train`). */
export function loadTrainModel(request: TrainEngineRequest): Promise<LoadedTrainModel> {
  return openTrainModel(request);
}

/**
 * The same, with the generic LoRA decoder on a given backend (the float32 reference path on any
 * backend, e.g. the CUDA backend's fp32 storage): for checking the fast GPU step against it.
 */
export function loadTrainModelOn(backend: Backend, request: TrainEngineRequest): Promise<LoadedTrainModel> {
  return openTrainModel(request, backend);
}

async function openTrainModel(request: TrainEngineRequest, backend?: Backend): Promise<LoadedTrainModel> {
  if ((request.recompute ?? "off") !== "off" && (backend !== undefined || request.backend !== "cuda")) {
    throw new InvalidInputError(`activation recomputation ("${request.recompute}") is a CUDA option; the CPU trainer keeps every activation`, { field: "recompute", hint: "leave --recompute off with --backend cpu" });
  }
  const loc = await locateModel(request.model);
  const { tokenizer, chatTemplate } = readModelText(loc);
  const host = readHostModel(loc);
  const lora = loraSettings(request);
  const text = {
    tokenize: (s: string) => tokenizer.encode(s),
    template: trainingTemplate(tokenizer, chatTemplate),
    padId: tokenizer.padId ?? tokenizer.eosId ?? 0,
  };
  if (backend === undefined && request.backend === "cuda") {
    const model = await openCudaModel(host, lora, request.model, request.deviceOrdinal ?? 0, request.recompute ?? "off");
    return { ...text, model, adapter: () => model.adapter(), close: () => model.close() };
  }
  const keepExpanded = keepExpansionByDefault(host.config);
  const model = new LoraDecoder(backend ?? createCpuBackend(), host.config, host.weights, lora, { baseFormat: "nf4", baseModel: request.model, keepExpanded });
  host.weights.clear(); // the NF4 codes and the backend's copies are all that is needed now
  return { ...text, model, adapter: () => model.adapter(), close: () => model.dispose() };
}

/** The GPU path: NF4 projections, bf16 embeddings, the CUDA step behind TrainableModel. */
async function openCudaModel(host: HostModel, lora: LoraSettings, baseModel: string, ordinal: number, recompute: NonNullable<TrainEngineRequest["recompute"]>) {
  const [{ openCudaDevice }, { CudaDecoderTrainer, ALL_LORA_TARGETS }, { uploadDecoderWeights }, { CudaTrainableModel }] = await Promise.all([
    import("../engine/cuda/device.js"),
    import("../engine/cuda/decoder-trainer.js"),
    import("../engine/cuda/upload-weights.js"),
    import("./cuda-model.js"),
  ]);
  const device = openCudaDevice(ordinal);
  try {
    const weights = uploadDecoderWeights(device, host.config, hostDecoderWeights(host, ALL_LORA_TARGETS));
    host.weights.clear();
    const targets = lora.targets.map((t) => `${t}_proj` as (typeof ALL_LORA_TARGETS)[number]);
    const trainer = new CudaDecoderTrainer(device, host.config, weights, { rank: lora.rank, alpha: lora.alpha, targets, recompute, seed: lora.seed, dropout: lora.dropout, ...(lora.neftuneAlpha === undefined ? {} : { neftuneAlpha: lora.neftuneAlpha }) });
    const model = new CudaTrainableModel(trainer, lora, baseModel);
    return Object.assign(model, {
      close: () => {
        trainer.dispose();
        device.dispose();
      },
    });
  } catch (error) {
    device.dispose();
    throw error;
  }
}

/** Host weights in the CUDA uploader's layout: projections quantised to NF4 here. */
export function hostDecoderWeights(host: HostModel, targets: readonly string[]) {
  const c: ModelConfig = host.config;
  const w = (name: string) => {
    const t = host.weights.get(name);
    if (t === undefined) throw new Error(`weight ${name} is missing`);
    return t;
  };
  const opt = (name: string) => host.weights.get(name)?.data;
  const layers = [];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}.`;
    const proj = {} as Record<string, ReturnType<typeof quantizeNf4>>;
    for (const t of targets) {
      const module = t === "gate_proj" || t === "up_proj" || t === "down_proj" ? "mlp" : "self_attn";
      const weight = w(`${p}${module}.${t}.weight`);
      proj[t] = quantizeNf4(weight.data, weight.shape[0] as number, weight.shape[1] as number);
    }
    const bias: Record<string, Float32Array> = {};
    for (const t of ["q_proj", "k_proj", "v_proj", "o_proj"]) {
      const b = opt(`${p}self_attn.${t}.bias`);
      if (b) bias[t] = b;
    }
    // the CUDA step names the norm before the MLP mlpNorm (Gemma's pre-feedforward norm where it has one)
    const n = layerNorms(c, l, (name) => w(name).data);
    layers.push({
      attnNorm: n.inNorm,
      mlpNorm: n.preFfnNorm ?? n.postAttnNorm,
      postAttnNorm: n.preFfnNorm === null ? undefined : n.postAttnNorm,
      postMlpNorm: n.postFfnNorm ?? undefined,
      qNorm: n.qNorm ?? undefined,
      kNorm: n.kNorm ?? undefined,
      proj,
      bias,
    });
  }
  const embed = w("model.embed_tokens.weight").data;
  return { embed, lmHead: opt("lm_head.weight"), finalNorm: w("model.norm.weight").data, layers } as Parameters<typeof import("../engine/cuda/upload-weights.js").uploadDecoderWeights>[2];
}
