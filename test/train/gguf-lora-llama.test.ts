import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openGguf } from "../../src/model/gguf.js";
import { exportGgufLora } from "../../src/train/export-gguf-lora.js";
import { exportMergedGguf } from "../../src/train/export-merged-gguf.js";
import { createCpuBackend } from "../../src/engine/cpu/backend.js";
import { mergeLora } from "../../src/infer/merge-lora.js";
import { Decoder } from "../../src/model/decoder.js";
import { hostModelFromGguf } from "../../src/model/host-weights.js";
import { tokenizerFromGguf } from "../../src/model/tokenizer.js";
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

function pearson(a: number[], b: number[]): number {
  const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
  const [ma, mb] = [mean(a), mean(b)];
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

describe("GGUF LoRA in llama.cpp", { skip: SKIP_NO_SMOLLM2 }, () => {
  it("llama.cpp loads the exported adapter on SmolLM2: zero B keeps the output, a large B changes it, the next-token log-probabilities shift as our engine predicts, and the merged GGUF gives those of base + LoRA", async () => {
    const base = SMOLLM2_GGUF as string;
    const { getLlama, LlamaCompletion } = await import("node-llama-cpp");
    const llama = await getLlama({ gpu: false });
    const prompt = "The capital of France is";
    const model = await llama.loadModel({ modelPath: base });
    const complete = async (lora?: string) => {
      const context = await model.createContext({ contextSize: 128, threads: availableParallelism(), ...(lora === undefined ? {} : { lora: { adapters: [{ filePath: lora }] } }) });
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
      // our engine, with the PEFT adapter merged into its float32 weights, predicts the change:
      // the shift of each likely next token's log-probability, llama.cpp's against ours
      const llamaLogProbs = async (lora?: string, on = model) => {
        const context = await on.createContext({ contextSize: 128, threads: availableParallelism(), ...(lora === undefined ? {} : { lora: { adapters: [{ filePath: lora }] } }) });
        try {
          const it = context.getSequence().evaluateWithMetadata(model.tokenize(prompt), { probabilities: true }, { temperature: 1 });
          const first = await it.next();
          await it.return();
          assert.ok(!first.done);
          return new Map([...first.value.probabilities].map(([t, p]) => [t as number, Math.log(p)]));
        } finally {
          await context.dispose();
        }
      };
      const host = hostModelFromGguf(base);
      const g = openGguf(base);
      const ids = Int32Array.from(tokenizerFromGguf(g.metadata, base).encode(prompt));
      g.close();
      const ourLogProbs = (weights: typeof host.weights) => {
        const decoder = Decoder.fromWeights(createCpuBackend(), host.config, weights);
        const logits = decoder.forward(ids, decoder.createCache(ids.length));
        const max = Math.max(...logits);
        const z = Math.log(logits.reduce((s, x) => s + Math.exp(x - max), 0)) + max;
        return (t: number) => (logits[t] as number) - z;
      };
      const shift = adapterFor(base, 0.05);
      const shiftLora = join(root, "shift.gguf");
      exportGgufLora(shiftLora, shift.adapter, { architecture: "llama", heads: shift.heads, kvHeads: shift.kvHeads });
      const [lPlain, lMild] = [await llamaLogProbs(), await llamaLogProbs(shiftLora)];
      const [oPlain, oMild] = [ourLogProbs(host.weights), ourLogProbs(mergeLora(host.weights, shift.adapter))];
      const top = [...new Set([...[...lPlain.keys()].slice(0, 10), ...[...lMild.keys()].slice(0, 10)])].filter((t) => lPlain.has(t) && lMild.has(t));
      const dl = top.map((t) => (lMild.get(t) ?? Number.NaN) - (lPlain.get(t) ?? Number.NaN));
      const dOurs = top.map((t) => oMild(t) - oPlain(t));
      const corr = pearson(dl, dOurs);
      const size = dl.reduce((s, x) => s + Math.abs(x), 0) / dl.length;
      assert.ok(size > 0.05, `the adapter shifts the log-probabilities by ${size.toFixed(3)} on average`);
      assert.ok(corr > 0.9, `llama.cpp's and our shifts correlate at ${corr.toFixed(3)}`);
      // the same adapter merged into the weights: one file whose next-token log-probabilities are
      // those of base + --lora, far closer to them than the adapter's own shift. (Log-probabilities,
      // not greedy text: whether a mild adapter flips a greedy token depends on the CPU's kernels.)
      const merged = join(root, "merged.gguf");
      const count = exportMergedGguf(merged, shift.adapter, base);
      assert.equal(count, 3 * 30);
      const mergedModel = await llama.loadModel({ modelPath: merged });
      try {
        const lMerged = await llamaLogProbs(undefined, mergedModel);
        const apart = top.filter((t) => lMerged.has(t)).map((t) => Math.abs((lMerged.get(t) ?? Number.NaN) - (lMild.get(t) ?? Number.NaN)));
        assert.ok(apart.length >= top.length / 2, `${apart.length} of the ${top.length} likely tokens in the merged model's list`);
        const gap = apart.reduce((a, x) => a + x, 0) / apart.length;
        assert.ok(gap < size / 5, `merged and base + LoRA log-probabilities ${gap.toFixed(4)} apart on average, the shift ${size.toFixed(3)}`);
      } finally {
        await mergedModel.dispose();
      }
    } finally {
      await model.dispose();
    }
  });
});
