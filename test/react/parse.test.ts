import assert from "node:assert/strict";
import { test } from "node:test";
import { parseFunctionCall, parseMessages, parseReply, parseTrajectoryText } from "../../src/react/parse.js";

const WEATHER = { name: "get_weather", arguments: { city: "Tokyo" } };

function action(raw: string, options = {}) {
  const r = parseReply(raw, options);
  assert.equal(r.ok, true, `expected an action, got ${JSON.stringify(r)}`);
  assert.ok(r.ok && r.kind === "action");
  return r;
}

function failure(raw: string, options = {}) {
  const r = parseReply(raw, options);
  assert.equal(r.ok, false, `expected a failure, got ${JSON.stringify(r)}`);
  assert.ok(!r.ok);
  assert.equal(r.raw, raw);
  return r;
}

test("a well-formed Action parses to its thought and call", () => {
  const r = action('Thought: I need the weather.\nAction: {"name": "get_weather", "arguments": {"city": "Tokyo"}}');
  assert.equal(r.thought, "I need the weather.");
  assert.deepEqual(r.action, WEATHER);
  assert.equal(r.aliased, false);
});

test("extra whitespace and blank lines are ignored", () => {
  const r = action('\n\n   Thought:    I need the weather.   \n\n  Action:   \n  {"name":"get_weather","arguments":{"city":"Tokyo"}}   \n\n');
  assert.equal(r.thought, "I need the weather.");
  assert.deepEqual(r.action, WEATHER);
});

test("a reply without Thought: uses the text before the Action as the thought", () => {
  const r = action('Let me look it up.\nAction: {"name": "get_weather", "arguments": {"city": "Tokyo"}}');
  assert.equal(r.thought, "Let me look it up.");
  assert.equal(action('Action: {"name": "get_weather", "arguments": {"city": "Tokyo"}}').thought, "");
});

test("a JSON Action inside a code fence parses", () => {
  const r = action('Thought: t\nAction:\n```json\n{"name": "get_weather", "arguments": {"city": "Tokyo"}}\n```');
  assert.deepEqual(r.action, WEATHER);
  assert.deepEqual(action('Action: `{"name": "get_weather", "arguments": {"city": "Tokyo"}}`').action, WEATHER);
});

test("an Action with trailing prose still parses", () => {
  const r = action('Thought: t\nAction: {"name": "get_weather", "arguments": {"city": "Tokyo"}} I will wait for the result.');
  assert.deepEqual(r.action, WEATHER);
});

test("braces and escaped quotes inside strings do not end the JSON object", () => {
  const r = action('Action: {"name": "search_web", "arguments": {"query": "a } b \\" { c"}} trailing }');
  assert.deepEqual(r.action, { name: "search_web", arguments: { query: 'a } b " { c' } });
});

test("a pretty-printed Action over several lines parses", () => {
  const r = action('Thought: t\nAction: {\n  "name": "get_weather",\n  "arguments": {\n    "city": "Tokyo"\n  }\n}');
  assert.deepEqual(r.action, WEATHER);
});

test("a hallucinated Observation after the Action is cut off", () => {
  const r = action('Thought: t\nAction: {"name": "get_weather", "arguments": {"city": "Tokyo"}}\nObservation: {"temperature": 30}\nThought: hot\nAnswer: It is hot.');
  assert.deepEqual(r.action, WEATHER);
});

test("an Answer written after a hallucinated Observation is not read as the answer", () => {
  const r = failure("Thought: I know.\nObservation: {\"x\": 1}\nAnswer: 42");
  assert.equal(r.kind, "no_answer");
  assert.equal(r.thought, "I know.");
});

test("when a reply has both an Action and an Answer, the first one wins", () => {
  const first = action('Thought: t\nAction: {"name": "get_weather", "arguments": {"city": "Tokyo"}}\nAnswer: It is sunny.');
  assert.deepEqual(first.action, WEATHER);
  const r = parseReply('Thought: t\nAnswer: It is sunny.\nAction: {"name": "get_weather", "arguments": {"city": "Tokyo"}}');
  assert.ok(r.ok && r.kind === "answer");
  assert.equal(r.answer, "It is sunny.");
});

test("only the first of two Actions is taken", () => {
  const r = action('Action: {"name": "a", "arguments": {}}\nAction: {"name": "b", "arguments": {}}');
  assert.equal(r.action.name, "a");
});

test("the aliases tool/args and name/parameters are accepted and flagged", () => {
  const a = action('Action: {"tool": "get_weather", "args": {"city": "Tokyo"}}');
  assert.deepEqual(a.action, WEATHER);
  assert.equal(a.aliased, true);
  const b = action('Action: {"name": "get_weather", "parameters": {"city": "Tokyo"}}');
  assert.deepEqual(b.action, WEATHER);
  assert.equal(b.aliased, true);
});

