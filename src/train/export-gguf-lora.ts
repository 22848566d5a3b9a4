import { openGguf } from "../model/gguf.js";
import { AgentTuneError, FileFormatError } from "../errors.js";
import { ggufPermutesQK, permuteQK, unpermuteQK } from "../model/gguf-permute.js";
import { GgufValueType } from "../model/gguf-values.js";
import { type GgufWriteTensor, writeGguf } from "../model/gguf-writer.js";
import type { LoraWeights } from "./export-peft.js";

/** PEFT module → llama.cpp tensor name inside `blk.{i}.` (SPECS §5). */
const GGUF_NAMES: Record<string, string> = {
  q_proj: "attn_q",
  k_proj: "attn_k",
  v_proj: "attn_v",
  o_proj: "attn_output",
  gate_proj: "ffn_gate",
  up_proj: "ffn_up",
  down_proj: "ffn_down",
};

const KEY = /^base_model\.model\.model\.layers\.(\d+)\.(?:self_attn|mlp)\.(\w+_proj)\.lora_(A|B)\.weight$/;

/** The base model facts a GGUF LoRA needs. */
export interface GgufLoraBase {
  /** `general.architecture` of the base GGUF ("llama", "qwen2", …). */
  architecture: string;
  /** Query heads and KV heads: needed for llama, whose Q/K rows llama.cpp permutes. */
  heads?: number;
  kvHeads?: number;
}

/**
 * Writes a GGUF LoRA adapter that llama.cpp loads with `--lora`: `general.type` adapter,
 * `adapter.type` lora, `adapter.lora.alpha` (f32), tensors `blk.{i}.attn_q.weight.lora_a`
 * ([r, in]) / `.lora_b` ([out, r]) in F32 or F16. For llama the rows of Q's and K's lora_b are
 * permuted as llama.cpp permuted the base's Q and K, so B·A lines up with the stored weight.
 */
/** How the LoRA matrices are stored: F32 (exact) or F16 (half the file; llama.cpp reads both). */
export type GgufLoraDtype = "f32" | "f16";

