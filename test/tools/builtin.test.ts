import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BUILTIN_TOOLS } from "../../src/tools/builtin/index.js";
import { findCity, normalHigh, resolveCity } from "../../src/tools/builtin/cities.js";
import { USD_RATES } from "../../src/tools/builtin/currency.js";
import { STOCK_PRICES } from "../../src/tools/builtin/stocks.js";
import { WEATHER_SPREAD_C } from "../../src/tools/builtin/weather.js";
import { ToolArgumentsError, ToolExecutionError } from "../../src/tools/errors.js";
import { createDefaultRegistry } from "../../src/tools/registry.js";
import { simulatedNow } from "../../src/tools/simulate.js";
import type { JsonValue, ToolCall } from "../../src/tools/types.js";

const registry = createDefaultRegistry();
const SEEDS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];

async function run(name: string, args: Record<string, JsonValue>, seed = 0): Promise<Record<string, JsonValue>> {
  return (await registry.execute({ name, arguments: args }, { seed })) as Record<string, JsonValue>;
}

async function argumentsError(call: ToolCall): Promise<ToolArgumentsError> {
  try {
    await registry.execute(call, { seed: 0 });
  } catch (error) {
    assert.ok(error instanceof ToolArgumentsError, `expected ToolArgumentsError, got ${String(error)}`);
    return error;
  }
  assert.fail(`${JSON.stringify(call)} was accepted`);
}

describe("built-in tools: schemas", () => {
  it("there are the ten tools of the spec", () => {
    assert.deepEqual(registry.names(), [
      "get_weather", "search_restaurant", "calculator", "convert_currency", "get_time",
      "search_web", "get_stock_price", "translate", "send_email", "create_calendar_event",
    ]);
  });
  it("every schema forbids extra arguments", () => {
    for (const tool of BUILTIN_TOOLS) assert.equal(tool.parameters.additionalProperties, false, tool.name);
  });
  for (const tool of BUILTIN_TOOLS) {
    it(`${tool.name} accepts its own examples and answers with a JSON object`, async () => {
      assert.ok(tool.examples.length > 0);
      for (const example of tool.examples) {
        assert.deepEqual(registry.validate({ name: tool.name, arguments: example }), [], JSON.stringify(example));
        const observation = await registry.execute({ name: tool.name, arguments: example }, { seed: 7 });
        assert.equal(typeof observation, "object");
        assert.ok(observation !== null && !Array.isArray(observation));
        assert.deepEqual(JSON.parse(JSON.stringify(observation)), observation, "observations are plain JSON");
      }
    });
    it(`${tool.name} rejects a missing required argument, naming it`, async () => {
      const required = (tool.parameters.required as string[])[0];
      const args = { ...tool.examples[0] };
      delete args[required];
      const error = await argumentsError({ name: tool.name, arguments: args });
      assert.deepEqual(error.issues.map((i) => i.path), [`/${required}`]);
      assert.match(error.message, new RegExp(`/${required}: is required`));
    });
    it(`${tool.name} rejects an unknown argument, naming it`, async () => {
      const error = await argumentsError({ name: tool.name, arguments: { ...tool.examples[0], colour: "blue" } });
      assert.deepEqual(error.issues, [{ path: "/colour", message: "is not an allowed argument" }]);
    });
  }
  it("wrong types and formats name the field", async () => {
    const cases: [ToolCall, string, RegExp][] = [
      [{ name: "convert_currency", arguments: { amount: "100", from: "USD", to: "EUR" } }, "/amount", /must be number/],
      [{ name: "convert_currency", arguments: { amount: 1, from: "DOLLARS", to: "EUR" } }, "/from", /must match pattern/],
      [{ name: "get_weather", arguments: { city: "Tokyo", unit: "kelvin" } }, "/unit", /must be one of "celsius", "fahrenheit"/],
      [{ name: "search_web", arguments: { query: "x", max_results: 9 } }, "/max_results", /must be <= 5/],
      [{ name: "search_web", arguments: { query: "x", max_results: 2.5 } }, "/max_results", /must be integer/],
      [{ name: "get_stock_price", arguments: { symbol: "aapl" } }, "/symbol", /must match pattern/],
      [{ name: "send_email", arguments: { to: "bob at example", subject: "s", body: "b" } }, "/to", /must match format "email"/],
      [{ name: "create_calendar_event", arguments: { title: "t", date: "2026-02-30", time: "10:00" } }, "/date", /must match format "date"/],
      [{ name: "create_calendar_event", arguments: { title: "t", date: "2026-12-01", time: "25:00" } }, "/time", /must match pattern/],
      [{ name: "create_calendar_event", arguments: { title: "t", date: "2026-12-01", time: "10:00", duration_minutes: 2 } }, "/duration_minutes", /must be >= 5/],
      [{ name: "calculator", arguments: { expression: 42 } }, "/expression", /must be string/],
    ];
    for (const [call, path, message] of cases) {
      const error = await argumentsError(call);
      assert.equal(error.issues[0].path, path, JSON.stringify(call));
      assert.match(error.issues[0].message, message, JSON.stringify(call));
    }
  });
});

