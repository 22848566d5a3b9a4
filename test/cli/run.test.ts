import assert from "node:assert/strict";
import { test } from "node:test";
import type { ChatMessage, ChatModel } from "../../src/agent/chat-model.js";
import { ScriptedModel, type ScriptedTurn } from "../../src/agent/scripted-model.js";
import { toAgentTools } from "../../src/agent/tools.js";
import { formatHelp } from "../../src/cli/command.js";
import { runCli } from "../../src/cli/main.js";
import { createRunCommand, type RunModelRequest } from "../../src/cli/run.js";
import type { ToolDefinition } from "../../src/tools/types.js";

const QUERY = "What's the weather in Tokyo? If it's cold, recommend a ramen place.";

const TOOLS: ToolDefinition[] = [
  {
    name: "get_weather",
    description: "Get the current weather in a city.",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false },
    execute: (args) => ({ city: String(args.city), temperature: 8, condition: "cloudy" }),
  },
  {
    name: "search_restaurant",
    description: "Find the top restaurant in a location.",
    parameters: { type: "object", properties: { location: { type: "string" }, cuisine: { type: "string" } }, required: ["location"], additionalProperties: false },
    execute: () => ({ name: "Ichiran Ramen", rating: 4.6 }),
  },
];

const WEATHER = 'Thought: I need to check the weather in Tokyo first.\nAction: {"name": "get_weather", "arguments": {"city": "Tokyo"}}';
const RAMEN = 'Thought: 8°C is cold. I should recommend a ramen restaurant.\nAction: {"name": "search_restaurant", "arguments": {"location": "Tokyo", "cuisine": "ramen"}}';
const ANSWER = "Thought: I have all the information.\nAnswer: Tokyo is 8°C and cloudy. I recommend Ichiran Ramen (rated 4.6)!";

/** A run command over a scripted model and TOOLS, recording what it was asked and printed. */
function harness(script: ScriptedTurn[] | ((messages: ChatMessage[], call: number, stdout: string) => ScriptedTurn)) {
  const out: string[] = [];
  const err: string[] = [];
  const requests: RunModelRequest[] = [];
  const toolRequests: { files: string[]; mcp: string[] }[] = [];
  const state = { disposed: false, closed: false, cancel: undefined as (() => void) | undefined, listening: false };
  const model = new ScriptedModel({ script: typeof script === "function" ? (m, call) => script(m, call, out.join("")) : script });
  const withDispose: ChatModel = Object.assign(model, {
    dispose: async () => {
      state.disposed = true;
    },
  });
  const command = createRunCommand({
    loadModel: async (request) => {
      requests.push(request);
      return withDispose;
    },
    openTools: async (options) => {
      toolRequests.push(options);
      return {
        tools: toAgentTools(TOOLS),
        close: async () => {
          state.closed = true;
        },
      };
    },
    onInterrupt: (cancel) => {
      state.cancel = cancel;
      state.listening = true;
      return () => {
        state.listening = false;
      };
    },
  });
  const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t), interactive: false };
  const run = (...argv: string[]) => runCli(["run", ...argv], io, [command]);
  return { run, out, err, requests, toolRequests, model, state, command };
}

test("each step is printed as it happens, and an Answer exits 0", async () => {
  const seen: string[] = [];
  const h = harness((_messages, call, stdout) => {
    seen.push(stdout);
    return [WEATHER, RAMEN, ANSWER][call] as string;
  });
  const code = await h.run(QUERY, "--model", "smollm2-135m-instruct");
  assert.equal(code, 0, h.err.join(""));
  assert.equal(
    h.out.join(""),
    [
      "Thought: I need to check the weather in Tokyo first.",
      'Action: {"name": "get_weather", "arguments": {"city": "Tokyo"}}',
      'Observation: {"city": "Tokyo", "temperature": 8, "condition": "cloudy"}',
      "Thought: 8°C is cold. I should recommend a ramen restaurant.",
      'Action: {"name": "search_restaurant", "arguments": {"location": "Tokyo", "cuisine": "ramen"}}',
      'Observation: {"name": "Ichiran Ramen", "rating": 4.6}',
      "Thought: I have all the information.",
      "Answer: Tokyo is 8°C and cloudy. I recommend Ichiran Ramen (rated 4.6)!",
      "",
    ].join("\n"),
  );
  // Live: when the model is asked for reply 2, step 1 (with its Observation) is already printed.
  assert.equal(seen[0], "");
  assert.match(seen[1] as string, /Observation: \{"city": "Tokyo".*\}\n$/);
  assert.match(seen[2] as string, /Observation: \{"name": "Ichiran Ramen".*\}\n$/);
  assert.match(h.err.join(""), /^loading smollm2-135m-instruct…\nanswered in 3 steps \(\d+\.\d s\)\n$/);
  assert.deepEqual(h.requests, [{ model: "smollm2-135m-instruct", device: "cpu", ...(process.env.OPENAI_API_KEY ? { apiKey: process.env.OPENAI_API_KEY } : {}) }]);
  assert.ok(h.state.disposed && h.state.closed && !h.state.listening, "the model, the tools and the Ctrl-C handler are released");
});