export function exportGgufLora(path: string, adapter: LoraWeights, base: GgufLoraBase, dtype: GgufLoraDtype = "f32"): void {
  const permute = base.architecture === "llama";
  if (permute && (base.heads === undefined || base.kvHeads === undefined)) {
    throw new AgentTuneError("a llama GGUF LoRA needs the head counts of the base model", { hint: "pass the base GGUF (--base) so its head counts are read" });
  }
  const tensors: GgufWriteTensor[] = [];
  for (const [name, t] of [...adapter.tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const m = KEY.exec(name);
    const gguf = m === null ? undefined : GGUF_NAMES[m[2]];
    if (m === null || gguf === undefined) throw new AgentTuneError(`"${name}" has no GGUF LoRA name`);
    let data = t.data;
    if (permute && m[3] === "B" && (m[2] === "q_proj" || m[2] === "k_proj")) {
      // lora_b: [out, r]; out = heads·headDim rows, permuted per head like the base weight.
      data = permuteQK(t.data, t.shape[0], t.shape[1], m[2] === "q_proj" ? (base.heads as number) : (base.kvHeads as number));
    }
    tensors.push({ name: `blk.${m[1]}.${gguf}.weight.lora_${m[3].toLowerCase()}`, shape: t.shape, type: dtype === "f16" ? "F16" : "F32", data });
  }
  writeGguf(path, {
    metadata: {
      "general.architecture": base.architecture,
      "general.type": "adapter",
      "adapter.type": "lora",
      "adapter.lora.alpha": adapter.alpha,
    },
    metadataTypes: { "adapter.lora.alpha": { type: GgufValueType.FLOAT32 } },
    tensors,
  });
}

/** `exportGgufLora` with the architecture and head counts read from the base model's GGUF. */
export function exportGgufLoraForBase(path: string, adapter: LoraWeights, baseGguf: string, dtype: GgufLoraDtype = "f32"): void {
  const gguf = openGguf(baseGguf);
  try {
    const arch = gguf.architecture ?? "";
    const count = (key: string) => {
      const v = gguf.metadata[`${arch}.attention.${key}`];
      return typeof v === "number" ? v : undefined;
    };
    checkAdapterFitsBase(adapter, baseGguf, new Map(gguf.tensors.map((t) => [t.name, t.ne])));
    exportGgufLora(path, adapter, { architecture: arch, heads: count("head_count"), kvHeads: count("head_count_kv") ?? count("head_count") }, dtype);
  } finally {
    gguf.close();
  }
}

const GGUF_TO_PEFT: Record<string, [string, string]> = {
  attn_q: ["self_attn", "q_proj"],
  attn_k: ["self_attn", "k_proj"],
  attn_v: ["self_attn", "v_proj"],
  attn_output: ["self_attn", "o_proj"],
  ffn_gate: ["mlp", "gate_proj"],
  ffn_up: ["mlp", "up_proj"],
  ffn_down: ["mlp", "down_proj"],
};

/**
 * Reads a GGUF LoRA adapter (general.type adapter, adapter.type lora) back into PEFT form: the
 * inverse of `exportGgufLora`, Q's and K's lora_b rows un-permuted for llama. `base` gives the
 * head counts (the adapter file does not carry them).
 */
export function readGgufLora(path: string, base: GgufLoraBase): LoraWeights {
  const g = openGguf(path);
  try {
    if (g.metadata["general.type"] !== "adapter" || g.metadata["adapter.type"] !== "lora") {
      throw new FileFormatError({ file: path, location: "general.type", problem: "is not a GGUF LoRA adapter (general.type adapter, adapter.type lora)" });
    }
    const alpha = g.metadata["adapter.lora.alpha"];
    if (typeof alpha !== "number") throw new FileFormatError({ file: path, location: "adapter.lora.alpha", problem: "is missing or not a number" });
    const permute = ggufPermutesQK(base.architecture);
    const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    const targets = new Set<string>();
    let rank = 0;
    for (const t of g.tensors) {
      const m = /^blk\.(\d+)\.([a-z_]+)\.weight\.lora_(a|b)$/.exec(t.name);
      const peft = m === null ? undefined : GGUF_TO_PEFT[m[2] as string];
      if (m === null || peft === undefined) throw new FileFormatError({ file: path, location: `tensors["${t.name}"]`, problem: "is not a LoRA tensor of a projection" });
      const [block, module] = peft;
      let data = g.readTensor(t.name);
      const [rows, cols] = t.shape as [number, number];
      if (m[3] === "a") rank = rows;
      if (permute && m[3] === "b" && (module === "q_proj" || module === "k_proj")) {
        const heads = module === "q_proj" ? base.heads : base.kvHeads;
        if (heads === undefined) throw new AgentTuneError("a llama GGUF LoRA needs the base model's head counts to be read back", { hint: "pass the base GGUF" });
        data = unpermuteQK(data, rows, cols, heads);
      }
      targets.add(module);
      tensors.set(`base_model.model.model.layers.${m[1]}.${block}.${module}.lora_${m[3].toUpperCase()}.weight`, { shape: [rows, cols], data });
    }
    return { baseModel: "", rank, alpha, dropout: 0, targets: [...targets].sort(), tensors };
  } finally {
    g.close();
  }
}

/**
 * Every adapted projection must be a weight of the base with the adapter's sizes: lora_A [r, in]
 * and lora_B [out, r] against the base's [out, in] (GGUF ne = [in, out]). An adapter of another
 * model would otherwise export cleanly and fail only when llama.cpp loads the pair.
 */
function checkAdapterFitsBase(adapter: LoraWeights, baseGguf: string, baseDims: ReadonlyMap<string, readonly number[]>): void {
  for (const [name, t] of adapter.tensors) {
    const m = KEY.exec(name);
    const gguf = m === null ? undefined : GGUF_NAMES[m[2]];
    if (m === null || gguf === undefined) continue; // exportGgufLora names it
    const weight = `blk.${m[1]}.${gguf}.weight`;
    const ne = baseDims.get(weight);
    const [size, want] = m[3] === "A" ? [t.shape[1], ne?.[0]] : [t.shape[0], ne?.[1]];
    if (ne === undefined || size !== want) {
      throw new FileFormatError({
        file: baseGguf,
        location: weight,
        problem: ne === undefined ? `the base has no ${weight}, which the adapter's ${name} adapts` : `${weight} is [${[...ne].reverse().join(", ")}], but the adapter's ${name} is [${t.shape.join(", ")}]`,
        hint: "the adapter was trained on another base model: pass that model's GGUF with --base",
      });
    }
  }
}
