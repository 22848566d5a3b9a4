import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { parseFunctionCall, parseMessages, parseReply, parseTrajectoryText } from "../../src/react/parse.js";
import { renderAction, renderMessages, renderReply, renderTrajectoryText } from "../../src/react/render.js";
import { FAILURE_KINDS } from "../../src/react/types.js";
import { actionStep, answerStep, toolCall, trajectory } from "./arbitraries.js";

const RUNS = { numRuns: 300 };

test("render → parse is the identity on one reply", () => {
  fc.assert(
    fc.property(fc.oneof(actionStep, answerStep), (step) => {
      const r = parseReply(renderReply(step), { strict: true });
      assert.ok(r.ok, JSON.stringify(r));
      if (step.kind === "action") {
        assert.ok(r.kind === "action");
        assert.deepEqual({ thought: r.thought, action: r.action }, { thought: step.thought, action: step.action });
      } else {
        assert.ok(r.kind === "answer");
        assert.deepEqual({ thought: r.thought, answer: r.answer }, { thought: step.thought, answer: step.answer });
      }
    }),
    RUNS,
  );
});

test("render → parse is the identity on whole trajectories, as text and as messages", () => {
  fc.assert(
    fc.property(trajectory, (t) => {
      const text = parseTrajectoryText(renderTrajectoryText(t), { strict: true });
      assert.ok(text.ok, JSON.stringify(text));
      assert.deepEqual(text.steps, t.steps);
      const messages = parseMessages(renderMessages(t, { systemPrompt: "S" }), { strict: true });
      assert.ok(messages.ok, JSON.stringify(messages));
      assert.deepEqual(messages.trajectory, t);
      assert.equal(messages.systemPrompt, "S");
    }),
    RUNS,
  );
});

test("render → parse is the identity on single-turn function calls", () => {
  fc.assert(
    fc.property(toolCall, (call) => {
      assert.deepEqual(parseFunctionCall(renderAction(call), { strict: true }), { ok: true, call, aliased: false });
    }),
    RUNS,
  );
});

// Fuzz: whatever the text, the parsers return a value with a known failure kind; never throw.
const fragment = fc.oneof(
  fc.constantFrom(
    "Thought:", "Action:", "Answer:", "Final Answer:", "Observation:", "action:", "**Action:**",
    "{", "}", "[", "]", '"', "\\", "\\\"", ":", ",", "```", "```json", "`", "\n", "\r\n", " ",
    '{"name": "get_weather", "arguments": {"city": "Tokyo"}}', '"name"', '"arguments"', "null", "1e999", "__proto__",
  ),
  fc.string({ unit: "binary", maxLength: 8 }),
);
const garbage = fc.oneof(fc.string({ unit: "binary", maxLength: 200 }), fc.array(fragment, { maxLength: 30 }).map((a) => a.join("")));

function checkReply(text: string): void {
  for (const strict of [false, true]) {
    const r = parseReply(text, { strict });
    if (r.ok) {
      assert.ok(r.kind === "answer" ? typeof r.answer === "string" && r.answer !== "" : typeof r.action.name === "string");
    } else {
      assert.ok(FAILURE_KINDS.includes(r.kind));
      assert.equal(typeof r.message, "string");
      assert.equal(r.raw, text);
    }
    const f = parseFunctionCall(text, { strict });
    assert.ok(f.ok || FAILURE_KINDS.includes(f.kind));
    const t = parseTrajectoryText(text, { strict });
    assert.ok(t.ok || (typeof t.message === "string" && t.step >= 1));
  }
}

test("random garbage never throws and always classifies", () => {
  fc.assert(fc.property(garbage, checkReply), { numRuns: 1000 });
});

test("every truncation of a valid reply parses or fails with a known kind", () => {
  fc.assert(
    fc.property(fc.oneof(actionStep, answerStep), (step) => {
      const text = renderReply(step);
      for (let cut = 0; cut <= text.length; cut++) checkReply(text.slice(0, cut));
    }),
    { numRuns: 100 },
  );
});

test("a truncated Action either parses to the full call or is a malformed action", () => {
  fc.assert(
    fc.property(actionStep, (step) => {
      assert.ok(step.kind === "action");
      const text = renderReply(step);
      const jsonStart = text.lastIndexOf("Action: ") + "Action: ".length;
      for (let cut = jsonStart; cut <= text.length; cut++) {
        const r = parseReply(text.slice(0, cut));
        if (cut === text.length) assert.ok(r.ok && r.kind === "action");
        else assert.ok(!r.ok && r.kind === "malformed_action", `${JSON.stringify(text.slice(0, cut))} → ${JSON.stringify(r)}`);
      }
    }),
    { numRuns: 100 },
  );
});

test("every truncation of a whole trajectory text never throws", () => {
  fc.assert(
    fc.property(trajectory, (t) => {
      const text = renderTrajectoryText(t);
      const step = Math.max(1, Math.floor(text.length / 40));
      for (let cut = 0; cut <= text.length; cut += step) {
        const r = parseTrajectoryText(text.slice(0, cut));
        assert.ok(r.ok || r.step >= 1);
      }
    }),
    { numRuns: 100 },
  );
});
