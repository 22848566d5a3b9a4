import { InvalidInputError } from "../../errors.js";
import type { ModelConfig } from "../../model/config.js";
import type { Nf4Tensor } from "../../quant/nf4.js";
import { encodeBf16 } from "./bf16-host.js";
import { ALL_LORA_TARGETS, type CudaDecoderWeights, type CudaLayerWeights, type LoraTarget } from "./decoder-trainer.js";
import type { CudaDevice } from "./device.js";
import { CudaError } from "./errors.js";
import type { DeviceBuffer } from "./memory.js";
import { CudaNf4Weight } from "./nf4-weight.js";

/**
 * Where a decoder's input embedding table goes: the GPU, or page-locked host memory that the
 * embedding gather reads over the bus (CudaDevice.allocHostMapped). "auto": the host when the
 * output head is a table of its own (untied), since the gather then reads only the step's rows:
 * Qwen2.5-7B keeps 1.02 GiB off the GPU. A tied table is the output head too, read whole twice a
 * step, so it stays on the GPU.
 */
export type EmbeddingPlacement = "auto" | "device" | "host";

export function embeddingOnHost(config: Pick<ModelConfig, "tieWordEmbeddings">, placement: EmbeddingPlacement = "auto"): boolean {
  if (placement === "auto") return !config.tieWordEmbeddings;
  if (placement === "host" && config.tieWordEmbeddings) throw new InvalidInputError("a tied embedding table is the output head too and stays on the GPU", { field: "embeddings" });
  return placement === "host";
}

/**
 * The input embedding table's memory (`bytes`), where `placement` puts it for this model. Under
 * "auto", a host that refuses to lock that much memory (a container's memlock limit) gets the table
 * on the GPU instead; "host" asked for says why it cannot.
 */
export function allocEmbeddingTable(device: CudaDevice, bytes: number, config: Pick<ModelConfig, "tieWordEmbeddings">, placement: EmbeddingPlacement = "auto"): DeviceBuffer {
  if (!embeddingOnHost(config, placement)) return device.alloc(bytes);
  try {
    return device.allocHostMapped(bytes);
  } catch (error) {
    if (placement === "host" || !(error instanceof CudaError)) throw error;
    return device.alloc(bytes);
  }
}

/** A decoder's frozen weights on the host: projections already in NF4, the rest float32. */
export interface HostDecoderWeights {
  embed: Float32Array; // [vocab, hidden]
  lmHead?: Float32Array; // [vocab, hidden] when not tied
  finalNorm: Float32Array; // [hidden]
  layers: {
    attnNorm: Float32Array;
    mlpNorm: Float32Array;
    postAttnNorm?: Float32Array;
    postMlpNorm?: Float32Array;
    qNorm?: Float32Array;
    kNorm?: Float32Array;
    proj: Record<LoraTarget, Nf4Tensor>;
    bias: Partial<Record<"q_proj" | "k_proj" | "v_proj" | "o_proj", Float32Array>>;
  }[];
}

/**
 * Copies host weights to the device: NF4 stays NF4, embeddings become bf16, norms and biases fp32.
 * The input embeddings go where `embeddings` says (EmbeddingPlacement).
 */
export function uploadDecoderWeights(device: CudaDevice, config: ModelConfig, host: HostDecoderWeights, embeddings: EmbeddingPlacement = "auto"): CudaDecoderWeights {
  const untied = host.lmHead !== undefined && !config.tieWordEmbeddings;
  const f32 = (x: Float32Array) => {
    const b = device.alloc(x.byteLength);
    device.upload(b.ptr, x);
    return b;
  };
  const bf16 = (x: Float32Array) => {
    const b = device.alloc(x.length * 2);
    device.upload(b.ptr, encodeBf16(x));
    return b;
  };
  const optional = (x: Float32Array | undefined) => (x ? f32(x) : undefined);
  const layers: CudaLayerWeights[] = host.layers.map((l) => {
    const proj = {} as Record<LoraTarget, CudaNf4Weight>;
    for (const t of ALL_LORA_TARGETS) proj[t] = new CudaNf4Weight(device, l.proj[t]);
    const bias: CudaLayerWeights["bias"] = {};
    for (const [name, values] of Object.entries(l.bias)) if (values) bias[name as keyof typeof bias] = f32(values);
    return {
      attnNorm: f32(l.attnNorm),
      mlpNorm: f32(l.mlpNorm),
      postAttnNorm: optional(l.postAttnNorm),
      postMlpNorm: optional(l.postMlpNorm),
      qNorm: optional(l.qNorm),
      kNorm: optional(l.kNorm),
      proj,
      bias,
    };
  });
  if (layers.length !== config.numLayers) throw new Error(`${layers.length} layers of weights for a ${config.numLayers}-layer config`);
  // without a head of its own the table is the head (tied), whatever the config says
  const embed = allocEmbeddingTable(device, host.embed.length * 2, { tieWordEmbeddings: !untied }, embeddings);
  device.upload(embed.ptr, encodeBf16(host.embed));
  return {
    embed,
    lmHead: untied && host.lmHead ? bf16(host.lmHead) : undefined,
    finalNorm: f32(host.finalNorm),
    layers,
  };
}
