// A model's weights on the host as float32, under Hugging Face names and layouts, with its config:
// what the inference decoder, the LoRA trainer and adapter merging all start from.

import { configFromGguf, type ModelConfig } from "./config.js";
import { openGguf } from "./gguf.js";
import { readGgufTensorAsHf } from "./gguf-weights.js";
import { loadHfFolder } from "./hf-folder.js";

/** A host tensor under its Hugging Face name and layout. */
export interface HostWeight {
  shape: readonly number[];
  data: Float32Array;
}

/** A model's config and every weight as f32 on the host. */
export interface HostModel {
  config: ModelConfig;
  weights: Map<string, HostWeight>;
}

/** Reads an HF folder's safetensors (F32/F16/BF16) as f32. */
export function hostModelFromHfFolder(dir: string): HostModel {
  const folder = loadHfFolder(dir);
  const src = folder.openWeights();
  try {
    const weights = new Map<string, HostWeight>();
    for (const t of src.tensors) weights.set(t.name, { shape: t.shape, data: src.readTensor(t.name) });
    return { config: folder.config, weights };
  } finally {
    src.close();
  }
}

/** Reads a GGUF file, every tensor dequantised to f32 in Hugging Face layout (Q/K rows un-permuted). */
export function hostModelFromGguf(path: string): HostModel {
  const file = openGguf(path);
  try {
    const config = configFromGguf(file.metadata, file.tensors.map((t) => t.name));
    const weights = new Map<string, HostWeight>();
    for (const t of file.tensors) {
      const w = readGgufTensorAsHf(file, t.name, config);
      if (w !== undefined) weights.set(w.name, { shape: w.shape, data: w.data });
    }
    return { config, weights };
  } finally {
    file.close();
  }
}
