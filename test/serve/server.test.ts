import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ScriptedModel } from "../../src/agent/scripted-model.js";
import { type AgentServer, createServer } from "../../src/serve/server.js";
import { TOKYO_QUERY, TOKYO_TOOLS, tokyoModel } from "./helpers.js";

const WEATHER_TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather for a city.",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const RESTAURANT_TOOL = {
  type: "function",
  function: {
    name: "search_restaurant",
    description: "Find a restaurant.",
    parameters: { type: "object", properties: { location: { type: "string" }, cuisine: { type: "string" } } },
  },
};

// Response bodies are read loosely; the assertions check their shape.
// biome-ignore lint/suspicious/noExplicitAny: JSON from the server under test
type Json = any;

async function json(res: Response): Promise<Json> {
  return res.json();
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
}

/** The `data:` payloads of a server-sent event body. */
function sseData(text: string): string[] {
  return text
    .split("\n\n")
    .map((block) => block.trim())
    .filter((block) => block.startsWith("data: "))
    .map((block) => block.slice(6));
}

describe("the OpenAI-compatible server", () => {
  let server: AgentServer;
  let base: string;
  before(async () => {
    server = createServer({ model: tokyoModel(), modelName: "smollm2-test", tools: TOKYO_TOOLS, demo: true });
    base = await server.listen(0);
  });
  after(() => server.close(100));

  test("it binds 127.0.0.1 by default", () => {
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test("GET /v1/models lists the served model", async () => {
    const body = await json(await fetch(`${base}/v1/models`));
    assert.equal(body.object, "list");
    assert.deepEqual(
      body.data.map((m: { id: string }) => m.id),
      ["smollm2-test"],
    );
  });

  test("a chat without tools is a plain completion with usage", async () => {
    const res = await post(`${base}/v1/chat/completions`, { model: "x", messages: [{ role: "user", content: "hello" }] });
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.equal(body.object, "chat.completion");
    assert.equal(body.choices[0].message.content, "You said: hello");
    assert.equal(body.choices[0].finish_reason, "stop");
    assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);
    assert.ok(body.usage.completion_tokens > 0);
  });

  test("an Action comes back as a tool_calls entry with finish_reason tool_calls", async () => {
    const res = await post(`${base}/v1/chat/completions`, { messages: [{ role: "user", content: TOKYO_QUERY }], tools: [WEATHER_TOOL, RESTAURANT_TOOL] });
    const body = await json(res);
    const choice = body.choices[0];
    assert.equal(choice.finish_reason, "tool_calls");
    assert.equal(choice.message.tool_calls.length, 1);
    assert.equal(choice.message.tool_calls[0].type, "function");
    assert.equal(choice.message.tool_calls[0].function.name, "get_weather");
    assert.deepEqual(JSON.parse(choice.message.tool_calls[0].function.arguments), { city: "Tokyo" });
    assert.equal(choice.message.content, "I need the weather in Tokyo first.");
  });

  test("tool messages continue the episode as Observations and the Answer is the content", async () => {
    const model = tokyoModel();
    const own = createServer({ model });
    const url = await own.listen(0);
    try {
      const res = await post(`${url}/v1/chat/completions`, {
        messages: [
          { role: "system", content: "You are a travel helper." },
          { role: "user", content: TOKYO_QUERY },
          { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "get_weather", arguments: '{"city":"Tokyo"}' } }] },
          { role: "tool", tool_call_id: "c1", content: '{"temperature": 8, "condition": "cloudy"}' },
          { role: "assistant", content: null, tool_calls: [{ id: "c2", type: "function", function: { name: "search_restaurant", arguments: '{"location":"Tokyo","cuisine":"ramen"}' } }] },
          { role: "tool", tool_call_id: "c2", content: '{"name": "Ichiran Ramen", "rating": 4.6}' },
        ],
        tools: [WEATHER_TOOL, RESTAURANT_TOOL],
      });
      const body = await json(res);
      assert.equal(body.choices[0].finish_reason, "stop");
      assert.equal(body.choices[0].message.content, "Tokyo is 8°C and cloudy. I recommend Ichiran Ramen (rated 4.6)!");
      const sent = model.calls[0].messages;
      assert.equal(sent[0].role, "system");
      assert.ok(sent[0].content.startsWith("You are a travel helper."));
      assert.ok(sent[0].content.includes("- get_weather(city: string)"));
      assert.deepEqual(
        sent.slice(1).map((m) => m.role),
        ["user", "assistant", "user", "assistant", "user"],
      );
      assert.equal(sent[2].content, 'Action: {"name": "get_weather", "arguments": {"city": "Tokyo"}}');
      assert.equal(sent[3].content, 'Observation: {"temperature": 8, "condition": "cloudy"}');
      assert.ok(model.calls[0].options.stop?.includes("\nObservation:"));
    } finally {
      await own.close(100);
    }
  });

  test("stream: true sends OpenAI chunks ending with [DONE]", async () => {
    const res = await post(`${base}/v1/chat/completions`, { messages: [{ role: "user", content: "stream me" }], stream: true, stream_options: { include_usage: true } });
    assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const data = sseData(await res.text());
    assert.equal(data.at(-1), "[DONE]");
    const chunks = data.slice(0, -1).map((d): Json => JSON.parse(d));
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk"));
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    assert.equal(text, "You said: stream me");
    assert.equal(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason, "stop");
    assert.ok(chunks.at(-1).usage.completion_tokens > 0);
  });

  test("a streamed tool call arrives as tool_call deltas", async () => {
    const res = await post(`${base}/v1/chat/completions`, { messages: [{ role: "user", content: TOKYO_QUERY }], tools: [WEATHER_TOOL], stream: true });
    const chunks = sseData(await res.text()).slice(0, -1).map((d): Json => JSON.parse(d));
    const deltas = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    assert.equal(deltas[0].function.name, "get_weather");
    assert.deepEqual(JSON.parse(deltas.map((d: { function: { arguments: string } }) => d.function.arguments).join("")), { city: "Tokyo" });
    assert.equal(chunks.at(-1).choices[0].finish_reason, "tool_calls");
  });

  test("POST /v1/agent/run streams every event of the episode", async () => {
    const res = await post(`${base}/v1/agent/run`, { query: TOKYO_QUERY, max_steps: 5 });
    assert.equal(res.status, 200);
    const data = sseData(await res.text());
    assert.equal(data.at(-1), "[DONE]");
    const events = data.slice(0, -1).map((d): Json => JSON.parse(d));
    assert.deepEqual(
      events.map((e) => e.type),
      ["start", "thought", "action", "observation", "thought", "action", "observation", "thought", "answer", "done"],
    );
    assert.deepEqual(events[3].observation, { city: "Tokyo", temperature: 8, condition: "cloudy" });
    assert.equal(events.at(-1).result.status, "answered");
    assert.ok(events.every((e) => typeof e.t === "number"));
  });

  test("a malformed body gets 400 naming the field", async () => {
    const cases: [unknown, string][] = [
      ["{not json", "body"],
      [{ messages: "hi" }, "messages"],
      [{ messages: [{ role: "robot", content: "x" }] }, "messages[0].role"],
      [{ messages: [{ role: "user", content: 5 }] }, "messages[0].content"],
      [{ messages: [{ role: "user", content: "x" }], max_tokens: 10_000_000 }, "max_tokens"],
      [{ messages: [{ role: "user", content: "x" }], tools: [{ type: "function", function: { name: "bad name!" } }] }, "tools[0].function.name"],
    ];
    for (const [body, field] of cases) {
      const res = await post(`${base}/v1/chat/completions`, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      const error = (await json(res)).error;
      assert.equal(error.param, field);
      assert.ok(error.message.startsWith(`${field}:`), error.message);
    }
    const steps = await post(`${base}/v1/agent/run`, { query: "x", max_steps: 1000 });
    assert.equal(steps.status, 400);
    assert.equal((await json(steps)).error.param, "max_steps");
  });

  test("a body over the size limit gets 413", async () => {
    const res = await post(`${base}/v1/chat/completions`, { messages: [{ role: "user", content: "x".repeat(1024 * 1024 + 10) }] });
    assert.equal(res.status, 413);
  });

  test("the demo page is served at / with its script", async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script type="module" src="\/app.js">/);
    assert.equal((await fetch(`${base}/app.js`)).status, 200);
    assert.equal((await fetch(`${base}/../package.json`)).status, 404);
    assert.equal((await fetch(`${base}/%2e%2e/package.json`)).status, 404);
  });
});

