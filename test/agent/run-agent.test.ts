import assert from "node:assert/strict";
import { test } from "node:test";
import { ModelCallError } from "../../src/agent/errors.js";
import { runAgent, streamAgent } from "../../src/agent/run-agent.js";
import { ScriptedModel } from "../../src/agent/scripted-model.js";
import type { AgentEvent } from "../../src/agent/types.js";
import { buildSystemPrompt } from "../../src/react/prompt.js";
import { renderMessages } from "../../src/react/render.js";
import type { ToolDefinition } from "../../src/tools/types.js";
import { echo, fakeTool, trace } from "./helpers.js";

const ECHO_HI = 'Thought: I will echo.\nAction: {"name": "echo", "arguments": {"text": "hi"}}';
const ANSWER = "Thought: Done.\nAnswer: It said hi.";

async function run(script: ConstructorParameters<typeof ScriptedModel>[0], tools: ToolDefinition[] = [echo], extra = {}) {
  const model = new ScriptedModel(script);
  const events: AgentEvent[] = [];
  const result = await runAgent({ model, tools, query: "Say hi.", onEvent: (e) => events.push(e), ...extra });
  return { model, events, result };
}

test("a direct Answer ends the episode after one reply", async () => {
  const { result, events, model } = await run(["Thought: No tool needed.\nAnswer: Hello!"]);
  assert.equal(result.status, "answered");
  assert.equal(result.answer, "Hello!");
  assert.deepEqual(trace(events), ["thought:1", "answer:1", "done:answered"]);
  assert.deepEqual(result.toolCalls, []);
  assert.equal(result.steps, 1);
  assert.equal(model.calls.length, 1);
});

test("a tool step executes the call and appends its observation", async () => {
  const { result, events } = await run([ECHO_HI, ANSWER]);
  assert.equal(result.status, "answered");
  assert.deepEqual(trace(events), ["thought:1", "action:1:echo", "observation:1:echo", "thought:2", "answer:2", "done:answered"]);
  const observation = events.find((e) => e.type === "observation");
  assert.ok(observation?.type === "observation");
  assert.deepEqual(observation.observation, { echoed: { text: "hi" } });
  assert.deepEqual(result.trajectory.steps[0], {
    kind: "action",
    thought: "I will echo.",
    action: { name: "echo", arguments: { text: "hi" } },
    observation: { echoed: { text: "hi" } },
  });
  assert.deepEqual(result.toolCalls, [{ name: "echo", arguments: { text: "hi" } }]);
  assert.deepEqual(result.rawReplies, [ECHO_HI, ANSWER]);
  assert.equal(result.failures.length, 0);
});

test("the messages the model receives are the render functions' messages (training = inference)", async () => {
  const sloppy = '  I will echo.\nAction: ```json\n{"tool": "echo", "args": {"text": "hi"}}\n``` ok';
  const { result, model } = await run([sloppy, ANSWER]);
  const systemPrompt = buildSystemPrompt([echo]);
  // Each call saw exactly the rendering of the trajectory so far.
  for (let i = 0; i < model.calls.length; i++) {
    const prefix = { query: "Say hi.", steps: result.trajectory.steps.slice(0, i) };
    assert.deepEqual(model.calls[i].messages, renderMessages(prefix, { systemPrompt }));
  }
  assert.deepEqual(result.messages, renderMessages(result.trajectory, { systemPrompt }));
  // The sloppy reply went back into the history in the canonical format.
  assert.equal(model.calls[1].messages[2].content, 'Thought: I will echo.\nAction: {"name": "echo", "arguments": {"text": "hi"}}');
  assert.equal(model.calls[1].messages[3].content, 'Observation: {"echoed": {"text": "hi"}}');
});

test("the model is asked to stop at an Observation line, greedy, 256 tokens by default", async () => {
  const { model } = await run([ANSWER], [echo], { generate: { stop: ["</s>"], topP: 0.9 } });
  const options = model.calls[0].options;
  assert.deepEqual(options.stop, ["\nObservation:", "</s>"]);
  assert.equal(options.temperature, 0);
  assert.equal(options.maxTokens, 256);
  assert.equal(options.topP, 0.9);
  assert.ok(options.signal instanceof AbortSignal);
});