describe("built-in tools: determinism", () => {
  for (const tool of BUILTIN_TOOLS) {
    it(`${tool.name}: the same arguments and seed give the same observation`, async () => {
      for (const example of tool.examples) {
        for (const seed of [0, 42]) assert.deepEqual(await run(tool.name, example, seed), await run(tool.name, example, seed));
      }
    });
  }
  const random = ["get_weather", "search_restaurant", "convert_currency", "get_time", "search_web", "get_stock_price", "send_email", "create_calendar_event"];
  for (const name of random) {
    it(`${name}: other seeds give other values`, async () => {
      const example = BUILTIN_TOOLS.find((t) => t.name === name)?.examples[0] ?? {};
      const seen = new Set<string>();
      for (const seed of SEEDS) seen.add(JSON.stringify(await run(name, example, seed)));
      assert.ok(seen.size >= 5, `${name}: only ${seen.size} distinct observations over ${SEEDS.length} seeds`);
    });
  }
  it("calculator and translate do not depend on the seed", async () => {
    assert.deepEqual(await run("calculator", { expression: "2+2" }, 1), await run("calculator", { expression: "2+2" }, 2));
    assert.deepEqual(await run("translate", { text: "Hello", target_language: "French" }, 1), await run("translate", { text: "Hello", target_language: "French" }, 2));
  });
  it("celsius and fahrenheit describe the same weather", async () => {
    for (const seed of SEEDS) {
      const c = await run("get_weather", { city: "Paris" }, seed);
      const f = await run("get_weather", { city: "Paris", unit: "fahrenheit" }, seed);
      assert.ok(Math.abs((c.temperature as number) * 1.8 + 32 - (f.temperature as number)) <= 1.8, JSON.stringify([c, f]));
      assert.equal(c.condition, f.condition);
      assert.equal(f.unit, "fahrenheit");
    }
  });
});

