import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { FileFormatError } from "../../src/errors.js";
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

test("a truncated GGUF (or LoRA) is named with what is wrong with it before node-llama-cpp sees it", { skip: SKIP }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "agenttune-llama-"));
  const short = join(dir, "short.gguf");
  writeFileSync(short, readFileSync(SMOLLM2_GGUF as string).subarray(0, 5_000_000));
  for (const options of [{ modelPath: short }, { modelPath: SMOLLM2_GGUF as string, loraPath: short }]) {
    const m = new LlamaCppModel({ ...options, contextSize: 256 });
    await assert.rejects(m.generate(q, { maxTokens: 1 }), (e: unknown) => e instanceof FileFormatError && e.file === short && /past the end of the data/.test((e as Error).message));
    await m.dispose();
  }
});