test("a custom system prompt replaces the built one", async () => {
  const { model } = await run([ANSWER], [echo], { systemPrompt: "Be brief." });
  assert.deepEqual(model.calls[0].messages[0], { role: "system", content: "Be brief." });
});

// Failure kinds

test("a malformed action is reported back as an error observation and the episode goes on", async () => {
  const bad = "Thought: Let me try.\nAction: echo(text=hi)";
  const { result, events, model } = await run([bad, ECHO_HI, ANSWER]);
  assert.equal(result.status, "answered");
  assert.deepEqual(trace(events).slice(0, 2), ["thought:1", "error:1:malformed_action:recovered"]);
  const error = events[1];
  assert.ok(error.type === "error");
  assert.equal(error.raw, bad);
  assert.deepEqual(result.failures.map((f) => [f.kind, f.step]), [["malformed_action", 1]]);
  assert.equal(model.calls[1].messages[2].content, bad);
  assert.match(model.calls[1].messages[3].content, /^Observation: \{"error": "Action: must be followed by one JSON object/);
  assert.equal(result.trajectory.steps.length, 2);
});

test("an unknown tool is reported back with the available tools and not counted as a tool call", async () => {
  const { result, events, model } = await run(['Action: {"name": "fly", "arguments": {}}', ANSWER]);
  assert.equal(result.status, "answered");
  assert.deepEqual(trace(events).slice(0, 2), ["action:1:fly", "error:1:unknown_tool:recovered"]);
  assert.deepEqual(result.toolCalls, []);
  assert.equal(model.calls[1].messages[3].content, 'Observation: {"error": "unknown tool \\"fly\\"; the available tools are: echo"}');
  assert.deepEqual(result.trajectory.steps[0].kind === "action" && result.trajectory.steps[0].observation, {
    error: 'unknown tool "fly"; the available tools are: echo',
  });
});

test("a tool error is reported back as an error observation", async () => {
  const broken = fakeTool("broken", () => {
    throw new Error("the service is down");
  });
  const { result, events, model } = await run(['Action: {"name": "broken", "arguments": {}}', ANSWER], [broken]);
  assert.equal(result.status, "answered");
  assert.deepEqual(trace(events).slice(0, 2), ["action:1:broken", "error:1:tool_error:recovered"]);
  assert.deepEqual(result.toolCalls, [{ name: "broken", arguments: {} }]);
  assert.equal(model.calls[1].messages[3].content, 'Observation: {"error": "the service is down"}');
});

test("invalid arguments from the registry are reported back and counted", async () => {
  const registry = {
    list: () => [echo],
    has: (name: string) => name === "echo",
    async execute() {
      throw Object.assign(new Error('missing required argument "text"'), { name: "ToolArgumentsError" });
    },
  };
  const model = new ScriptedModel(['Action: {"name": "echo", "arguments": {}}', ANSWER]);
  const events: AgentEvent[] = [];
  const result = await runAgent({ model, tools: registry, query: "q", onEvent: (e) => events.push(e) });
  assert.deepEqual(trace(events).slice(0, 2), ["action:1:echo", "error:1:invalid_arguments:recovered"]);
  assert.deepEqual(result.toolCalls, [{ name: "echo", arguments: {} }]);
  assert.deepEqual(result.failures, [{ kind: "invalid_arguments", step: 1, message: 'missing required argument "text"' }]);
});

test("the same call twice in a row is a loop: the episode ends on the second", async () => {
  let executed = 0;
  const counting = fakeTool("echo", (args) => {
    executed++;
    return { echoed: args };
  });
  const again = 'Thought: Again.\nAction: {"name": "echo", "arguments": {"text": "hi"}}';
  const { result, events } = await run([ECHO_HI, again, ANSWER], [counting]);
  assert.equal(result.status, "loop");
  assert.equal(executed, 1);
  assert.deepEqual(trace(events), [
    "thought:1", "action:1:echo", "observation:1:echo", "thought:2", "action:2:echo", "error:2:loop", "done:loop",
  ]);
  assert.equal(result.steps, 2);
  assert.equal(result.toolCalls.length, 2);
  assert.equal(result.trajectory.steps.length, 1);
});

test("a loop ignores the order of argument keys; the same call after a different one is not a loop", async () => {
  const two = fakeTool("two", (args) => args);
  const a1 = 'Action: {"name": "two", "arguments": {"a": 1, "b": 2}}';
  const a2 = 'Action: {"name": "two", "arguments": {"b": 2, "a": 1}}';
  assert.equal((await run([a1, a2], [two])).result.status, "loop");
  const other = 'Action: {"name": "two", "arguments": {"a": 3}}';
  assert.equal((await run([a1, other, a1, ANSWER], [two])).result.status, "answered");
});

test("maxSteps replies without an Answer end the episode at the step limit", async () => {
  const script = [1, 2, 3, 4].map((i) => `Action: {"name": "echo", "arguments": {"text": "${i}"}}`);
  const { result, events } = await run(script, [echo], { maxSteps: 3 });
  assert.equal(result.status, "step_limit");
  assert.equal(result.steps, 3);
  assert.deepEqual(trace(events).slice(-2), ["error:3:step_limit", "done:step_limit"]);
  assert.equal(result.trajectory.steps.length, 3);
});

test("a reply with neither Action nor Answer ends the episode with no_answer", async () => {
  const { result, events } = await run(["Thought: I am not sure what to do."]);
  assert.equal(result.status, "no_answer");
  assert.deepEqual(trace(events), ["thought:1", "error:1:no_answer", "done:no_answer"]);
  assert.deepEqual(result.messages.at(-1), { role: "assistant", content: "Thought: I am not sure what to do." });
});

test("a reply that starts by writing an Observation is no_answer", async () => {
  const { result } = await run(['Observation: {"echoed": "hi"}\nAnswer: hi']);
  assert.equal(result.status, "no_answer");
});

test("garbage from the model never crashes the runtime", async () => {
  const garbage = ["", "}{", "Action: {{{{", "Action: {\"name\": null}", "\u0000\uffff", "Answer:", "```", "Thought:\nAction:\nAnswer:"];
  for (const g of garbage) {
    const { result } = await run([g, ANSWER, ANSWER]);
    assert.ok(["answered", "no_answer"].includes(result.status), `${JSON.stringify(g)} → ${result.status}`);
  }
});

test("a model that ignores the stop string is cut at its Observation line", async () => {
  const model = {
    id: "chatty",
    calls: 0,
    async generate() {
      return { text: "", finishReason: "stop" as const };
    },
    async *stream() {
      this.calls++;
      if (this.calls > 1) {
        yield ANSWER;
        return;
      }
      yield 'Action: {"name": "echo", "arguments": {"text": "hi"}}\nObserv';
      yield 'ation: {"echoed": "made up"}\nAnswer: made up';
      throw new Error("read too far");
    },
  };
  const result = await runAgent({ model, tools: [echo], query: "q" });
  assert.equal(result.status, "answered");
  assert.deepEqual(result.trajectory.steps[0].kind === "action" && result.trajectory.steps[0].observation, { echoed: { text: "hi" } });
});

// Cancellation and timeouts

test("aborting mid-generation ends the episode as aborted and aborts the model call", async () => {
  const controller = new AbortController();
  const model = new ScriptedModel({
    script: (_messages, call) => {
      if (call === 0) return ECHO_HI;
      setImmediate(() => setImmediate(() => controller.abort()));
      return { hang: true, partial: "Thought: still thinking about it" };
    },
  });
  const events: AgentEvent[] = [];
  const result = await runAgent({ model, tools: [echo], query: "q", signal: controller.signal, onEvent: (e) => events.push(e) });
  assert.equal(result.status, "aborted");
  assert.equal(model.calls.length, 2);
  assert.equal(model.calls[1].options.signal?.aborted, true);
  assert.equal(result.trajectory.steps.length, 1);
  assert.deepEqual(trace(events).at(-1), "done:aborted");
});

test("an abort during a tool call ends the episode as aborted and aborts the tool", async () => {
  const controller = new AbortController();
  let toolSignal: AbortSignal | undefined;
  const slow = fakeTool("slow", (_args, context) => {
    toolSignal = context.signal;
    setImmediate(() => controller.abort());
    return new Promise(() => {});
  });
  const { result } = await run(['Action: {"name": "slow", "arguments": {}}'], [slow], { signal: controller.signal });
  assert.equal(result.status, "aborted");
  assert.equal(toolSignal?.aborted, true);
  assert.deepEqual(result.toolCalls, [{ name: "slow", arguments: {} }]);
});

test("an already aborted signal makes no model call", async () => {
  const controller = new AbortController();
  controller.abort();
  const { result, model } = await run([ANSWER], [echo], { signal: controller.signal });
  assert.equal(result.status, "aborted");
  assert.equal(model.calls.length, 0);
});

test("a model call past its timeout throws ModelCallError with the episode so far", async () => {
  const model = new ScriptedModel([ECHO_HI, { hang: true, partial: "Thought:" }]);
  const error = await runAgent({ model, tools: [echo], query: "q", modelTimeoutMs: 20 }).then(
    () => assert.fail("expected a ModelCallError"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ModelCallError);
  assert.equal(error.timedOut, true);
  assert.equal(error.step, 2);
  assert.equal(error.partial.trajectory.steps.length, 1);
  assert.match(error.message, /timed out after 20 ms \(reply 2\)/);
  assert.equal(model.calls[1].options.signal?.aborted, true);
});

test("a model that ignores its signal still times out", async () => {
  const model = new ScriptedModel([{ hang: true, ignoreSignal: true }]);
  await assert.rejects(runAgent({ model, tools: [echo], query: "q", modelTimeoutMs: 20 }), (e: unknown) => e instanceof ModelCallError && e.timedOut);
});

test("a model that throws ends the episode with ModelCallError carrying the cause", async () => {
  const cause = new Error("HTTP 500");
  const model = new ScriptedModel([{ error: cause }]);
  const error = await runAgent({ model, tools: [echo], query: "q" }).catch((e: unknown) => e);
  assert.ok(error instanceof ModelCallError);
  assert.equal(error.timedOut, false);
  assert.equal(error.cause, cause);
  assert.match(error.message, /HTTP 500/);
});

test("a tool call past its timeout is a recovered tool_error and the tool's signal fires", async () => {
  let toolSignal: AbortSignal | undefined;
  const hung = fakeTool("hung", (_args, context) => {
    toolSignal = context.signal;
    return new Promise(() => {});
  });
  const { result, events } = await run(['Action: {"name": "hung", "arguments": {}}', ANSWER], [hung], { toolTimeoutMs: 20 });
  assert.equal(result.status, "answered");
  assert.deepEqual(trace(events).slice(0, 2), ["action:1:hung", "error:1:tool_error:recovered"]);
  assert.deepEqual(result.failures, [{ kind: "tool_error", step: 1, message: "tool hung timed out after 20 ms" }]);
  assert.equal(toolSignal?.aborted, true);
});

test("streamAgent yields the same events and ends with done", async () => {
  const model = new ScriptedModel([ECHO_HI, ANSWER]);
  const events: AgentEvent[] = [];
  for await (const event of streamAgent({ model, tools: [echo], query: "Say hi." })) events.push(event);
  assert.deepEqual(trace(events), ["thought:1", "action:1:echo", "observation:1:echo", "thought:2", "answer:2", "done:answered"]);
  const done = events.at(-1);
  assert.ok(done?.type === "done");
  assert.equal(done.result.answer, "It said hi.");
});

test("a plain tool list checks arguments against the schema: invalid arguments are reported back", async () => {
  const { result, events, model } = await run(['Action: {"name": "echo", "arguments": {"txt": "hi"}}', ANSWER]);
  assert.equal(result.status, "answered");
  assert.deepEqual(trace(events).slice(0, 2), ["action:1:echo", "error:1:invalid_arguments:recovered"]);
  assert.match(model.calls[1].messages[3].content, /^Observation: \{"error": "invalid arguments for echo: text must have required property 'text'"\}$/);
});