test("--json prints one event a line, ending with done", async () => {
  const h = harness([WEATHER, ANSWER]);
  assert.equal(await h.run(QUERY, "--model", "m.gguf", "--json"), 0);
  const events = h.out.join("").trimEnd().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(
    events.map((e) => e.type),
    ["thought", "action", "observation", "thought", "answer", "done"],
  );
  assert.deepEqual(events[1], { type: "action", step: 1, call: { name: "get_weather", arguments: { city: "Tokyo" } } });
  const done = events.at(-1);
  assert.equal(done.status, "answered");
  assert.equal(done.answer, "Tokyo is 8°C and cloudy. I recommend Ichiran Ramen (rated 4.6)!");
  assert.equal(done.steps, 2);
  assert.equal(done.messages, undefined, "the prompt is left out");
});

test("a reply with neither Action nor Answer prints the failure after the reply, and exits 1", async () => {
  const h = harness(["Tokyo is usually nice."]);
  assert.equal(await h.run(QUERY, "--model", "m.gguf"), 1);
  assert.equal(h.out.join(""), "Thought: Tokyo is usually nice.\nError (no_answer): the reply has neither an Action nor an Answer\n");
  assert.match(h.err.join(""), /ended without an answer: no_answer after 1 step/);
});

test("a malformed Action is shown as written and goes back to the model", async () => {
  const h = harness(["Thought: weather first.\nAction: get_weather(city=Tokyo)", ANSWER]);
  assert.equal(await h.run(QUERY, "--model", "m.gguf"), 0);
  const lines = h.out.join("").split("\n");
  assert.equal(lines[0], "Thought: weather first.");
  assert.match(lines[1] as string, /^Error \(malformed_action\): .+ — sent back to the model as the Observation$/);
  assert.equal(lines[2], "  | Action: get_weather(city=Tokyo)");
  assert.equal(lines[3], "Thought: I have all the information.");
});

test("a recovered failure says it went back to the model; the step limit exits 1", async () => {
  const h = harness(['Thought: check.\nAction: {"name": "get_weather", "arguments": {"town": "Tokyo"}}', WEATHER]);
  assert.equal(await h.run(QUERY, "--model", "m.gguf", "--max-steps", "2"), 1);
  const stdout = h.out.join("");
  assert.match(stdout, /^Error \(invalid_arguments\): invalid arguments for get_weather: .* — sent back to the model as the Observation$/m);
  assert.match(stdout, /^Observation: \{"city": "Tokyo"/m);
  assert.match(stdout, /^Error \(step_limit\): no Answer after 2 model replies$/m);
  assert.match(h.err.join(""), /ended without an answer: step_limit after 2 steps/);
});

test("the flags reach the model request and the generation settings; reference spellings work", async () => {
  const h = harness([ANSWER]);
  const code = await h.run(
    "What", "is", "it?", "--model_id", "runs/base", "--adapter_path", "runs/adapter", "--engine", "own",
    "--max_new_tokens", "64", "--temperature", "0.7", "--seed", "3", "--tools", "a.json", "--tools", "b.mjs",
  );
  assert.equal(code, 0, h.err.join(""));
  assert.equal(h.requests[0]?.model, "runs/base");
  assert.equal(h.requests[0]?.adapter, "runs/adapter");
  assert.equal(h.requests[0]?.engine, "own");
  assert.deepEqual(h.toolRequests, [{ files: ["a.json", "b.mjs"], mcp: [] }]);
  const call = h.model.calls[0];
  assert.equal(call?.messages[1]?.content, "What is it?");
  assert.equal(call?.options.maxTokens, 64);
  assert.equal(call?.options.temperature, 0.7);
  assert.equal(call?.options.seed, 3);
  assert.deepEqual(call?.options.stop, ["\nObservation:"]);
});

test("Ctrl-C cancels the run in flight and exits 130", async () => {
  const h = harness([{ hang: true, partial: "Thought: let me" }]);
  const running = h.run(QUERY, "--model", "m.gguf");
  while (h.model.calls.length === 0) await new Promise((r) => setImmediate(r));
  h.state.cancel?.();
  assert.equal(await running, 130);
  assert.match(h.err.join(""), /cancelling…\ncancelled after 0 steps\n$/);
  assert.ok(h.state.disposed && h.state.closed);
});

test("bad flags are usage errors with a clear message", async () => {
  const cases: [string[], RegExp][] = [
    [["--model", "m.gguf"], /needs a question/],
    [[QUERY], /needs --model/],
    [[QUERY, "--model", "m.gguf", "--engine", "vllm"], /--engine must be one of llama, openai, own, got "vllm"/],
    [[QUERY, "--model", "m.gguf", "--max-steps", "0"], /--max-steps must be a whole number of at least 1, got 0/],
    [[QUERY, "--model", "m.gguf", "--max-tokens", "many"], /--max-tokens takes a number, got "many"/],
    [[QUERY, "--model", "m.gguf", "--temperature=-1"], /--temperature must be 0 or more/],
    [[QUERY, "--model", "m.gguf", "--stream"], /Unknown option '--stream'/],
  ];
  for (const [argv, message] of cases) {
    const h = harness([ANSWER]);
    assert.equal(await h.run(...argv), 2, argv.join(" "));
    assert.match(h.err.join(""), message);
    assert.equal(h.requests.length, 0, "no model is loaded");
  }
});

test("--help documents the exit codes and the output", () => {
  const help = formatHelp(harness([]).command);
  assert.match(help, /Usage: agenttune run "<query>" \[flags\]/);
  assert.match(help, /Exit code: 0 when the run ends in an Answer, 1 when it ends without one/);
  assert.match(help, /--model_id/);
  assert.match(help, /--adapter_path/);
  assert.match(help, /--json/);
});
