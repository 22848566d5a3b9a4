// Prefill and decode speed of SmolLM2-135M-Instruct on the CPU: the engine's Decoder (Q4_1
// dequantised to f32) beside node-llama-cpp on the same GGUF, plus whether their greedy texts agree.
// Run: npx tsx bench/decode-cpu.ts [gguf path] [new tokens]
import { cpus } from "node:os";
import { createCpuBackend } from "../src/engine/cpu/backend.js";
import { argmax } from "../src/infer/sampling.js";
import { Decoder } from "../src/model/decoder.js";
import { SMOLLM2_GGUF_PATH } from "../test/helpers/real-models.js";

const path = process.argv[2] ?? SMOLLM2_GGUF_PATH;
const newTokens = Number(process.argv[3] ?? 32);
const PROMPT =
  "<|im_start|>system\nYou answer with Thought: and Action: lines. Tools: calculator {\"expression\": string}.<|im_end|>\n<|im_start|>user\nWhat is 17 times 23?<|im_end|>\n<|im_start|>assistant\n";

const { getLlama } = await import("node-llama-cpp");
const llama = await getLlama({ gpu: false, build: "never" });
const lmodel = await llama.loadModel({ modelPath: path });
const ids = lmodel.tokenize(PROMPT, true);

// Ours.
const backend = createCpuBackend();
const model = Decoder.fromGguf(backend, path);
const cache = model.createCache(ids.length + newTokens + 1);
let t0 = performance.now();
let logits = model.forward(Int32Array.from(ids as number[]), cache);
const oursPrefill = performance.now() - t0;
const ours: number[] = [];
t0 = performance.now();
for (let i = 0; i < newTokens; i++) {
  const id = argmax(logits);
  ours.push(id);
  logits = model.forward(Int32Array.of(id), cache);
}
const oursDecode = performance.now() - t0;

// node-llama-cpp.
const context = await lmodel.createContext({ contextSize: 512, threads: cpus().length });
const seq = context.getSequence();
t0 = performance.now();
await seq.evaluateWithoutGeneratingNewTokens(ids.slice(0, -1));
const llPrefill = performance.now() - t0;
const theirs: number[] = [];
t0 = performance.now();
for await (const tok of seq.evaluate(ids.slice(-1), { temperature: 0 })) {
  theirs.push(tok as number);
  if (theirs.length >= newTokens) break;
}
const llDecode = performance.now() - t0;

const same = theirs.findIndex((t, i) => t !== ours[i]);
console.log(`prompt ${ids.length} tokens, ${newTokens} new tokens, ${cpus().length} cores (${cpus()[0]?.model})`);
console.log(`ours (f32):       prefill ${((ids.length / oursPrefill) * 1000).toFixed(1)} tok/s, decode ${((newTokens / oursDecode) * 1000).toFixed(1)} tok/s`);
console.log(`node-llama-cpp:   prefill ${(((ids.length - 1) / llPrefill) * 1000).toFixed(1)} tok/s, decode ${((theirs.length / llDecode) * 1000).toFixed(1)} tok/s over ${theirs.length} tokens (it stops at end-of-generation; the last prompt token is evaluated in this loop)`);
console.log(`greedy tokens agree: ${same < 0 ? "all" : `first ${same}`} of the ${theirs.length} node-llama-cpp generated`);
console.log(`ours:  ${JSON.stringify(lmodel.detokenize(ours as never))}`);
console.log(`llama: ${JSON.stringify(lmodel.detokenize(theirs as never))}`);
await context.dispose();
await lmodel.dispose();
backend.dispose();