describe("built-in tools: plausible values", () => {
  it("weather stays within the city's climate band for the season", async () => {
    for (const city of ["Tokyo", "Reykjavik", "Dubai", "Sydney", "Moscow", "Singapore", "Atlantis"]) {
      for (const seed of SEEDS) {
        const o = await run("get_weather", { city }, seed);
        const normal = normalHigh(resolveCity(city).city, simulatedNow(seed));
        assert.ok(Number.isInteger(o.temperature));
        assert.ok(Math.abs((o.temperature as number) - normal) <= WEATHER_SPREAD_C + 0.5, `${city} seed ${seed}: ${o.temperature} vs normal ${normal}`);
        assert.ok(["sunny", "cloudy", "rainy", "snowy", "windy", "foggy"].includes(o.condition as string));
        assert.ok(Number.isInteger(o.humidity) && (o.humidity as number) >= 10 && (o.humidity as number) <= 100);
      }
    }
  });
  it("Tokyo in November is 5–20 °C, Reykjavik cold, Dubai hot", async () => {
    for (const seed of SEEDS) {
      const tokyo = (await run("get_weather", { city: "Tokyo" }, seed)).temperature as number;
      assert.ok(tokyo >= 5 && tokyo <= 20, `Tokyo ${tokyo}`);
      assert.ok(((await run("get_weather", { city: "Reykjavik" }, seed)).temperature as number) < 15);
      assert.ok(((await run("get_weather", { city: "Dubai" }, seed)).temperature as number) > 22);
    }
  });
  it("city names resolve with case, accents, aliases and a country suffix", async () => {
    assert.equal(findCity("tokyo")?.name, "Tokyo");
    assert.equal(findCity("São Paulo")?.name, "Sao Paulo");
    assert.equal(findCity("NYC")?.name, "New York");
    assert.equal(findCity("Paris, France")?.name, "Paris");
    assert.equal((await run("get_weather", { city: "tokyo, japan" })).city, "Tokyo");
    assert.equal((await run("get_weather", { city: "Springfield" })).city, "Springfield");
  });
  it("restaurant ratings are 3.5–4.9 with one decimal, prices $–$$$$", async () => {
    for (const seed of SEEDS) {
      const o = await run("search_restaurant", { location: "Tokyo", cuisine: "ramen" }, seed);
      const rating = o.rating as number;
      assert.ok(rating >= 3.5 && rating <= 4.9, String(rating));
      assert.equal(Math.round(rating * 10) / 10, rating);
      assert.match(o.price_range as string, /^\${1,4}$/);
      assert.equal(o.cuisine, "ramen");
      assert.equal(o.location, "Tokyo");
      assert.match(o.address as string, /Tokyo$/);
    }
  });
  it("an unknown cuisine still gets a plausible named place", async () => {
    const o = await run("search_restaurant", { location: "Lima", cuisine: "ceviche" });
    assert.match(o.name as string, /Ceviche/);
  });
  it("currency rates are near real ones and converted matches amount × rate", async () => {
    for (const seed of SEEDS) {
      const o = await run("convert_currency", { amount: 250, from: "usd", to: "JPY" }, seed);
      assert.equal(o.from, "USD");
      assert.ok(Math.abs((o.rate as number) / USD_RATES.JPY - 1) <= 0.031, String(o.rate));
      assert.equal(o.converted, Math.round(250 * (o.rate as number) * 100) / 100);
      const eurGbp = await run("convert_currency", { amount: 10, from: "EUR", to: "GBP" }, seed);
      assert.ok(Math.abs((eurGbp.rate as number) / (USD_RATES.GBP / USD_RATES.EUR) - 1) <= 0.062);
    }
    assert.equal((await run("convert_currency", { amount: 12.5, from: "EUR", to: "EUR" })).converted, 12.5);
  });
  it("an unknown currency code is a tool error that names it", async () => {
    await assert.rejects(run("convert_currency", { amount: 1, from: "USD", to: "XYZ" }), (e: unknown) => e instanceof ToolExecutionError && /unknown currency code "XYZ"/.test(e.message));
  });
  it("stock prices stay near their base; unknown symbols are tool errors", async () => {
    for (const seed of SEEDS) {
      const o = await run("get_stock_price", { symbol: "MSFT" }, seed);
      assert.ok(Math.abs((o.price as number) / STOCK_PRICES.MSFT.price - 1) <= 0.041);
      assert.equal(Math.round((o.price as number) * 100) / 100, o.price);
      assert.ok(Math.abs(o.change_percent as number) <= 3.5);
      assert.equal(o.currency, "USD");
    }
    await assert.rejects(run("get_stock_price", { symbol: "ZZZZ" }), ToolExecutionError);
  });
  it("local time follows the city's time zone", async () => {
    for (const seed of SEEDS) {
      const tokyo = await run("get_time", { city: "Tokyo" }, seed);
      const london = await run("get_time", { city: "London" }, seed);
      assert.equal(tokyo.timezone, "Asia/Tokyo");
      assert.equal(tokyo.utc_offset, "+09:00");
      assert.equal(london.utc_offset, "+00:00"); // November: no daylight saving
      assert.match(tokyo.local_time as string, /^([01]\d|2[0-3]):[0-5]\d$/);
      assert.match(tokyo.date as string, /^2026-1[12]-\d\d$/);
      const minutes = (o: Record<string, JsonValue>) => Date.parse(`${o.date}T${o.local_time}:00Z`) / 60000;
      assert.equal(minutes(tokyo) - minutes(london), 9 * 60);
    }
    assert.equal((await run("get_time", { city: "New York" })).utc_offset, "-05:00");
    assert.equal((await run("get_time", { city: "Mumbai" })).utc_offset, "+05:30");
  });
  it("web results respect max_results and carry https URLs", async () => {
    for (const n of [1, 3, 5]) {
      const o = await run("search_web", { query: "the rules of cricket", max_results: n });
      const results = o.results as Record<string, string>[];
      assert.equal(results.length, n);
      for (const r of results) {
        assert.match(r.url, /^https:\/\/[a-z.]+\//);
        assert.ok(r.title.length > 0 && r.snippet.includes("cricket"));
      }
    }
    assert.equal(((await run("search_web", { query: "x" })).results as unknown[]).length, 3);
  });
  it("translate knows common phrases and marks the rest", async () => {
    assert.equal((await run("translate", { text: "Good morning", target_language: "Spanish" })).translation, "Buenos días");
    assert.equal((await run("translate", { text: "thank you!", target_language: "ja" })).translation, "ありがとうございます");
    assert.equal((await run("translate", { text: "I don't understand", target_language: "Deutsch" })).translation, "Ich verstehe nicht");
    assert.equal((await run("translate", { text: "Hello", target_language: "한국어" })).translation, "안녕하세요");
    assert.equal((await run("translate", { text: "The cat sleeps", target_language: "French" })).translation, "[French] The cat sleeps");
    assert.equal((await run("translate", { text: "Hello", target_language: "Klingon" })).translation, "[Klingon] Hello");
  });
  it("email and calendar actions confirm with an id", async () => {
    const mail = await run("send_email", { to: "alice@example.com", subject: "Hi", body: "See you" });
    assert.equal(mail.status, "sent");
    assert.match(mail.message_id as string, /^msg_[0-9a-f]{12}$/);
    const event = await run("create_calendar_event", { title: "Yoga class", date: "2026-12-03", time: "18:00", duration_minutes: 60 });
    assert.deepEqual({ ...event, event_id: "" }, { status: "created", event_id: "", title: "Yoga class", date: "2026-12-03", time: "18:00" });
  });
  it("calculator errors are tool errors", async () => {
    assert.deepEqual(await run("calculator", { expression: "(12.5 + 7) * 3" }), { expression: "(12.5 + 7) * 3", result: 58.5 });
    await assert.rejects(run("calculator", { expression: "1/0" }), (e: unknown) => e instanceof ToolExecutionError && /division by zero/.test(e.message));
  });
});
