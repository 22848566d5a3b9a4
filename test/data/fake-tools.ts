import type { AgentTools } from "../../src/agent/tools.js";
import type { JsonValue, ToolCall, ToolDefinition } from "../../src/tools/types.js";

/**
 * A stand-in for the built-in tools with the same names and observation shapes, deterministic
 * in (arguments, seed). Used where a test wants tools it fully controls.
 */
function h(text: string, seed: number): number {
  let x = 0x811c9dc5 ^ seed;
  for (let i = 0; i < text.length; i++) x = Math.imul(x ^ text.charCodeAt(i), 0x01000193);
  return (x >>> 0) / 4294967296;
}

const obj = (required: string[], props: Record<string, unknown>) => ({ type: "object", properties: props, required, additionalProperties: false });

const defs: Record<string, { parameters: Record<string, unknown>; run: (a: Record<string, JsonValue>, seed: number) => JsonValue }> = {
  get_weather: {
    parameters: obj(["city"], { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } }),
    run: (a, seed) => {
      const c = Math.round(-5 + 40 * h(String(a.city), seed));
      const f = a.unit === "fahrenheit";
      return { city: String(a.city), temperature: f ? Math.round(c * 1.8 + 32) : c, unit: f ? "fahrenheit" : "celsius", condition: ["sunny", "cloudy", "rainy", "snowy", "windy", "foggy"][Math.floor(6 * h(`${a.city}c`, seed))], humidity: Math.round(20 + 70 * h(`${a.city}h`, seed)) };
    },
  },
  search_restaurant: {
    parameters: obj(["location"], { location: { type: "string" }, cuisine: { type: "string" } }),
    run: (a, seed) => ({ name: `${["Golden", "Blue", "Little"][Math.floor(3 * h(String(a.location), seed))]} ${String(a.cuisine ?? "Bistro")} House`, cuisine: String(a.cuisine ?? "local"), location: String(a.location), rating: Math.round(35 + 14 * h(String(a.cuisine), seed)) / 10, price_range: "$$", address: `${1 + Math.floor(99 * h("n", seed))} Main Street` }),
  },
  calculator: {
    parameters: obj(["expression"], { expression: { type: "string" } }),
    run: (a) => {
      const whole = String(a.expression);
      const rounded = /^round\((.+), (\d+)\)$/.exec(whole);
      const e = rounded ? rounded[1] : whole;
      const m = /^\(?(-?[\d.]+) ([-+*/]) (-?[\d.]+)\)?(?: \/ (\d+))?(?: \/ 100)?$/.exec(e);
      if (!m) throw Object.assign(new Error(`cannot parse "${e}"`), { name: "ToolExecutionError" });
      const x = Number(m[1]);
      const y = Number(m[3]);
      let r = m[2] === "+" ? x + y : m[2] === "-" ? x - y : m[2] === "*" ? x * y : x / y;
      if (m[4]) r /= Number(m[4]);
      if (e.endsWith("/ 100")) r /= 100;
      const f = 10 ** (rounded ? Number(rounded[2]) : 6);
      return { expression: whole, result: Math.round(r * f) / f };
    },
  },
  convert_currency: {
    parameters: obj(["amount", "from", "to"], { amount: { type: "number" }, from: { type: "string" }, to: { type: "string" } }),
    run: (a, seed) => {
      const rate = Math.round((0.5 + 2 * h(`${a.from}${a.to}`, seed)) * 1e4) / 1e4;
      return { amount: a.amount, from: a.from, to: a.to, rate, converted: Math.round(Number(a.amount) * rate * 100) / 100 };
    },
  },
  get_time: {
    parameters: obj(["city"], { city: { type: "string" } }),
    run: (a, seed) => ({ city: a.city, timezone: "Etc/UTC", local_time: `${String(Math.floor(24 * h(String(a.city), seed))).padStart(2, "0")}:15`, date: "2026-11-24", utc_offset: "+00:00" }),
  },
  search_web: {
    parameters: obj(["query"], { query: { type: "string" }, max_results: { type: "integer" } }),
    run: (a, seed) => ({ query: a.query, results: [{ title: `All about ${a.query} (${Math.floor(100 * h("t", seed))})`, url: "https://example.org/a", snippet: `A guide to ${a.query}.` }] }),
  },
  get_stock_price: {
    parameters: obj(["symbol"], { symbol: { type: "string", pattern: "^[A-Z]{1,5}$" } }),
    run: (a, seed) => ({ symbol: a.symbol, price: Math.round((50 + 400 * h(String(a.symbol), seed)) * 100) / 100, currency: "USD", change_percent: Math.round((-4 + 8 * h(`${a.symbol}x`, seed)) * 100) / 100 }),
  },
  translate: {
    parameters: obj(["text", "target_language"], { text: { type: "string" }, target_language: { type: "string" } }),
    run: (a) => ({ text: a.text, target_language: a.target_language, translation: `[${a.target_language}] ${a.text}` }),
  },
  send_email: {
    parameters: obj(["to", "subject", "body"], { to: { type: "string" }, subject: { type: "string" }, body: { type: "string" } }),
    run: (a, seed) => ({ status: "sent", message_id: `msg_${Math.floor(1e6 * h(String(a.to), seed))}`, to: a.to }),
  },
  create_calendar_event: {
    parameters: obj(["title", "date", "time"], { title: { type: "string" }, date: { type: "string" }, time: { type: "string" }, duration_minutes: { type: "integer" } }),
    run: (a, seed) => ({ status: "created", event_id: `evt_${Math.floor(1e6 * h(String(a.title), seed))}`, title: a.title, date: a.date, time: a.time }),
  },
};

/** The ten fake tools as definitions. */
export function fakeToolDefinitions(): ToolDefinition[] {
  return Object.entries(defs).map(([name, d]) => ({ name, description: `the ${name.replace(/_/g, " ")} tool`, parameters: d.parameters, execute: (args, ctx) => d.run(args, ctx.seed) }));
}

/** The fake tools as a registry; unknown tools and missing required arguments throw like the real one. */
export function fakeTools(): AgentTools {
  const list = fakeToolDefinitions();
  return {
    list: () => [...list],
    has: (name) => name in defs,
    async execute(call: ToolCall, options) {
      const d = defs[call.name];
      if (d === undefined) throw Object.assign(new Error(`unknown tool "${call.name}"`), { name: "UnknownToolError" });
      for (const key of (d.parameters.required as string[]) ?? []) {
        if (!(key in call.arguments)) throw Object.assign(new Error(`missing argument "${key}"`), { name: "ToolArgumentsError" });
      }
      for (const key of Object.keys(call.arguments)) {
        if (!(key in (d.parameters.properties as object))) throw Object.assign(new Error(`unexpected argument "${key}"`), { name: "ToolArgumentsError" });
      }
      return d.run(call.arguments, options.seed);
    },
  };
}
