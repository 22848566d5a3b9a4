import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildDataset } from "../../src/data/build.js";
import { capabilityToolName, plannedCalls, plannedTools, withProgress, withToolCheck } from "../../src/data/tool-check.js";
import type { ReActStep } from "../../src/react/types.js";

const firstThought = (messages: { role: string; content: string }[] | undefined): string => {
  const reply = messages?.find((m) => m.role === "assistant")?.content ?? "";
  return /^Thought: (.*)$/m.exec(reply)?.[1] ?? "";
};

describe("the tool-check Thought", () => {
  it("names a capability's tool in snake case", () => {
    assert.equal(capabilityToolName("send text messages"), "send_text_messages");
    assert.equal(capabilityToolName("  Order food!  "), "order_food");
    assert.equal(capabilityToolName("…"), "unknown_tool");
  });

  it("prefixes a first call, states a missing tool, and leaves later steps and no-tool replies alone", () => {
    const steps: ReActStep[] = [
      { kind: "action", thought: "I need the time.", action: { name: "get_time", arguments: { city: "Oslo" } }, observation: {} },
      { kind: "answer", thought: "Done.", answer: "It is noon." },
    ];
    const checked = withToolCheck(steps);
    assert.equal(checked[0]?.thought, "This needs get_time, which I have. I need the time.");
    assert.equal(checked[1]?.thought, "Done.");
    assert.equal(steps[0]?.thought, "I need the time.", "the input is not changed");
    const refusal: ReActStep[] = [{ kind: "answer", thought: "I would need a tool to check the time.", answer: "Sorry." }];
    assert.equal(withToolCheck(refusal, { tool: "get_time", offered: false })[0]?.thought, "This needs get_time, which I don't have.");
    assert.deepEqual(withToolCheck(refusal), refusal, "an answer with no need given is a no-tool reply");
    assert.deepEqual(withToolCheck([]), []);
  });

  it("a build checks the tool in every first reply that needs one, against the offered list", async () => {
    const examples = await buildDataset({ samples: 300, seed: 4 });
    let calls = 0;
    let missing = 0;
    for (const e of examples) {
      const thought = firstThought(e.messages);
      const m = /^This needs (\w+), which I (have|don't have)\./.exec(thought);
      const firstCall = e.steps?.[0]?.kind === "action" ? e.steps[0].action.name : undefined;
      if (firstCall !== undefined) {
        assert.ok(m, `${e.id}: ${thought}`);
        assert.equal(m[1], firstCall, e.id);
        assert.equal(m[2], "have", e.id);
        calls++;
      } else if (e.category === "missing_tool") {
        assert.ok(m, `${e.id}: ${thought}`);
        assert.equal(m[2], "don't have", e.id);
        // the named tool is really absent from the list the prompt shows
        assert.ok(e.tools === undefined || !e.tools.includes(m[1] ?? ""), `${e.id} names ${m[1]}, which is offered`);
        missing++;
      } else {
        assert.doesNotMatch(thought, /^This needs/, `${e.id}: a reply that needs no tool has no check`);
      }
    }
    assert.ok(calls > 150 && missing > 20, `calls ${calls}, missing ${missing}`);
  });

  it("with a plan the first Thought names every tool, in the order of the calls", () => {
    const steps: ReActStep[] = [
      { kind: "action", thought: "First the weather.", action: { name: "get_weather", arguments: { city: "Oslo" } }, observation: {} },
      { kind: "action", thought: "Then Rome.", action: { name: "get_weather", arguments: { city: "Rome" } }, observation: {} },
      { kind: "action", thought: "Now the difference.", action: { name: "calculator", arguments: { expression: "3 - 1" } }, observation: {} },
      { kind: "answer", thought: "Done.", answer: "2 degrees." },
    ];
    assert.deepEqual(plannedTools(steps), ["get_weather", "calculator"]);
    assert.equal(withToolCheck(steps, undefined, plannedTools(steps))[0]?.thought, "This needs get_weather and calculator, which I have. First the weather.");
    assert.equal(withToolCheck(steps, undefined, ["a", "b", "c"])[0]?.thought, "This needs get_weather, which I have. First the weather.", "a plan that does not start with the first call is ignored");
  });

  it("planTools names a chain's and an arithmetic task's tools up front and leaves the other categories as they were", async () => {
    const one = await buildDataset({ samples: 200, seed: 5 });
    const planned = await buildDataset({ samples: 200, seed: 5, planTools: true });
    assert.equal(one.length, planned.length);
    let named = 0;
    for (const [i, e] of planned.entries()) {
      const thought = firstThought(e.messages);
      const before = firstThought(one[i]?.messages);
      const distinct = [...new Set(e.expected_tools)];
      if ((e.category === "chain" || e.category === "arithmetic") && distinct.length > 1) {
        const list = distinct.length === 2 ? `${distinct[0]} and ${distinct[1]}` : `${distinct.slice(0, -1).join(", ")} and ${distinct.at(-1)}`;
        assert.ok(thought.startsWith(`This needs ${list}, which I have.`), `${e.id}: ${thought}`);
        named++;
      } else {
        assert.equal(thought, before, `${e.id}: only chains and arithmetic change`);
      }
    }
    assert.ok(named > 40, `named ${named}`);
  });

  it("progress Thoughts count the calls against the plan and name the next one", () => {
    const steps: ReActStep[] = [
      { kind: "action", thought: "First the weather.", action: { name: "get_weather", arguments: { city: "Oslo" } }, observation: {} },
      { kind: "action", thought: "Then Rome.", action: { name: "get_weather", arguments: { city: "Rome" } }, observation: {} },
      { kind: "action", thought: "Now the difference.", action: { name: "calculator", arguments: { expression: "3 - 1" } }, observation: {} },
      { kind: "answer", thought: "Done.", answer: "2 degrees." },
    ];
    assert.deepEqual(plannedCalls(steps), ["get_weather", "get_weather", "calculator"]);
    const counted = withProgress(withToolCheck(steps, undefined, plannedCalls(steps)));
    assert.deepEqual(
      counted.map((s) => s.thought),
      [
        "This needs get_weather, get_weather and calculator, which I have. First the weather.",
        "Call 1 of 3 done. Next: get_weather. Then Rome.",
        "Call 2 of 3 done. Next: calculator. Now the difference.",
        "Call 3 of 3 done. Next: the answer. Done.",
      ],
    );
    const refusal: ReActStep[] = [{ kind: "answer", thought: "No tool is needed.", answer: "Hello!" }];
    assert.deepEqual(withProgress(refusal), refusal, "a reply with no call is left alone");
  });

  it("progress counts singles, chains and arithmetic, over the same draws, and leaves the rest alone", async () => {
    const plain = await buildDataset({ samples: 200, seed: 6 });
    const counted = await buildDataset({ samples: 200, seed: 6, progress: true });
    assert.deepEqual(
      counted.map((e) => [e.query, e.expected_tools]),
      plain.map((e) => [e.query, e.expected_tools]),
    );
    let checked = 0;
    for (const [i, e] of counted.entries()) {
      const calls = e.steps?.filter((s) => s.kind === "action").length ?? 0;
      if (["single", "chain", "arithmetic"].includes(e.category ?? "") && e.format !== "function_call") {
        const last = e.steps?.at(-1);
        assert.ok(last?.kind === "answer" && last.thought.startsWith(`Call ${calls} of ${calls} done. Next: the answer.`), `${e.id}: ${last?.thought}`);
        // the rendered replies carry it too
        assert.ok(e.messages?.some((m) => m.role === "assistant" && m.content.includes(`Call ${calls} of ${calls} done.`)), e.id);
        checked++;
      } else {
        assert.deepEqual(e.steps, plain[i]?.steps, `${e.id}: only counted categories change`);
      }
    }
    assert.ok(checked > 80, `checked ${checked}`);
  });

  it("toolCheck false gives the plain Thoughts, over the same draws", async () => {
    const plain = await buildDataset({ samples: 60, seed: 4, toolCheck: false });
    const checked = await buildDataset({ samples: 60, seed: 4 });
    assert.equal(plain.length, checked.length);
    assert.ok(plain.every((e) => !firstThought(e.messages).startsWith("This needs")));
    // the same draws: queries and calls agree, only the Thoughts differ
    assert.deepEqual(
      plain.map((e) => [e.query, e.expected_tools]),
      checked.map((e) => [e.query, e.expected_tools]),
    );
  });
});