describe("server reliability and security", () => {
  test("without the API key /v1 answers 401, with it 200", async () => {
    const server = createServer({ model: tokyoModel(), apiKey: "s3cret" });
    const url = await server.listen(0);
    try {
      assert.equal((await fetch(`${url}/v1/models`)).status, 401);
      assert.equal((await fetch(`${url}/v1/models`, { headers: { authorization: "Bearer wrong!" } })).status, 401);
      assert.equal((await fetch(`${url}/v1/models`, { headers: { authorization: "Bearer s3cret" } })).status, 200);
    } finally {
      await server.close(100);
    }
  });

  test("excess load gets 429 with Retry-After", async () => {
    const hang = new ScriptedModel({ script: () => ({ hang: true }) });
    const server = createServer({ model: hang, maxConcurrency: 1, maxQueue: 2 });
    const url = await server.listen(0);
    const controller = new AbortController();
    try {
      const body = { messages: [{ role: "user", content: "x" }] };
      const held = [0, 1, 2].map(() =>
        fetch(`${url}/v1/chat/completions`, { method: "POST", body: JSON.stringify(body), signal: controller.signal }).catch(() => undefined),
      );
      while (server.queue.running + server.queue.queued < 3) await new Promise((r) => setTimeout(r, 5));
      const res = await post(`${url}/v1/chat/completions`, body);
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers.get("retry-after")) >= 1);
      assert.equal((await json(res)).error.type, "rate_limit_error");
      controller.abort();
      await Promise.all(held);
    } finally {
      await server.close(100);
    }
  });

  test("a client that disconnects aborts its generation and frees the model", async () => {
    const hang = new ScriptedModel({ script: () => ({ hang: true, partial: "Thought: thinking" }) });
    const server = createServer({ model: hang });
    const url = await server.listen(0);
    try {
      const controller = new AbortController();
      const pending = fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ messages: [{ role: "user", content: "x" }], stream: true }),
        signal: controller.signal,
      }).then((r) => r.text()).catch(() => "aborted");
      while (hang.calls.length === 0) await new Promise((r) => setTimeout(r, 5));
      const signal = hang.calls[0].options.signal;
      assert.equal(signal?.aborted, false);
      controller.abort();
      await pending;
      while (server.queue.running > 0) await new Promise((r) => setTimeout(r, 5));
      assert.equal(signal?.aborted, true);
      assert.equal(server.queue.running, 0);
    } finally {
      await server.close(100);
    }
  });

  test("an agent run whose client disconnects aborts the episode's model call", async () => {
    const hang = new ScriptedModel({ script: () => ({ hang: true, partial: "Thought: let me think" }) });
    const server = createServer({ model: hang, tools: TOKYO_TOOLS });
    const url = await server.listen(0);
    try {
      const controller = new AbortController();
      const res = await fetch(`${url}/v1/agent/run`, { method: "POST", body: JSON.stringify({ query: TOKYO_QUERY }), signal: controller.signal });
      assert.equal(res.status, 200);
      while (hang.calls.length === 0) await new Promise((r) => setTimeout(r, 5));
      controller.abort();
      while (server.queue.running > 0) await new Promise((r) => setTimeout(r, 5));
      assert.equal(hang.calls[0].options.signal?.aborted, true);
    } finally {
      await server.close(100);
    }
  });

  test("an agent run asking for the base model without one is a 400 naming variant", async () => {
    const server = createServer({ model: tokyoModel(), tools: TOKYO_TOOLS });
    const url = await server.listen(0);
    try {
      const res = await post(`${url}/v1/agent/run`, { query: "x", variant: "base" });
      assert.equal(res.status, 400);
      assert.equal((await json(res)).error.param, "variant");
      const unknown = await post(`${url}/v1/agent/run`, { query: "x", tools: ["get_weather", "nope"] });
      assert.equal((await json(unknown)).error.param, "tools[1]");
    } finally {
      await server.close(100);
    }
  });

  test("after 1,000 malformed requests and a burst of valid ones the server still answers and its heap stays bounded", async () => {
    const server = createServer({ model: tokyoModel(), tools: TOKYO_TOOLS, maxConcurrency: 2, maxQueue: 8 });
    const url = await server.listen(0);
    try {
      const valid = { messages: [{ role: "user", content: "ping" }] };
      // Warm up, then measure.
      await post(`${url}/v1/chat/completions`, valid);
      globalThis.gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      const malformed: (string | unknown)[] = [
        "{",
        "[]",
        "null",
        { messages: [] },
        { messages: [{ role: "user" }] },
        { messages: [{ role: "user", content: "x" }], temperature: "hot" },
        { messages: [{ role: "user", content: "x" }], max_tokens: -1 },
        { messages: [{ role: "tool", content: "x" }] },
      ];
      const statuses = new Map<number, number>();
      for (let batch = 0; batch < 20; batch++) {
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => post(`${url}/v1/chat/completions`, malformed[(batch * 50 + i) % malformed.length]).then(async (r) => {
            await r.arrayBuffer();
            return r.status;
          })),
        );
        for (const s of results) statuses.set(s, (statuses.get(s) ?? 0) + 1);
      }
      assert.deepEqual([...statuses.entries()], [[400, 1000]]);
      // A burst of 40 concurrent valid requests: each is answered (200) or turned away (429).
      const burst = await Promise.all(
        Array.from({ length: 40 }, (_, i) => post(`${url}/v1/chat/completions`, { messages: [{ role: "user", content: `burst ${i}` }] }).then(async (r) => ({ status: r.status, body: await json(r) }))),
      );
      const ok = burst.filter((r) => r.status === 200);
      assert.ok(ok.length >= 10, `only ${ok.length} answered`);
      assert.ok(burst.every((r) => r.status === 200 || r.status === 429));
      for (const r of ok) assert.match(r.body.choices[0].message.content, /^You said: burst \d+$/);
      // Still correct afterwards.
      const after = await json(await post(`${url}/v1/chat/completions`, { messages: [{ role: "user", content: "still there?" }] }));
      assert.equal(after.choices[0].message.content, "You said: still there?");
      assert.equal(server.queue.running, 0);
      assert.equal(server.queue.queued, 0);
      globalThis.gc?.();
      const heapAfter = process.memoryUsage().heapUsed;
      assert.ok(heapAfter < heapBefore * 3 + 32 * 1024 * 1024, `heap grew from ${heapBefore} to ${heapAfter}`);
    } finally {
      await server.close(100);
    }
  });

  test("close aborts work still running after the grace period", async () => {
    const hang = new ScriptedModel({ script: () => ({ hang: true }) });
    const server = createServer({ model: hang });
    const url = await server.listen(0);
    const pending = post(`${url}/v1/chat/completions`, { messages: [{ role: "user", content: "x" }] }).then((r) => r.status).catch(() => "closed");
    while (hang.calls.length === 0) await new Promise((r) => setTimeout(r, 5));
    await server.close(50);
    assert.equal(hang.calls[0].options.signal?.aborted, true);
    assert.equal(await pending, "closed");
  });
});
