import type { ModelConfig } from "../../model/config.js";
import type { Nf4Tensor } from "../../quant/nf4.js";
import { encodeBf16 } from "./bf16-host.js";
import { ALL_LORA_TARGETS, type CudaDecoderWeights, type CudaLayerWeights, type LoraTarget } from "./decoder-trainer.js";
import type { CudaDevice } from "./device.js";
import { CudaNf4Weight } from "./nf4-weight.js";

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

/** Copies host weights to the device: NF4 stays NF4, embeddings become bf16, norms and biases fp32. */
export function uploadDecoderWeights(device: CudaDevice, config: ModelConfig, host: HostDecoderWeights): CudaDecoderWeights {
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
  return {
    embed: bf16(host.embed),
    lmHead: host.lmHead && !config.tieWordEmbeddings ? bf16(host.lmHead) : undefined,
    finalNorm: f32(host.finalNorm),
    layers,
  };
}
