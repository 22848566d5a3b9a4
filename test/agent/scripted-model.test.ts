import assert from "node:assert/strict";
import { test } from "node:test";
import { ScriptExhaustedError, ScriptedModel } from "../../src/agent/scripted-model.js";

const USER = [{ role: "user" as const, content: "hi" }];

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const pieces: string[] = [];
  for await (const piece of iterable) pieces.push(piece);
  return pieces;
}

test("the scripted model replies in order, in pieces, and records what it received", async () => {
  const model = new ScriptedModel({ script: ["abcdefghij", "second"], chunkSize: 3 });
  assert.deepEqual(await collect(model.stream(USER)), ["abc", "def", "ghi", "j"]);
  assert.deepEqual(await model.generate(USER, { temperature: 0 }), { text: "second", finishReason: "stop" });
  assert.equal(model.calls.length, 2);
  assert.deepEqual(model.calls[1], { messages: USER, options: { temperature: 0 } });
});

test("the scripted model cuts its reply before the first stop string", async () => {
  const model = new ScriptedModel(['Action: {"a": 1}\nObservation: {"b": 2}']);
  const result = await model.generate(USER, { stop: ["\nObservation:"] });
  assert.deepEqual(result, { text: 'Action: {"a": 1}', finishReason: "stop" });
});

test("the scripted model truncates at maxTokens pieces with finish reason length", async () => {
  const model = new ScriptedModel({ script: ["0123456789"], chunkSize: 2 });
  assert.deepEqual(await model.generate(USER, { maxTokens: 3 }), { text: "012345", finishReason: "length" });
});

test("a reply given as a function of the messages sees them", async () => {
  const model = new ScriptedModel({ script: (messages, call) => `${call}:${messages.at(-1)?.content}` });
  assert.equal((await model.generate(USER)).text, "0:hi");
});

test("a hanging turn ends when the signal aborts, after its partial text", async () => {
  const model = new ScriptedModel([{ hang: true, partial: "Thought: hm" }]);
  const controller = new AbortController();
  const pending = model.generate(USER, { signal: controller.signal });
  setImmediate(() => setImmediate(() => setImmediate(() => controller.abort())));
  const result = await pending;
  assert.equal(result.finishReason, "abort");
  assert.ok("Thought: hm".startsWith(result.text));
});

test("an error turn throws after its partial text, and an empty script says so", async () => {
  const model = new ScriptedModel([{ error: new Error("boom"), partial: "Tho" }]);
  const pieces: string[] = [];
  await assert.rejects(async () => {
    for await (const piece of model.stream(USER)) pieces.push(piece);
  }, /boom/);
  assert.deepEqual(pieces, ["Tho"]);
  await assert.rejects(model.generate(USER), ScriptExhaustedError);
});
