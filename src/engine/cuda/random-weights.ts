import type { ModelConfig } from "../../model/config.js";
import type { CudaDevice } from "./device.js";
import { ALL_LORA_TARGETS, type CudaDecoderWeights, type CudaLayerWeights, type LoraTarget } from "./decoder-trainer.js";
import type { DeviceBuffer } from "./memory.js";
import { CudaNf4Weight } from "./nf4-weight.js";
import type { CudaOps } from "./ops.js";
import { allocEmbeddingTable, type EmbeddingPlacement } from "./upload-weights.js";

/** [out, in] of each projection. */
export function projectionShape(c: ModelConfig, target: LoraTarget): [number, number] {
  const d = c.hiddenSize;
  const qd = c.numHeads * c.headDim;
  const kd = c.numKvHeads * c.headDim;
  const I = c.intermediateSize;
  const shapes: Record<LoraTarget, [number, number]> = {
    q_proj: [qd, d],
    k_proj: [kd, d],
    v_proj: [kd, d],
    o_proj: [d, qd],
    gate_proj: [I, d],
    up_proj: [I, d],
    down_proj: [d, I],
  };
  return shapes[target];
}

/**
 * A decoder with random weights made on the device (NF4 codes, bf16 embeddings), for speed and
 * memory benchmarks: the same shapes and the same work as real weights, without the host time
 * of quantising billions of them.
 */
export function randomDecoderWeights(device: CudaDevice, ops: CudaOps, c: ModelConfig, seed: number, embeddings: EmbeddingPlacement = "auto"): CudaDecoderWeights {
  let s = seed;
  const bytes = (b: DeviceBuffer, n: number) => ops.fillRandomBytes(b.ptr, n, ++s);
  const ones = (n: number, value = 1) => {
    const b = device.alloc(n * 4);
    device.upload(b.ptr, new Float32Array(n).fill(value));
    return b;
  };
  // the input table where `embeddings` puts it; the output head of an untied model on the GPU
  const bf16Table = (rows: number, placement: EmbeddingPlacement = "device") => {
    const b = allocEmbeddingTable(device, rows * c.hiddenSize * 2, c, placement);
    ops.fillRandomBf16(b.ptr, rows * c.hiddenSize, 0.02, ++s);
    return b;
  };
  const layers: CudaLayerWeights[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const proj = {} as Record<LoraTarget, CudaNf4Weight>;
    for (const t of ALL_LORA_TARGETS) {
      const [rows, cols] = projectionShape(c, t);
      proj[t] = CudaNf4Weight.random(device, rows, cols, bytes);
    }
    const layer: CudaLayerWeights = {
      attnNorm: ones(c.hiddenSize, c.normUnitOffset ? 0 : 1),
      mlpNorm: ones(c.hiddenSize, c.normUnitOffset ? 0 : 1),
      proj,
      bias: {},
    };
    if (c.qkvBias) {
      layer.bias.q_proj = ones(c.numHeads * c.headDim, 0.01);
      layer.bias.k_proj = ones(c.numKvHeads * c.headDim, 0.01);
      layer.bias.v_proj = ones(c.numKvHeads * c.headDim, 0.01);
    }
    if (c.qkNorm) {
      layer.qNorm = ones(c.headDim, c.normUnitOffset ? 0 : 1);
      layer.kNorm = ones(c.headDim, c.normUnitOffset ? 0 : 1);
    }
    if (c.sandwichNorm) {
      layer.postAttnNorm = ones(c.hiddenSize, c.normUnitOffset ? 0 : 1);
      layer.postMlpNorm = ones(c.hiddenSize, c.normUnitOffset ? 0 : 1);
    }
    layers.push(layer);
  }
  return {
    embed: bf16Table(c.vocabSize, embeddings),
    lmHead: c.tieWordEmbeddings ? undefined : bf16Table(c.vocabSize),
    finalNorm: ones(c.hiddenSize, c.normUnitOffset ? 0 : 1),
    layers,
  };
}