test("strict parsing rejects aliases and extra keys as malformed actions", () => {
  assert.equal(failure('Action: {"tool": "get_weather", "args": {"city": "Tokyo"}}', { strict: true }).kind, "malformed_action");
  assert.equal(failure('Action: {"name": "get_weather", "parameters": {}}', { strict: true }).kind, "malformed_action");
  const extra = failure('Action: {"name": "get_weather", "arguments": {}, "id": 3}', { strict: true });
  assert.match(extra.message, /unexpected keys: id/);
  // Not strict: the extra key is ignored.
  assert.deepEqual(action('Action: {"name": "get_weather", "arguments": {}, "id": 3}').action, { name: "get_weather", arguments: {} });
});

test("an Answer may span several lines", () => {
  const r = parseReply("Thought: Done.\nAnswer: Here is the plan:\n1. Pack.\n2. Go.\n");
  assert.ok(r.ok && r.kind === "answer");
  assert.equal(r.answer, "Here is the plan:\n1. Pack.\n2. Go.");
  assert.equal(r.thought, "Done.");
});

test("Final Answer:, lower-case keywords, markdown bold and one-line replies are understood", () => {
  const a = parseReply("Thought: easy\nFinal Answer: Paris");
  assert.ok(a.ok && a.kind === "answer" && a.answer === "Paris");
  const b = parseReply('thought: x\naction: {"name": "get_weather", "arguments": {"city": "Tokyo"}}');
  assert.ok(b.ok && b.kind === "action" && b.thought === "x");
  const c = parseReply('**Thought:** x\n**Action:** {"name": "get_weather", "arguments": {"city": "Tokyo"}}');
  assert.ok(c.ok && c.kind === "action" && c.thought === "x");
  const d = parseReply("Thought: I know this. Answer: Paris is the capital.");
  assert.ok(d.ok && d.kind === "answer" && d.thought === "I know this." && d.answer === "Paris is the capital.");
});

test("a keyword in the middle of prose is not a keyword", () => {
  const r = parseReply("Thought: My next Action: check the weather. The Answer: depends on it.\nAnswer: ok");
  assert.ok(r.ok && r.kind === "answer");
  assert.equal(r.thought, "My next Action: check the weather. The Answer: depends on it.");
  const inline = parseReply('Thought: I will look it up Action: {"name": "get_weather", "arguments": {"city": "Tokyo"}}');
  assert.ok(inline.ok && inline.kind === "action" && inline.thought === "I will look it up");
});

test("a thought over several lines is kept whole", () => {
  const r = parseReply("Thought: First line.\n  Second line.\n\nThird.\nAnswer: ok");
  assert.ok(r.ok && r.kind === "answer");
  assert.equal(r.thought, "First line.\n  Second line.\n\nThird.");
});

test("CRLF line endings parse like LF", () => {
  const r = action('Thought: t\r\nAction: {"name": "get_weather", "arguments": {"city": "Tokyo"}}\r\n');
  assert.deepEqual(r.action, WEATHER);
});

test("a keyword inside a word is not a keyword", () => {
  const r = parseReply("Thought: The reaction: strong. The transaction: done.\nAnswer: ok");
  assert.ok(r.ok && r.kind === "answer");
  assert.equal(r.thought, "The reaction: strong. The transaction: done.");
});

// Failure kinds

test("an Action that is not JSON is a malformed action", () => {
  const r = failure("Thought: t\nAction: get_weather(city=Tokyo)");
  assert.equal(r.kind, "malformed_action");
  assert.match(r.message, /one JSON object/);
  assert.equal(r.thought, "t");
});

test("an Action with single quotes is a malformed action", () => {
  const r = failure("Action: {'name': 'get_weather', 'arguments': {'city': 'Tokyo'}}");
  assert.equal(r.kind, "malformed_action");
  assert.match(r.message, /not valid JSON/);
});

test("a truncated Action is a malformed action", () => {
  const r = failure('Thought: t\nAction: {"name": "get_weather", "arguments": {"city": "Tok');
  assert.equal(r.kind, "malformed_action");
  assert.match(r.message, /not closed/);
});

test("an empty Action is a malformed action", () => {
  assert.equal(failure("Thought: t\nAction:").kind, "malformed_action");
  assert.equal(failure("Thought: t\nAction:   \n").kind, "malformed_action");
});

test("an Action of the wrong shape is a malformed action", () => {
  const cases: [string, RegExp][] = [
    ['Action: [{"name": "get_weather", "arguments": {}}]', /one JSON object/],
    ['Action: {"arguments": {"city": "Tokyo"}}', /no "name"/],
    ['Action: {"name": 3, "arguments": {}}', /"name" must be a non-empty string/],
    ['Action: {"name": "  ", "arguments": {}}', /"name" must be a non-empty string/],
    ['Action: {"name": "get_weather"}', /no "arguments"/],
    ['Action: {"name": "get_weather", "arguments": "{\\"city\\": \\"Tokyo\\"}"}', /must be a JSON object, got a string/],
    ['Action: {"name": "get_weather", "arguments": ["Tokyo"]}', /got an array/],
    ['Action: {"name": "get_weather", "arguments": null}', /got null/],
  ];
  for (const [raw, message] of cases) {
    const r = failure(raw);
    assert.equal(r.kind, "malformed_action", raw);
    assert.match(r.message, message, raw);
  }
});

