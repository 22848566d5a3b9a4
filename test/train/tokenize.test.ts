import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ChatMessage } from "../../src/agent/chat-model.js";
import { chatmlTemplate, tokenizeDataset, tokenizeMessages } from "../../src/train/tokenize.js";
import { byteTokenize } from "./fake-model.js";

const decode = (ids: ArrayLike<number>) => Buffer.from(Array.from(ids)).toString("utf8");

function maskedText(ids: Int32Array, mask: Uint8Array): string[] {
  const spans: string[] = [];
  let cur: number[] | undefined;
  for (let i = 0; i < ids.length; i++) {
    if (mask[i] === 1) {
      cur = cur ?? [];
      cur.push(ids[i]);
    }
    else if (cur !== undefined) {
      spans.push(decode(cur));
      cur = undefined;
    }
  }
  if (cur !== undefined) spans.push(decode(cur));
  return spans;
}

const trajectory: ChatMessage[] = [
  { role: "system", content: "You are an agent. Tools: get_weather." },
  { role: "user", content: "Weather in Tokyo?" },
  { role: "assistant", content: 'Thought: check.\nAction: {"name": "get_weather", "arguments": {"city": "Tokyo"}}' },
  { role: "user", content: 'Observation: {"temperature": 8}' },
  { role: "assistant", content: "Thought: done.\nAnswer: 8°C in Tokyo." },
];

describe("tokenize", () => {
  it("the loss mask covers exactly the assistant contents and their end-of-turn", () => {
    const ex = tokenizeMessages(trajectory, { tokenize: byteTokenize, template: chatmlTemplate });
    assert.ok(ex);
    assert.equal(decode(ex.ids), chatmlTemplate(trajectory).map((s) => s.text).join(""));
    assert.deepEqual(maskedText(ex.ids, ex.mask), [`${trajectory[2].content}<|im_end|>`, `${trajectory[4].content}<|im_end|>`]);
    assert.equal(ex.truncated, false);
  });

  it("a sequence over the limit drops whole trailing steps and never cuts an Action", () => {
    const full = tokenizeMessages(trajectory, { tokenize: byteTokenize, template: chatmlTemplate });
    assert.ok(full);
    const ex = tokenizeMessages(trajectory, { tokenize: byteTokenize, template: chatmlTemplate, maxLength: full.ids.length - 1 });
    assert.ok(ex);
    assert.equal(ex.truncated, true);
    assert.equal(ex.messages, 3);
    assert.ok(decode(ex.ids).endsWith('"Tokyo"}}<|im_end|>\n'));
    assert.deepEqual(maskedText(ex.ids, ex.mask), [`${trajectory[2].content}<|im_end|>`]);
  });

  it("an example whose first assistant turn does not fit is skipped and counted", () => {
    const short: ChatMessage[] = [
      { role: "user", content: "hi" },
      { role: "assistant", content: "Answer: hello" },
    ];
    const result = tokenizeDataset([trajectory, short, [{ role: "user", content: "no reply" }]], {
      tokenize: byteTokenize,
      template: chatmlTemplate,
      maxLength: 120,
    });
    assert.equal(result.examples.length, 1);
    assert.equal(result.skippedTooLong, 1);
    assert.equal(result.skippedNoAssistant, 1);
    assert.equal(decode(result.examples[0].ids), chatmlTemplate(short).map((s) => s.text).join(""));
  });

  it("an assistant message with weight 0 renders as before but is context: train false on its content and end marker", () => {
    const plain = chatmlTemplate(trajectory);
    const untrained = trajectory.map((m, i) => (i === 2 ? { ...m, weight: 0 as const } : m));
    const segments = chatmlTemplate(untrained);
    assert.equal(segments.map((s) => s.text).join(""), plain.map((s) => s.text).join(""));
    assert.deepEqual(
      segments.filter((s) => s.message === 2),
      [
        { text: "<|im_start|>assistant\n", train: false, message: 2 },
        { text: trajectory[2].content, train: false, message: 2 },
        { text: "<|im_end|>", train: false, message: 2 },
        { text: "\n", train: false, message: 2 },
      ],
    );
    assert.deepEqual(segments.filter((s) => s.message !== 2), plain.filter((s) => s.message !== 2), "the other messages are as without it");
    const ex = tokenizeMessages(untrained, { tokenize: byteTokenize, template: chatmlTemplate });
    assert.ok(ex);
    assert.deepEqual(maskedText(ex.ids, ex.mask), [`${trajectory[4].content}<|im_end|>`]);
  });

  it("without a weight (or with weight 1) the segments are the ones an assistant message always had", () => {
    const segments = chatmlTemplate(trajectory.slice(2, 3));
    assert.deepEqual(segments, [
      { text: "<|im_start|>assistant\n", train: false, message: 0 },
      { text: trajectory[2].content, train: true, message: 0 },
      { text: "<|im_end|>", train: true, message: 0 },
      { text: "\n", train: false, message: 0 },
    ]);
    assert.deepEqual(chatmlTemplate([{ ...trajectory[2], weight: 1 }]), segments);
  });

  it("a conversation whose only assistant turns have weight 0 teaches nothing and is skipped", () => {
    const untrained = trajectory.map((m) => (m.role === "assistant" ? { ...m, weight: 0 as const } : m));
    assert.equal(tokenizeMessages(untrained, { tokenize: byteTokenize, template: chatmlTemplate }), undefined);
    assert.equal(tokenizeDataset([untrained], { tokenize: byteTokenize, template: chatmlTemplate }).skippedNoAssistant, 1);
  });

  it("system, user and observation text never carries loss", () => {
    const ex = tokenizeMessages(trajectory, { tokenize: byteTokenize, template: chatmlTemplate });
    assert.ok(ex);
    const trained = maskedText(ex.ids, ex.mask).join("");
    for (const m of trajectory.filter((x) => x.role !== "assistant")) assert.ok(!trained.includes(m.content));
  });
});
