// A base GGUF with a LoRA adapter merged into its weights: one file for llama.cpp / Ollama that
// needs no --lora. Projections the adapter touches become F16 or F32 (W + (α/r)·B·A, rows permuted
// as the base stores them); every other tensor and every metadata value is copied unchanged.

import { AgentTuneError } from "../errors.js";
import { openGguf } from "../model/gguf.js";
import { ggufPermutesQK, permuteQK } from "../model/gguf-permute.js";
import { type GgufWriteTensor, writeGguf } from "../model/gguf-writer.js";
import { mergeLoraPair } from "../infer/merge-lora.js";
import type { LoraWeights } from "./export-peft.js";

const KEY = /^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.(q|k|v|o|gate|up|down)_proj\.lora_A\.weight$/;
const GGUF_PROJ: Record<string, string> = { q: "attn_q", k: "attn_k", v: "attn_v", o: "attn_output", gate: "ffn_gate", up: "ffn_up", down: "ffn_down" };

/**
 * How the merged projections are stored: F16 (the default: the size of an F16 base, and what
 * llama.cpp computes in) or F32 (the merge's values exactly, twice the bytes). The base's own
 * tensors keep their types, quantised ones included: re-quantising is llama-quantize's job.
 */
export type MergedGgufDtype = "f16" | "f32";

/** Writes `base` with `adapter` merged in to `path` (atomically). Returns how many tensors were merged. */
export function exportMergedGguf(path: string, adapter: LoraWeights, baseGguf: string, dtype: MergedGgufDtype = "f16"): number {
  const gguf = openGguf(baseGguf);
  try {
    const arch = gguf.architecture ?? "";
    const heads = gguf.metadata[`${arch}.attention.head_count`];
    const kvHeads = gguf.metadata[`${arch}.attention.head_count_kv`] ?? heads;
    const scale = adapter.alpha / adapter.rank;
    const merged = new Map<string, Float32Array>();
    for (const [name, a] of adapter.tensors) {
      const m = KEY.exec(name);
      if (m === null) {
        if (name.includes(".lora_A.")) throw new AgentTuneError(`"${name}" is not a LoRA tensor of a projection the merge knows`);
        continue;
      }
      const b = adapter.tensors.get(name.replace(".lora_A.", ".lora_B."));
      if (b === undefined) throw new AgentTuneError(`the adapter has ${name} but no lora_B beside it`);
      const target = `blk.${m[1]}.${GGUF_PROJ[m[3] as string]}.weight`;
      const info = gguf.tensor(target);
      if (info === undefined) throw new AgentTuneError(`the base GGUF has no tensor ${target} for ${name}`, { hint: "merge an adapter onto the model it was trained on" });
      const [out, inF] = info.shape as [number, number];
      if (a.shape[0] !== adapter.rank || a.shape[1] !== inF || b.shape[0] !== out || b.shape[1] !== adapter.rank) {
        throw new AgentTuneError(`${name}: A ${JSON.stringify(a.shape)} and B ${JSON.stringify(b.shape)} do not fit ${target} [${out}, ${inF}] at rank ${adapter.rank}`);
      }
      // llama.cpp stores Q and K of Llama-style models with rows permuted per head: permuting B's
      // rows alike permutes the rows of B·A (as the GGUF LoRA export does)
      const permute = ggufPermutesQK(arch) && (m[3] === "q" || m[3] === "k");
      const bRows = permute ? permuteQK(b.data, out, adapter.rank, Number(m[3] === "q" ? heads : kvHeads)) : b.data;
      const w = gguf.readTensor(target);
      mergeLoraPair(w, a.data, bRows, out, inF, adapter.rank, scale);
      merged.set(target, w);
    }
    const tensors: GgufWriteTensor[] = gguf.tensors.map((t) => {
      const w = merged.get(t.name);
      return w !== undefined ? { name: t.name, shape: t.shape, type: dtype === "f32" ? "F32" : "F16", data: w } : { name: t.name, shape: t.shape, type: t.type, bytes: gguf.readTensorRaw(t.name) };
    });
    writeGguf(path, { metadata: gguf.metadata, metadataTypes: gguf.metadataTypes, tensors });
    return merged.size;
  } finally {
    gguf.close();
  }
}