test("a reply with neither an Action nor an Answer is no_answer", () => {
  for (const raw of ["Thought: I am thinking.", "", "   ", "The weather is nice.", "Observation: {}", "Thought: x\nAnswer:   "]) {
    const r = failure(raw);
    assert.equal(r.kind, "no_answer", JSON.stringify(raw));
  }
  assert.equal(failure("Thought: I am thinking.").thought, "I am thinking.");
});

test("a value that is not a string is a typed failure, not an exception", () => {
  const r = parseReply(undefined as unknown as string);
  assert.ok(!r.ok && r.kind === "no_answer");
});

// Single-turn function calls

test("a single-turn function call parses, fenced or bare", () => {
  assert.deepEqual(parseFunctionCall('{"name": "get_weather", "arguments": {"city": "Tokyo"}}'), { ok: true, call: WEATHER, aliased: false });
  const fenced = parseFunctionCall('```json\n{"name": "get_weather", "arguments": {"city": "Tokyo"}}\n```');
  assert.ok(fenced.ok);
  assert.deepEqual(fenced.call, WEATHER);
});

test("a single-turn reply that is prose is no_answer, broken JSON malformed_action", () => {
  const prose = parseFunctionCall("It is sunny in Tokyo.");
  assert.ok(!prose.ok && prose.kind === "no_answer");
  const broken = parseFunctionCall('{"name": "get_weather", "arguments": {');
  assert.ok(!broken.ok && broken.kind === "malformed_action");
  const trailing = parseFunctionCall('{"name": "a", "arguments": {}} and more', { strict: true });
  assert.ok(!trailing.ok && trailing.kind === "malformed_action");
  assert.ok(parseFunctionCall('{"name": "a", "arguments": {}} and more').ok);
});

// Whole trajectories

test("a trajectory with an Action but no Observation is reported at its step", () => {
  const r = parseTrajectoryText('Thought: a\nAction: {"name": "x", "arguments": {}}\nObservation: {"v": 1}\nThought: b\nAction: {"name": "y", "arguments": {}}');
  assert.deepEqual(r, { ok: false, kind: "missing_observation", step: 2, message: "the Action is not followed by an Observation" });
});

test("a trajectory with a broken Observation or text after the Answer is rejected", () => {
  const broken = parseTrajectoryText('Action: {"name": "x", "arguments": {}}\nObservation: {"v": \nAnswer: ok');
  assert.ok(!broken.ok && broken.kind === "malformed_observation" && broken.step === 1);
  const trailing = parseTrajectoryText("Answer: ok\nThought: more");
  assert.ok(!trailing.ok && trailing.kind === "trailing_text");
  const malformed = parseTrajectoryText('Action: {"name": "x", "arguments": {}}\nObservation: 1\nAction: nope');
  assert.ok(!malformed.ok && malformed.kind === "malformed_action" && malformed.step === 2);
  assert.ok(!parseTrajectoryText("").ok);
});

test("a trajectory whose Observation is a bare scalar parses", () => {
  const r = parseTrajectoryText('Action: {"name": "x", "arguments": {}}\nObservation: 3.5\nAnswer: 3.5');
  assert.ok(r.ok);
  assert.deepEqual(r.steps[0], { kind: "action", thought: "", action: { name: "x", arguments: {} }, observation: 3.5 });
});

test("chat messages parse back into the trajectory, tool-role observations included", () => {
  const r = parseMessages([
    { role: "system", content: "S" },
    { role: "user", content: "Q?" },
    { role: "assistant", content: 'Thought: t\nAction: {"name": "x", "arguments": {"a": 1}}' },
    { role: "tool", content: '{"v": 2}' },
    { role: "assistant", content: "Answer: 2" },
  ]);
  assert.ok(r.ok);
  assert.equal(r.systemPrompt, "S");
  assert.deepEqual(r.trajectory, {
    query: "Q?",
    steps: [
      { kind: "action", thought: "t", action: { name: "x", arguments: { a: 1 } }, observation: { v: 2 } },
      { kind: "answer", thought: "", answer: "2" },
    ],
  });
  const missing = parseMessages([
    { role: "user", content: "Q?" },
    { role: "assistant", content: 'Action: {"name": "x", "arguments": {}}' },
    { role: "user", content: "thanks" },
  ]);
  assert.ok(!missing.ok && missing.kind === "missing_observation");
});
