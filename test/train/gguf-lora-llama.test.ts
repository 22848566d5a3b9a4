import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openGguf } from "../../src/model/gguf.js";
import { exportGgufLora } from "../../src/train/export-gguf-lora.js";
import type { LoraWeights } from "../../src/train/export-peft.js";
import { SKIP_NO_SMOLLM2, SMOLLM2_GGUF } from "../helpers/real-models.js";

const root = mkdtempSync(join(tmpdir(), "agenttune-gguf-lora-llama-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** An r=2 adapter on Q, K and down of every layer of the base; B scaled by `bScale` (0 = no change). */
function adapterFor(base: string, bScale: number): { adapter: LoraWeights; heads: number; kvHeads: number } {
  const g = openGguf(base);
  const n = (k: string) => g.metadata[`llama.${k}`] as number;
  const [hidden, ff, layers, heads, kvHeads] = [n("embedding_length"), n("feed_forward_length"), n("block_count"), n("attention.head_count"), n("attention.head_count_kv")];
  g.close();
  const kv = (hidden / heads) * kvHeads;
  const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  let s = 1;
  const fill = (count: number, scale: number) => Float32Array.from({ length: count }, (_, i) => Math.sin(++s * 0.7 + i * 1.3) * scale);
  for (let l = 0; l < layers; l++) {
    for (const [mod, block, inF, outF] of [
      ["q_proj", "self_attn", hidden, hidden],
      ["k_proj", "self_attn", hidden, kv],
      ["down_proj", "mlp", ff, hidden],
    ] as const) {
      const prefix = `base_model.model.model.layers.${l}.${block}.${mod}`;
      tensors.set(`${prefix}.lora_A.weight`, { shape: [2, inF], data: fill(2 * inF, 0.5) });
      tensors.set(`${prefix}.lora_B.weight`, { shape: [outF, 2], data: fill(outF * 2, bScale) });
    }
  }
  return { adapter: { baseModel: "HuggingFaceTB/SmolLM2-135M-Instruct", rank: 2, alpha: 4, dropout: 0, targets: ["q", "k", "down"], tensors }, heads, kvHeads };
}

describe("GGUF LoRA in llama.cpp", { skip: SKIP_NO_SMOLLM2 }, () => {
  it("llama.cpp loads the exported adapter on SmolLM2; a zero B keeps the output, a large B changes it", async () => {
    const base = SMOLLM2_GGUF as string;
    const { getLlama, LlamaCompletion } = await import("node-llama-cpp");
    const llama = await getLlama({ gpu: false });
    const prompt = "The capital of France is";
    const model = await llama.loadModel({ modelPath: base });
    const complete = async (lora?: string) => {
      const context = await model.createContext({ contextSize: 128, ...(lora === undefined ? {} : { lora: { adapters: [{ filePath: lora }] } }) });
      try {
        const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
        return await completion.generateCompletion(prompt, { maxTokens: 6, temperature: 0 });
      } finally {
        await context.dispose();
      }
    };
    const zero = join(root, "zero.gguf");
    const big = join(root, "big.gguf");
    for (const [path, scale] of [
      [zero, 0],
      [big, 0.5],
    ] as const) {
      const { adapter, heads, kvHeads } = adapterFor(base, scale);
      exportGgufLora(path, adapter, { architecture: "llama", heads, kvHeads });
    }
    try {
      const plain = await complete();
      assert.equal(await complete(zero), plain);
      assert.notEqual(await complete(big), plain);
    } finally {
      await model.dispose();
    }
  });
});
