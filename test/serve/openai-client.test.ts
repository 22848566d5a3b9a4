import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import type { ChatCompletionMessageParam, ChatCompletionTool } from "openai/resources/chat/completions";
import { type AgentServer, createServer } from "../../src/serve/server.js";
import { TOKYO_QUERY, tokyoModel } from "./helpers.js";

const TOOLS: ChatCompletionTool[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Current weather for a city.",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
  {
    type: "function",
    function: {
      name: "search_restaurant",
      description: "Find a restaurant by location and cuisine.",
      parameters: { type: "object", properties: { location: { type: "string" }, cuisine: { type: "string" } } },
    },
  },
];

describe("the official openai client against the server", () => {
  let server: AgentServer;
  let client: OpenAI;
  before(async () => {
    server = createServer({ model: tokyoModel(), modelName: "smollm2-test", apiKey: "test-key" });
    client = new OpenAI({ baseURL: `${await server.listen(0)}/v1`, apiKey: "test-key", maxRetries: 0 });
  });
  after(() => server.close(100));

  test("models.list names the served model", async () => {
    const page = await client.models.list();
    assert.deepEqual(
      page.data.map((m) => m.id),
      ["smollm2-test"],
    );
  });

  test("a chat completion returns the model's text and usage", async () => {
    const completion = await client.chat.completions.create({ model: "smollm2-test", messages: [{ role: "user", content: "hi there" }] });
    assert.equal(completion.choices[0].message.content, "You said: hi there");
    assert.equal(completion.choices[0].finish_reason, "stop");
    assert.ok((completion.usage?.total_tokens ?? 0) > 0);
  });

  test("a streamed chat completion concatenates to the text", async () => {
    const stream = await client.chat.completions.create({ model: "smollm2-test", messages: [{ role: "user", content: "stream" }], stream: true });
    let text = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(text, "You said: stream");
    assert.equal(finish, "stop");
  });

  test("a tool_calls round trip ends with the Answer", async () => {
    const messages: ChatCompletionMessageParam[] = [{ role: "user", content: TOKYO_QUERY }];
    const calls: string[] = [];
    for (let turn = 0; turn < 4; turn++) {
      const completion = await client.chat.completions.create({ model: "smollm2-test", messages, tools: TOOLS });
      const choice = completion.choices[0];
      if (choice.finish_reason !== "tool_calls") {
        assert.equal(choice.message.content, "Tokyo is 8°C and cloudy. I recommend Ichiran Ramen (rated 4.6)!");
        break;
      }
      messages.push(choice.message);
      for (const call of choice.message.tool_calls ?? []) {
        assert.equal(call.type, "function");
        if (call.type !== "function") continue;
        calls.push(`${call.function.name} ${call.function.arguments}`);
        const result = call.function.name === "get_weather" ? { temperature: 8, condition: "cloudy" } : { name: "Ichiran Ramen", rating: 4.6 };
        messages.push({ role: "tool", tool_call_id: call.id, content: JSON.stringify(result) });
      }
    }
    assert.deepEqual(calls, ['get_weather {"city":"Tokyo"}', 'search_restaurant {"location":"Tokyo","cuisine":"ramen"}']);
  });

  test("a streamed tool call is assembled by the client's stream helper", async () => {
    const stream = client.chat.completions.stream({ model: "smollm2-test", messages: [{ role: "user", content: TOKYO_QUERY }], tools: TOOLS });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0].message.tool_calls?.[0];
    assert.equal(final.choices[0].finish_reason, "tool_calls");
    assert.ok(call !== undefined && call.type === "function");
    assert.equal(call.function.name, "get_weather");
    assert.deepEqual(JSON.parse(call.function.arguments), { city: "Tokyo" });
  });

  test("a wrong key is an AuthenticationError", async () => {
    const wrong = new OpenAI({ baseURL: client.baseURL, apiKey: "nope", maxRetries: 0 });
    await assert.rejects(wrong.models.list(), (error: unknown) => error instanceof OpenAI.AuthenticationError);
  });
});
