import assert from "node:assert/strict";
import { test } from "node:test";
import { buildSystemPrompt, toolSignature, typeText } from "../../src/react/prompt.js";
import type { ToolSpec } from "../../src/react/prompt.js";

const WEATHER: ToolSpec = {
  name: "get_weather",
  description: "Get the current weather\n  in a city.",
  parameters: {
    type: "object",
    properties: { unit: { type: "string", enum: ["celsius", "fahrenheit"] }, city: { type: "string" } },
    required: ["city"],
    additionalProperties: false,
  },
};
const SEARCH: ToolSpec = {
  name: "search_web",
  description: "Search the web.",
  parameters: { type: "object", properties: { query: { type: "string" }, max_results: { type: "integer", minimum: 1, maximum: 5 } }, required: ["query"] },
};

test("a tool's signature lists required arguments first and marks optional ones", () => {
  assert.equal(toolSignature(WEATHER), 'get_weather(city: string, unit?: "celsius" | "fahrenheit")');
  assert.equal(toolSignature(SEARCH), "search_web(query: string, max_results?: integer 1-5)");
  assert.equal(toolSignature({ name: "ping", description: "", parameters: { type: "object" } }), "ping()");
});

test("argument types are written compactly", () => {
  assert.equal(typeText({ type: "string", format: "email" }), "string email");
  assert.equal(typeText({ type: "array", items: { type: "number" } }), "number[]");
  assert.equal(typeText({ type: "object", properties: { a: { type: "boolean" } } }), "{a: boolean}");
  assert.equal(typeText({ type: "number", minimum: 0 }), "number >= 0");
  assert.equal(typeText({ type: ["string", "null"] }), "string | null");
  assert.equal(typeText(undefined), "any");
});

test("the system prompt lists the tools and states the format and the rules", () => {
  const prompt = buildSystemPrompt([WEATHER, SEARCH]);
  const lines = prompt.split("\n");
  assert.ok(lines.includes('- get_weather(city: string, unit?: "celsius" | "fahrenheit"): Get the current weather in a city.'));
  assert.ok(lines.includes("- search_web(query: string, max_results?: integer 1-5): Search the web."));
  assert.ok(lines.includes('Action: {"name": "<tool name>", "arguments": {<arguments as JSON>}}'));
  assert.ok(lines.includes("Answer: <your answer to the user>"));
  assert.match(prompt, /At most one Action per reply/);
  assert.match(prompt, /double quotes/);
  assert.match(prompt, /Use only the tools listed above/);
  assert.match(prompt, /no Action/);
  assert.match(prompt, /not in the list, say so/);
});

test("the system prompt is a pure function of the tools and options", () => {
  assert.equal(buildSystemPrompt([WEATHER, SEARCH]), buildSystemPrompt([structuredClone(WEATHER), structuredClone(SEARCH)]));
  assert.notEqual(buildSystemPrompt([WEATHER]), buildSystemPrompt([SEARCH]));
  const custom = buildSystemPrompt([WEATHER], { intro: "You are Ada.", extraRules: ["Answer in French."] });
  assert.ok(custom.startsWith("You are Ada.\n"));
  assert.ok(custom.endsWith("\n- Answer in French."));
});

test("with no tools the prompt says none are available", () => {
  const prompt = buildSystemPrompt([]);
  assert.match(prompt, /^Tools: none are available\.$/m);
});
