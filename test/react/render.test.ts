import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalJson, formatJson } from "../../src/react/json.js";
import {
  REACT_STOP,
  renderAction,
  renderFunctionCallMessages,
  renderMessages,
  renderObservation,
  renderReply,
  renderTrajectoryText,
} from "../../src/react/render.js";
import type { Trajectory } from "../../src/react/types.js";

const TOKYO: Trajectory = {
  query: "What's the weather in Tokyo? If it's cold, recommend a ramen place.",
  steps: [
    {
      kind: "action",
      thought: "I need to check the weather in Tokyo first.",
      action: { name: "get_weather", arguments: { city: "Tokyo" } },
      observation: { temperature: 8, condition: "cloudy" },
    },
    {
      kind: "action",
      thought: "8°C is cold. I should recommend a ramen restaurant.",
      action: { name: "search_restaurant", arguments: { location: "Tokyo", cuisine: "ramen" } },
      observation: { name: "Ichiran Ramen", rating: 4.6 },
    },
    {
      kind: "answer",
      thought: "I have all the information.",
      answer: "Tokyo is 8°C and cloudy. I recommend Ichiran Ramen (rated 4.6)!",
    },
  ],
};

// The trajectory of SPECS §1, character for character.
const SPECS_TEXT = `Thought: I need to check the weather in Tokyo first.
Action: {"name": "get_weather", "arguments": {"city": "Tokyo"}}
Observation: {"temperature": 8, "condition": "cloudy"}
Thought: 8°C is cold. I should recommend a ramen restaurant.
Action: {"name": "search_restaurant", "arguments": {"location": "Tokyo", "cuisine": "ramen"}}
Observation: {"name": "Ichiran Ramen", "rating": 4.6}
Thought: I have all the information.
Answer: Tokyo is 8°C and cloudy. I recommend Ichiran Ramen (rated 4.6)!`;

test("the SPECS trajectory renders to the SPECS text exactly", () => {
  assert.equal(renderTrajectoryText(TOKYO), SPECS_TEXT);
});

test("JSON is written on one line with a space after colons and commas", () => {
  assert.equal(formatJson({ a: [1, 2, { b: null }], c: "x\"y", d: true, e: {} }), '{"a": [1, 2, {"b": null}], "c": "x\\"y", "d": true, "e": {}}');
  assert.equal(formatJson([]), "[]");
  assert.equal(formatJson("日本"), '"日本"');
  assert.equal(formatJson(Number.NaN), "null");
});

test("canonical JSON ignores key order", () => {
  assert.equal(canonicalJson({ b: 1, a: { d: 2, c: 3 } }), canonicalJson({ a: { c: 3, d: 2 }, b: 1 }));
  assert.notEqual(canonicalJson({ a: 1 }), canonicalJson({ a: "1" }));
});

test("an Action puts name before arguments whatever the object's key order", () => {
  const call = JSON.parse('{"arguments": {"city": "Oslo"}, "name": "get_weather"}');
  assert.equal(renderAction(call), '{"name": "get_weather", "arguments": {"city": "Oslo"}}');
});

test("a reply with an empty thought has no Thought line", () => {
  assert.equal(renderReply({ kind: "answer", thought: "", answer: "Hi." }), "Answer: Hi.");
  assert.equal(renderObservation({ error: "boom" }), 'Observation: {"error": "boom"}');
});

test("chat messages follow the decided mapping", () => {
  const messages = renderMessages(TOKYO, { systemPrompt: "SYS" });
  assert.deepEqual(
    messages.map((m) => m.role),
    ["system", "user", "assistant", "user", "assistant", "user", "assistant"],
  );
  assert.equal(messages[0].content, "SYS");
  assert.equal(messages[1].content, TOKYO.query);
  assert.equal(messages[2].content, 'Thought: I need to check the weather in Tokyo first.\nAction: {"name": "get_weather", "arguments": {"city": "Tokyo"}}');
  assert.equal(messages[3].content, 'Observation: {"temperature": 8, "condition": "cloudy"}');
  assert.equal(messages[6].content, "Thought: I have all the information.\nAnswer: Tokyo is 8°C and cloudy. I recommend Ichiran Ramen (rated 4.6)!");
  // The concatenation of the assistant and observation turns is the trajectory text.
  assert.equal(messages.slice(2).map((m) => m.content).join("\n"), SPECS_TEXT);
  assert.equal(renderMessages(TOKYO)[0].role, "user");
});

test("the single-turn function-call format is one JSON call as the assistant's content", () => {
  const messages = renderFunctionCallMessages("Weather in Paris?", { name: "get_weather", arguments: { city: "Paris" } });
  assert.deepEqual(messages, [
    { role: "user", content: "Weather in Paris?" },
    { role: "assistant", content: '{"name": "get_weather", "arguments": {"city": "Paris"}}' },
  ]);
});

test("generation stops at a new Observation line", () => {
  assert.deepEqual(REACT_STOP, ["\nObservation:"]);
});
