import assert from "node:assert/strict";
import { after, test } from "node:test";
import { LlamaCppModel } from "../../src/infer/llama-cpp.js";
import { SKIP_NO_SMOLLM2, SMOLLM2_GGUF } from "../helpers/real-models.js";

const SKIP = SKIP_NO_SMOLLM2;

const model = SMOLLM2_GGUF && !SKIP ? new LlamaCppModel({ modelPath: SMOLLM2_GGUF, contextSize: 512 }) : undefined;
after(() => model?.dispose());
const q = [{ role: "user" as const, content: "Count from 1 to 20, separated by commas." }];

test("greedy generation on SmolLM2 is the same across two calls", { skip: SKIP }, async () => {
  const m = model as LlamaCppModel;
  const a = await m.generate(q, { maxTokens: 16, temperature: 0 });
  const b = await m.generate(q, { maxTokens: 16, temperature: 0 });
  assert.ok(a.text.length > 0);
  assert.equal(a.text, b.text);
});

test("a stop string cuts the SmolLM2 output and streamed pieces concatenate to it", { skip: SKIP }, async () => {
  const m = model as LlamaCppModel;
  const full = await m.generate(q, { maxTokens: 24, temperature: 0 });
  const stop = full.text.includes("5") ? "5" : full.text.slice(3, 5);
  const cut = await m.generate(q, { maxTokens: 24, temperature: 0, stop: [stop] });
  assert.equal(cut.text, full.text.slice(0, full.text.indexOf(stop)));
  assert.equal(cut.finishReason, "stop");
  let streamed = "";
  for await (const piece of m.stream(q, { maxTokens: 24, temperature: 0, stop: [stop] })) streamed += piece;
  assert.equal(streamed, cut.text);
});
