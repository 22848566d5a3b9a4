import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ChatMessage, ChatModel, GenerateOptions, GenerateResult } from "../../src/agent/chat-model.js";
import { validateTrainingExample } from "../../src/data/schema.js";
import { isConsistent, splitSynthResponse, synthesize } from "../../src/data/synth.js";
import { formatJson } from "../../src/react/json.js";
import { fakeTools } from "./fake-tools.js";

const tools = fakeTools();

/** A model that answers each request with the next writer in its list; writers see the simulator seed. */
class FakeWriter implements ChatModel {
  readonly id = "fake-writer";
  calls = 0;
  constructor(private readonly writers: ((seed: number) => Promise<string> | string)[]) {}
  async generate(_messages: ChatMessage[], options: GenerateOptions = {}): Promise<GenerateResult> {
    const writer = this.writers[this.calls++ % this.writers.length];
    return { text: await writer(options.seed ?? 0), finishReason: "stop" };
  }
  async *stream(messages: ChatMessage[], options?: GenerateOptions): AsyncIterable<string> {
    yield (await this.generate(messages, options)).text;
  }
}

const obs = async (name: string, args: Record<string, string | number>, seed: number) => formatJson(await tools.execute({ name, arguments: args }, { seed }));

/** A correct response: its Observation is the one the simulator gives for the seed. */
const good = async (seed: number) => {
  const o = JSON.parse(await obs("get_weather", { city: "Lisbon" }, seed));
  return `Query: What's the weather in Lisbon?
Thought: I need the weather in Lisbon.
Action: {"name": "get_weather", "arguments": {"city": "Lisbon"}}
Observation: ${formatJson(o)}
Thought: I have it.
Answer: It's ${o.temperature}°C and ${o.condition} in Lisbon.`;
};
/** Invented observation, but nothing from it is quoted: re-grounded and kept. */
const regroundable = () => `\`\`\`
Query: Email bob@example.com that the report is done.
Thought: I'll send the email.
Action: {"name": "send_email", "arguments": {"to": "bob@example.com", "subject": "Report", "body": "The report is done."}}
Observation: {"status": "sent", "message_id": "msg_made_up", "to": "bob@example.com"}
Thought: Sent.
Answer: I emailed bob@example.com that the report is done.
\`\`\``;
/** Invented temperature quoted in the answer: inconsistent after re-grounding. */
const wrongObservation = () => `Query: How warm is it in Oslo?
Thought: I need the weather in Oslo.
Action: {"name": "get_weather", "arguments": {"city": "Oslo"}}
Observation: {"city": "Oslo", "temperature": 1234, "unit": "celsius", "condition": "sunny", "humidity": 40}
Thought: I have it.
Answer: It's 1234°C in Oslo.`;
const hallucinatedTool = () => `Query: Book a flight to Rome.
Thought: I'll book it.
Action: {"name": "book_flight", "arguments": {"to": "Rome"}}
Observation: {"status": "booked"}
Thought: Done.
Answer: Your flight is booked.`;
const badArguments = () => `Query: Weather in Rome?
Thought: Check it.
Action: {"name": "get_weather", "arguments": {"town": "Rome"}}
Observation: {"temperature": 20}
Thought: Done.
Answer: It is 20 degrees.`;
const malformed = () => "Sure! Here is an example: the user asks about weather and I call a tool.";
const noAnswer = () => `Query: Weather in Rome?
Thought: Check it.
Action: {"name": "get_weather", "arguments": {"city": "Rome"}}`;
const abstain = () => `Query: What is the capital of Peru?
Thought: No tool is needed.
Answer: The capital of Peru is Lima.`;
const failing = () => Promise.reject(new Error("server said 500"));

describe("synthesize", () => {
  it("keeps verified examples and counts every drop by reason", async () => {
    const model = new FakeWriter([good, regroundable, wrongObservation, hallucinatedTool, badArguments, malformed, noAnswer, abstain, good, failing]);
    const result = await synthesize({ model, n: 100, maxAttempts: 10, concurrency: 1, tools, seed: 5 });
    assert.equal(result.attempts, 10);
    assert.deepEqual(result.dropped, {
      model_error: 1,
      unparsable: 1,
      no_answer: 1,
      unknown_tool: 1,
      invalid_arguments: 1,
      tool_error: 0,
      too_many_calls: 0,
      inconsistent: 1,
      duplicate: 1,
    });
    assert.deepEqual(
      result.examples.map((e) => e.query),
      ["What's the weather in Lisbon?", "Email bob@example.com that the report is done.", "What is the capital of Peru?"],
    );
    for (const e of result.examples) assert.deepEqual(validateTrainingExample(e), []);
    const [weather, email, capital] = result.examples;
    assert.deepEqual(weather.expected_tools, ["get_weather"]);
    assert.equal((weather as { regrounded?: boolean }).regrounded, false);
    assert.equal((email as { regrounded?: boolean }).regrounded, true);
    const replayed = email.steps?.[0].kind === "action" ? email.steps[0].observation : undefined;
    assert.deepEqual(replayed, await tools.execute(email.steps?.[0].kind === "action" ? email.steps[0].action : { name: "", arguments: {} }, { seed: email.seed ?? -1 }));
    assert.equal(capital.category, "abstention");
    assert.deepEqual(capital.expected_tools, []);
  });

  it("stops at n kept examples and is deterministic by seed", async () => {
    const run = () => synthesize({ model: new FakeWriter([good, good, abstain]), n: 2, tools, seed: 9, concurrency: 3 });
    const a = await run();
    const b = await run();
    assert.equal(a.examples.length, 2);
    assert.deepEqual(a.examples, b.examples);
  });

  it("a model given by name needs a base URL", async () => {
    await assert.rejects(synthesize({ model: "qwen", n: 1, tools }), /baseURL/);
  });
});

describe("re-grounding checks", () => {
  it("finds the query on its own line, inside a code fence", () => {
    assert.deepEqual(splitSynthResponse("```text\nQuery: Hi there\nThought: x\nAnswer: y\n```"), { query: "Hi there", trajectory: "\nThought: x\nAnswer: y\n" });
    assert.equal(splitSynthResponse("Thought: x\nAnswer: y"), undefined);
  });

  it("rejects an invented name that the replayed observation does not have", () => {
    const steps = [
      { kind: "action" as const, thought: "Search.", action: { name: "search_restaurant", arguments: { location: "Rome" } }, observation: { name: "Blue Pasta House", rating: 4.1 } },
      { kind: "answer" as const, thought: "Done.", answer: "Try Trattoria Made Up." },
    ];
    assert.equal(isConsistent("Find food in Rome", steps, [{ name: "Trattoria Made Up", rating: 4.1 }]), false);
    assert.equal(isConsistent("Find food in Rome", [steps[0], { kind: "answer", thought: "Done.", answer: "Try Blue Pasta House (4.1)." }], [{ name: "Trattoria Made Up", rating: 4.1 }]), true);
  });
});
