import type { GgufWriteTensor } from "../../src/model/gguf-writer.js";
import type { LoraWeights } from "../../src/train/export-peft.js";

/** The tiny Qwen2 config of scripts/fixtures/peft_export.py. */
export const TINY_QWEN2 = { hidden: 32, intermediate: 64, heads: 4, kvHeads: 2, layers: 2 };

/** A deterministic r=4, alpha=8 adapter on all seven projections of TINY_QWEN2. */
export function tinyAdapter(): LoraWeights {
  const { hidden, intermediate, heads, kvHeads, layers } = TINY_QWEN2;
  const kv = (hidden / heads) * kvHeads;
  const rank = 4;
  // [in, out] of each projection.
  const dims: Record<string, [string, number, number]> = {
    q: ["self_attn", hidden, hidden],
    k: ["self_attn", hidden, kv],
    v: ["self_attn", hidden, kv],
    o: ["self_attn", hidden, hidden],
    gate: ["mlp", hidden, intermediate],
    up: ["mlp", hidden, intermediate],
    down: ["mlp", intermediate, hidden],
  };
  const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  let seed = 1;
  const fill = (n: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = Math.round(Math.sin(seed * 7.13 + i * 0.37) * 1000) / 10000;
    seed++;
    return a;
  };
  for (let layer = 0; layer < layers; layer++) {
    for (const [name, [block, inF, outF]] of Object.entries(dims)) {
      const prefix = `base_model.model.model.layers.${layer}.${block}.${name}_proj`;
      tensors.set(`${prefix}.lora_A.weight`, { shape: [rank, inF], data: fill(rank * inF) });
      tensors.set(`${prefix}.lora_B.weight`, { shape: [outF, rank], data: fill(outF * rank) });
    }
  }
  return { baseModel: "tiny-qwen2", rank, alpha: 8, dropout: 0.05, targets: Object.keys(dims), tensors };
}

/** PEFT module → the llama.cpp weight name inside `blk.{i}.` (as export-gguf-lora.ts maps them). */
const GGUF_WEIGHT: Record<string, string> = { q_proj: "attn_q", k_proj: "attn_k", v_proj: "attn_v", o_proj: "attn_output", gate_proj: "ffn_gate", up_proj: "ffn_up", down_proj: "ffn_down" };

/** Zero F32 base weights [out, in] for every projection `adapter` adapts: what a stand-in base GGUF needs for a GGUF LoRA export. */
export function baseWeightsFor(adapter: LoraWeights): GgufWriteTensor[] {
  const sizes = new Map<string, { inF?: number; outF?: number }>();
  for (const [name, t] of adapter.tensors) {
    const m = /layers\.(\d+)\.\w+\.(\w+_proj)\.lora_(A|B)\.weight$/.exec(name);
    if (m === null) continue;
    const weight = `blk.${m[1]}.${GGUF_WEIGHT[m[2]]}.weight`;
    const s = sizes.get(weight) ?? {};
    if (m[3] === "A") s.inF = t.shape[1];
    else s.outF = t.shape[0];
    sizes.set(weight, s);
  }
  return [...sizes].map(([name, { inF = 0, outF = 0 }]) => ({ name, shape: [outF, inF], type: "F32" as const, data: new Float32Array(outF * inF) }));
}
