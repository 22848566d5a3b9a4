import type { JsonValue } from "../tools/types.js";
import type { Rng } from "./random.js";
import { EXTRA_PHRASINGS } from "./extra-phrasings.js";
import { THIRD_PHRASINGS } from "./third-phrasings.js";
import {
  AMOUNTS, CITIES, COLD_CITIES, COMPANIES, COOL_CUISINES, CUISINES, CURRENCIES, DATES, EVENT_TITLES, HOT_CITIES,
  LANGUAGES, PEOPLE, PHRASES, TIMES, WARM_CUISINES, WEB_TOPICS,
} from "./slots.js";
import { field, num, type PlanState, type PlanStep, type SlotValues, str, type TaskTemplate } from "./template.js";

/**
 * The template catalogue. Every template belongs to one category and one split; the templates
 * marked "eval" are never used for training (their phrasings differ from every training one).
 *
 * Conventions the plans follow, so that the data teaches one consistent behaviour:
 * - "cold" means below 15 °C (59 °F), "hot" means above 25 °C (77 °F);
 * - an Answer quotes observed values exactly as the Observation gives them;
 * - numbers are written plainly (no thousands separators), so `answer_contains` matches;
 * - money the calculator divides is rounded to the cent in the expression (`round(x / n, 2)`),
 *   so the Answer quotes a value a person would write, not 15 digits of a repeating decimal.
 */

const COLD_C = 15;
const HOT_C = 25;

/** Picks one of several wordings by the example's variant number (slot `v`). */
function vary(state: PlanState, options: readonly string[]): string {
  const v = Number(state.slots.v ?? 0);
  return options[Math.abs(Math.trunc(v)) % options.length];
}

function s(state: PlanState, name: string): string {
  return String(state.slots[name]);
}

function unitSymbol(observation: JsonValue | undefined): string {
  return field(observation, "unit") === "fahrenheit" ? "°F" : "°C";
}

function tempText(observation: JsonValue | undefined): string {
  return `${num(observation, "temperature")}${unitSymbol(observation)}`;
}

function isCold(observation: JsonValue | undefined): boolean {
  const t = num(observation, "temperature");
  return field(observation, "unit") === "fahrenheit" ? t < 59 : t < COLD_C;
}

function isHot(observation: JsonValue | undefined): boolean {
  const t = num(observation, "temperature");
  return field(observation, "unit") === "fahrenheit" ? t > 77 : t > HOT_C;
}

/**
 * A call step. The Thought ends by naming the tool, so the model states its choice in words
 * (copied from the tool list) before it writes the Action; the wording varies with the Thought.
 */
const call = (thought: string, name: string, args: Record<string, JsonValue>): PlanStep => {
  const naming = [`I'll use ${name}.`, `${name} can do that.`, `I'll call ${name}.`][thought.length % 3];
  return { kind: "call", thought: `${thought} ${naming}`, call: { name, arguments: args } };
};
const answer = (thought: string, text: string, contains: (string | number)[]): PlanStep => ({
  kind: "answer",
  thought,
  answer: text,
  contains: contains.map(String),
});

function firstResult(observation: JsonValue | undefined): { title: string; snippet: string; url: string } {
  const results = field(observation, "results");
  const first = Array.isArray(results) ? results[0] : undefined;
  return { title: str(first, "title"), snippet: str(first, "snippet"), url: str(first, "url") };
}

// Slot drawers ----------------------------------------------------------------------------

const citySlot = (rng: Rng): SlotValues => ({ city: rng.pick(CITIES) });
const restaurantSlots = (rng: Rng): SlotValues => ({ city: rng.pick(CITIES), cuisine: rng.pick(CUISINES) });
const companySlots = (rng: Rng): SlotValues => {
  const c = rng.pick(COMPANIES);
  return { symbol: c.symbol, company: c.name };
};
const currencyPair = (rng: Rng): SlotValues => {
  const [from, to] = rng.sample(CURRENCIES, 2);
  return { amount: rng.pick(AMOUNTS), from: from.code, to: to.code, fromName: from.name, toName: to.name };
};
const personSlots = (rng: Rng): SlotValues => {
  const p = rng.pick(PEOPLE);
  return { person: p.name, email: p.email };
};
const emailSlots = (rng: Rng): SlotValues => ({
  ...personSlots(rng),
  subject: rng.pick(["Meeting tomorrow", "Quick question", "Running late", "Thanks!", "Lunch plans", "Weekend trip"]),
  body: rng.pick(["See you at 10.", "Can we talk later today?", "I'll be 15 minutes late.", "Thanks for your help yesterday.", "Are you free for lunch on Friday?", "The tickets are booked."]),
});
const calendarSlots = (rng: Rng): SlotValues => ({ title: rng.pick(EVENT_TITLES), date: rng.pick(DATES), time: rng.pick(TIMES), minutes: rng.pick([30, 45, 60, 90]) });
const translateSlots = (rng: Rng): SlotValues => ({ phrase: rng.pick(PHRASES), language: rng.pick(LANGUAGES) });
const webSlots = (rng: Rng): SlotValues => ({ topic: rng.pick(WEB_TOPICS) });
/** A city that is cold, hot or anything, so both branches of a condition come up. */
const mixedCity = (rng: Rng): string => {
  const r = rng.next();
  return r < 0.35 ? rng.pick(COLD_CITIES) : r < 0.7 ? rng.pick(HOT_CITIES) : rng.pick(CITIES);
};

// Reusable plan pieces -------------------------------------------------------------------

function weatherAnswer(state: PlanState): PlanStep {
  const o = state.observations[0];
  const city = s(state, "city");
  return answer(
    vary(state, ["I have the current weather.", "The observation answers the question.", "I can answer now."]),
    vary(state, [
      `It's currently ${tempText(o)} and ${str(o, "condition")} in ${city}, with ${num(o, "humidity")}% humidity.`,
      `In ${city} it is ${tempText(o)} right now, ${str(o, "condition")}, humidity ${num(o, "humidity")}%.`,
      `${city}: ${tempText(o)}, ${str(o, "condition")}, ${num(o, "humidity")}% humidity.`,
    ]),
    [city, num(o, "temperature")],
  );
}

function weatherCall(state: PlanState, city = s(state, "city"), unit?: string): PlanStep {
  const args: Record<string, JsonValue> = { city };
  if (unit !== undefined) args.unit = unit;
  return call(
    vary(state, [`I need the current weather in ${city}.`, `I should check the weather in ${city}.`, `Let me look up the weather in ${city}.`]),
    "get_weather",
    args,
  );
}

function restaurantAnswer(o: JsonValue, lead: string): string {
  return `${lead}${str(o, "name")} (${str(o, "cuisine")}, rated ${num(o, "rating")}, ${str(o, "price_range")}) at ${str(o, "address")}.`;
}


// Training phrasings --------------------------------------------------------------------
// Many wordings a tool, in several registers (terse, polite, indirect), so a small model learns
// the tool behind the request rather than one sentence. None repeats an eval phrasing; the
// missing-tool templates reuse them, so the same request appears with and without its tool.

const WEATHER_PHRASINGS = [
  "What's the weather in {city}?", "How's the weather in {city} right now?", "What is the weather like in {city} today?", "Weather in {city}?",
  "Can you check the weather in {city} for me?", "Give me the weather report for {city}.", "Weather check for {city}, please.",
  "Do you know the weather in {city}?", "I'd like to know the weather in {city}.", "How hot is it in {city} today?", "Is it raining in {city}?",
  "What's the temperature in {city}?", "Any idea how the weather is in {city}?", "weather {city}", "Current weather for {city}?",
  "Should I bring a jacket in {city} today? Check the weather.", "I'm flying to {city} tonight. How's the weather there?",
  "Tell me how the weather is in {city}.", "How humid is it in {city}?", "Is it cloudy in {city} today?", "How cold is it in {city}?",
];
const RESTAURANT_PHRASINGS = [
  "Find me a {cuisine} restaurant in {city}.", "Where can I get {cuisine} food in {city}?", "Recommend a good {cuisine} place in {city}.",
  "Any {cuisine} restaurants in {city}?", "I want {cuisine} tonight in {city}. Where should I go?", "Find a {cuisine} place to eat in {city}.",
  "Looking for {cuisine} in {city}. Any good restaurants?", "Search for {cuisine} restaurants in {city}.", "What's a good {cuisine} restaurant in {city}?",
  "Can you recommend somewhere for {cuisine} in {city}?", "Best {cuisine} in {city}?", "We're in {city} and want {cuisine} for dinner. Ideas?",
  "Where should I eat {cuisine} in {city}?", "Point me to a {cuisine} restaurant in {city}.", "I'd love some {cuisine} in {city}. What do you recommend?",
  "Is there a decent {cuisine} place in {city}?", "Dinner in {city}: somewhere serving {cuisine}?", "Lunch spot for {cuisine} in {city}?",
];
const TIME_PHRASINGS = [
  "What time is it in {city}?", "What's the local time in {city} right now?", "Tell me the current time in {city}.", "Which date is it in {city} today?",
  "What's the time in {city}?", "Current time in {city}?", "Is it morning or evening in {city} right now?", "Do you know what time it is in {city}?",
  "Tell me the time in {city}.", "How late is it in {city} now?", "What hour is it in {city}?", "time in {city}", "What's today's date in {city}?",
  "Local time for {city}, please.", "Is it night in {city} at the moment?", "Has the day started in {city} yet? What time is it there?",
];
const STOCK_PHRASINGS = [
  "What's the stock price of {company}?", "How is {symbol} trading today?", "Get me the current price of {symbol}.",
  "What is {company} ({symbol}) stock worth right now?", "{symbol} price?", "What's {symbol} at right now?", "Check the share price of {company}.",
  "How much is a {company} share today?", "What is {company} trading at?", "Look up the stock {symbol}.", "Is {company} stock up or down today?",
  "Give me the latest price for {symbol}.", "What's the current market price of {company} ({symbol})?", "How are {company} shares doing today?",
  "Stock price for {symbol}, please.", "What does one share of {symbol} cost right now?", "Get a stock quote for {company}.", "Did {symbol} go up today?",
];
const CURRENCY_PHRASINGS = [
  "Convert {amount} {from} to {to}.", "How much is {amount} {fromName} in {toName}?", "What is {amount} {from} in {to}?",
  "Change {amount} {fromName} into {to}, please.", "{amount} {from} to {to}?", "What's {amount} {fromName} worth in {toName}?",
  "Turn {amount} {from} into {to}.", "Can you convert {amount} {fromName} to {toName}?", "What do {amount} {fromName} come to in {toName}?",
  "Currency conversion: {amount} {from} in {to}.", "I need to change {amount} {from} to {to}. What will that be?",
  "What is the value of {amount} {from} in {to} today?", "{amount} {fromName} in {toName}, please.", "Work out {amount} {from} in {to} at today's rate.",
];
const TRANSLATE_PHRASINGS = [
  'Translate "{phrase}" into {language}.', 'How do you say "{phrase}" in {language}?', 'What is "{phrase}" in {language}?', 'Say "{phrase}" in {language}.',
  'Can you translate "{phrase}" to {language}?', 'What\'s the {language} for "{phrase}"?', 'I need "{phrase}" in {language}.',
  '"{phrase}" in {language}, please.', 'How would a {language} speaker say "{phrase}"?', 'Give me the {language} translation of "{phrase}".',
];
const WEB_PHRASINGS = [
  "Search the web for {topic}.", "Look up {topic} online.", "Can you find information about {topic}?", "Find me articles on {topic}.",
  "Google {topic} for me.", "I want to read about {topic}. Can you search?", "Do a web search on {topic}.", "Search for {topic}.",
  "Look for information on {topic} on the internet.", "What does the web say about {topic}?",
];
const MULTIPLY_PHRASINGS = [
  "What is {a} * {b}?", "Calculate {a} times {b}.", "What's {a} multiplied by {b}?", "{a} x {b} = ?", "Multiply {a} by {b}.",
  "What do you get when you multiply {a} and {b}?", "What's the product of {a} and {b}?", "Can you work out {a} * {b}?", "{a} times {b}?",
  "Quick math: {a} times {b}.", "A hall has {b} rows of {a} seats. How many seats is that?",
];
const PERCENT_PHRASINGS = [
  "What is {p}% of {a}?", "Work out {p} percent of {a}.", "How much is a {p}% tip on a {a} dollar bill?", "{p}% of {a}?",
  "What's {p} percent of {a}?", "Find {p}% of {a}.", "If I tip {p}% on {a}, how much is the tip?",
];
const EMAIL_PHRASINGS = [
  'Send an email to {email} with the subject "{subject}" saying "{body}".', 'Email {email}: subject "{subject}", message "{body}".',
  'Please write to {email} (subject "{subject}"): "{body}"', 'Send {email} a message titled "{subject}": "{body}"',
  'Write an email to {person} at {email}, subject "{subject}", saying "{body}".', 'Email {person} ({email}) with subject "{subject}" and the text "{body}".',
  'Drop {email} a note. Subject: "{subject}". Message: "{body}"', 'Can you email {email}? Subject "{subject}", body "{body}".',
  'Mail {email}: "{body}" (subject: "{subject}").',
];
const CALENDAR_PHRASINGS = [
  'Schedule "{title}" on {date} at {time}.', 'Add "{title}" to my calendar for {date} at {time}.', 'Create a calendar event "{title}" on {date}, {time}, for {minutes} minutes.',
  'Book "{title}" on {date} at {time}.', 'Set up "{title}" for {date} at {time}.', 'Create an event called "{title}" on {date} at {time}.',
  'Add an event: "{title}", {date}, {time}.', 'I have "{title}" on {date} at {time}. Add it to my schedule.', 'Schedule an appointment "{title}" for {date} at {time}.',
  'New calendar entry: "{title}" on {date} at {time}.', 'Save "{title}" in my calendar on {date} at {time}.', 'Please schedule "{title}" at {time} on {date}.',
];

// Single calls ---------------------------------------------------------------------------

const single: TaskTemplate[] = [
  {
    id: "single.weather",
    category: "single",
    split: "train",
    phrasings: WEATHER_PHRASINGS,
    slots: citySlot,
    plan: (st) => (st.calls.length === 0 ? weatherCall(st) : weatherAnswer(st)),
  },
  {
    id: "single.weather-fahrenheit",
    category: "single",
    split: "train",
    phrasings: ["What's the temperature in {city} in Fahrenheit?", "How warm is it in {city}? Give me Fahrenheit.", "Tell me the weather in {city} in degrees Fahrenheit."],
    slots: citySlot,
    plan: (st) => (st.calls.length === 0 ? weatherCall(st, s(st, "city"), "fahrenheit") : weatherAnswer(st)),
  },
  {
    id: "single.weather.b",
    category: "single",
    split: "eval",
    phrasings: ["Tell me the current conditions in {city}.", "I'm heading out in {city}. What's it like outside?", "Is it sunny in {city} at the moment?"],
    slots: citySlot,
    plan: (st) => (st.calls.length === 0 ? weatherCall(st) : weatherAnswer(st)),
  },
  {
    id: "single.restaurant",
    category: "single",
    split: "train",
    phrasings: RESTAURANT_PHRASINGS,
    slots: restaurantSlots,
    plan: (st) => {
      if (st.calls.length === 0) {
        return call(`I should search for a ${s(st, "cuisine")} restaurant in ${s(st, "city")}.`, "search_restaurant", { location: s(st, "city"), cuisine: s(st, "cuisine") });
      }
      const o = st.observations[0];
      return answer("I found a good match.", restaurantAnswer(o, `I recommend `), [str(o, "name")]);
    },
  },
  {
    id: "single.restaurant.b",
    category: "single",
    split: "eval",
    phrasings: ["I'm hungry in {city} and craving {cuisine}. Any suggestions?", "Which {cuisine} spot would you suggest in {city}?"],
    slots: restaurantSlots,
    plan: (st) => {
      if (st.calls.length === 0) {
        return call(`I should search for a ${s(st, "cuisine")} restaurant in ${s(st, "city")}.`, "search_restaurant", { location: s(st, "city"), cuisine: s(st, "cuisine") });
      }
      const o = st.observations[0];
      return answer("I found a good match.", restaurantAnswer(o, `Try `), [str(o, "name")]);
    },
  },
  {
    id: "single.time",
    category: "single",
    split: "train",
    phrasings: TIME_PHRASINGS,
    slots: citySlot,
    plan: (st) => {
      if (st.calls.length === 0) return call(`I need the local time in ${s(st, "city")}.`, "get_time", { city: s(st, "city") });
      const o = st.observations[0];
      return answer(
        "I have the local time.",
        `It's ${str(o, "local_time")} on ${str(o, "date")} in ${s(st, "city")} (UTC${str(o, "utc_offset")}).`,
        [str(o, "local_time")],
      );
    },
  },
  {
    id: "single.time.b",
    category: "single",
    split: "eval",
    phrasings: ["If I called someone in {city} now, what time would it be for them?", "Clock check: {city}?"],
    slots: citySlot,
    plan: (st) => {
      if (st.calls.length === 0) return call(`I need the local time in ${s(st, "city")}.`, "get_time", { city: s(st, "city") });
      const o = st.observations[0];
      return answer("I have the local time.", `It's ${str(o, "local_time")} in ${s(st, "city")} (${str(o, "timezone")}).`, [str(o, "local_time")]);
    },
  },
  {
    id: "single.stock",
    category: "single",
    split: "train",
    phrasings: STOCK_PHRASINGS,
    slots: companySlots,
    plan: (st) => {
      if (st.calls.length === 0) return call(`I need the current stock price of ${s(st, "company")} (${s(st, "symbol")}).`, "get_stock_price", { symbol: s(st, "symbol") });
      const o = st.observations[0];
      const change = num(o, "change_percent");
      return answer(
        "I have the price.",
        `${s(st, "symbol")} is trading at ${num(o, "price")} ${str(o, "currency")}, ${change >= 0 ? "up" : "down"} ${Math.abs(change)}% today.`,
        [num(o, "price")],
      );
    },
  },
  {
    id: "single.stock.b",
    category: "single",
    split: "eval",
    phrasings: ["Quote me {symbol}.", "I own some {company} shares. What are they going for today?"],
    slots: companySlots,
    plan: (st) => {
      if (st.calls.length === 0) return call(`I need the current stock price of ${s(st, "symbol")}.`, "get_stock_price", { symbol: s(st, "symbol") });
      const o = st.observations[0];
      return answer("I have the price.", `${s(st, "company")} (${s(st, "symbol")}) is at ${num(o, "price")} ${str(o, "currency")} today.`, [num(o, "price")]);
    },
  },
  {
    id: "single.currency",
    category: "single",
    split: "train",
    phrasings: CURRENCY_PHRASINGS,
    slots: currencyPair,
    plan: (st) => {
      if (st.calls.length === 0) {
        return call(`I should convert ${s(st, "amount")} ${s(st, "from")} to ${s(st, "to")}.`, "convert_currency", { amount: Number(st.slots.amount), from: s(st, "from"), to: s(st, "to") });
      }
      const o = st.observations[0];
      return answer("I have the conversion.", `${s(st, "amount")} ${s(st, "from")} is ${num(o, "converted")} ${s(st, "to")} (rate ${num(o, "rate")}).`, [num(o, "converted")]);
    },
  },
  {
    id: "single.currency.b",
    category: "single",
    split: "eval",
    phrasings: ["I have {amount} {fromName}. How many {toName} would I get?", "Exchange {amount} {from} for {to}: how much is that?"],
    slots: currencyPair,
    plan: (st) => {
      if (st.calls.length === 0) {
        return call(`I should convert ${s(st, "amount")} ${s(st, "from")} to ${s(st, "to")}.`, "convert_currency", { amount: Number(st.slots.amount), from: s(st, "from"), to: s(st, "to") });
      }
      const o = st.observations[0];
      return answer("I have the conversion.", `You would get ${num(o, "converted")} ${s(st, "to")} for ${s(st, "amount")} ${s(st, "from")}.`, [num(o, "converted")]);
    },
  },
  {
    id: "single.translate",
    category: "single",
    split: "train",
    phrasings: TRANSLATE_PHRASINGS,
    slots: translateSlots,
    plan: (st) => {
      if (st.calls.length === 0) return call(`I should translate the phrase into ${s(st, "language")}.`, "translate", { text: s(st, "phrase"), target_language: s(st, "language") });
      const o = st.observations[0];
      return answer("I have the translation.", `"${s(st, "phrase")}" in ${s(st, "language")} is "${str(o, "translation")}".`, [str(o, "translation")]);
    },
  },
  {
    id: "single.web",
    category: "single",
    split: "train",
    phrasings: WEB_PHRASINGS,
    slots: webSlots,
    plan: (st) => {
      if (st.calls.length === 0) return call("I should search the web.", "search_web", { query: s(st, "topic") });
      const r = firstResult(st.observations[0]);
      return answer("The top result answers it.", `The top result is "${r.title}": ${r.snippet} (${r.url})`, [r.title]);
    },
  },
  {
    id: "single.calculator",
    category: "single",
    split: "train",
    phrasings: MULTIPLY_PHRASINGS,
    slots: (rng) => ({ a: rng.int(12, 999), b: rng.int(3, 99) }),
    plan: (st) => {
      if (st.calls.length === 0) return call("I'll use the calculator.", "calculator", { expression: `${s(st, "a")} * ${s(st, "b")}` });
      const r = num(st.observations[0], "result");
      return answer("I have the result.", `${s(st, "a")} × ${s(st, "b")} = ${r}.`, [r]);
    },
  },
  {
    id: "single.calculator-percent",
    category: "single",
    split: "train",
    phrasings: PERCENT_PHRASINGS,
    slots: (rng) => ({ p: rng.pick([5, 10, 12, 15, 18, 20, 25]), a: rng.int(20, 480) }),
    plan: (st) => {
      if (st.calls.length === 0) return call("I'll compute the percentage with the calculator.", "calculator", { expression: `${s(st, "a")} * ${s(st, "p")} / 100` });
      const r = num(st.observations[0], "result");
      return answer("I have the result.", `${s(st, "p")}% of ${s(st, "a")} is ${r}.`, [r]);
    },
  },
  {
    id: "single.calculator.b",
    category: "single",
    split: "eval",
    phrasings: ["I bought {b} boxes at {a} each. What's the total?", "Compute {a} times {b} for me."],
    slots: (rng) => ({ a: rng.int(12, 999), b: rng.int(3, 99) }),
    plan: (st) => {
      if (st.calls.length === 0) return call("I'll use the calculator.", "calculator", { expression: `${s(st, "a")} * ${s(st, "b")}` });
      const r = num(st.observations[0], "result");
      return answer("I have the result.", `The total is ${r}.`, [r]);
    },
  },
  {
    id: "single.email",
    category: "single",
    split: "train",
    phrasings: EMAIL_PHRASINGS,
    slots: emailSlots,
    plan: (st) => {
      if (st.calls.length === 0) return call(`I should send the email to ${s(st, "email")}.`, "send_email", { to: s(st, "email"), subject: s(st, "subject"), body: s(st, "body") });
      const o = st.observations[0];
      return answer("The email was sent.", `Done: your email "${s(st, "subject")}" was sent to ${s(st, "email")} (message id ${str(o, "message_id")}).`, [s(st, "email")]);
    },
  },
  {
    id: "single.calendar",
    category: "single",
    split: "train",
    phrasings: CALENDAR_PHRASINGS,
    slots: calendarSlots,
    plan: (st) => {
      if (st.calls.length === 0) {
        return call("I should create the calendar event.", "create_calendar_event", { title: s(st, "title"), date: s(st, "date"), time: s(st, "time") });
      }
      const o = st.observations[0];
      return answer("The event exists now.", `"${str(o, "title")}" is on your calendar for ${str(o, "date")} at ${str(o, "time")}.`, [s(st, "date")]);
    },
  },
  {
    id: "single.calendar.b",
    category: "single",
    split: "eval",
    phrasings: ['Put "{title}" in my diary: {date} at {time}.', 'Block {time} on {date} for "{title}".'],
    slots: (rng) => ({ title: rng.pick(EVENT_TITLES), date: rng.pick(DATES), time: rng.pick(TIMES) }),
    plan: (st) => {
      if (st.calls.length === 0) {
        return call("I should create the calendar event.", "create_calendar_event", { title: s(st, "title"), date: s(st, "date"), time: s(st, "time") });
      }
      const o = st.observations[0];
      return answer("The event exists now.", `Booked: "${str(o, "title")}" on ${str(o, "date")} at ${str(o, "time")}.`, [s(st, "date")]);
    },
  },
];

// Chains: a later call uses an earlier observation ---------------------------------------

function weatherThenRestaurant(id: string, split: "train" | "eval", phrasings: string[]): TaskTemplate {
  return {
    id,
    category: "chain",
    split,
    phrasings,
    slots: restaurantSlots,
    plan: (st) => {
      if (st.calls.length === 0) return weatherCall(st);
      const w = st.observations[0];
      if (st.calls.length === 1) {
        return call(
          `It's ${tempText(w)} and ${str(w, "condition")} in ${s(st, "city")}. Now I'll find a ${s(st, "cuisine")} restaurant there.`,
          "search_restaurant",
          { location: s(st, "city"), cuisine: s(st, "cuisine") },
        );
      }
      const r = st.observations[1];
      return answer(
        "I have the weather and a restaurant.",
        `${s(st, "city")} is ${tempText(w)} and ${str(w, "condition")}. ${restaurantAnswer(r, "For food, try ")}`,
        [num(w, "temperature"), str(r, "name")],
      );
    },
  };
}

function timeThenCalendar(id: string, split: "train" | "eval", phrasings: string[]): TaskTemplate {
  return {
    id,
    category: "chain",
    split,
    phrasings,
    slots: (rng) => ({ city: rng.pick(CITIES), title: rng.pick(EVENT_TITLES), time: rng.pick(TIMES) }),
    plan: (st) => {
      if (st.calls.length === 0) return call(`I need today's date in ${s(st, "city")} first.`, "get_time", { city: s(st, "city") });
      const t = st.observations[0];
      if (st.calls.length === 1) {
        return call(
          `Today in ${s(st, "city")} is ${str(t, "date")}. I'll create the event on that date at ${s(st, "time")}.`,
          "create_calendar_event",
          { title: s(st, "title"), date: str(t, "date"), time: s(st, "time") },
        );
      }
      const e = st.observations[1];
      return answer("The event is created.", `It's ${str(t, "local_time")} in ${s(st, "city")}. "${str(e, "title")}" is booked for ${str(e, "date")} at ${str(e, "time")}.`, [str(t, "date")]);
    },
  };
}

function stockThenConvert(id: string, split: "train" | "eval", phrasings: string[]): TaskTemplate {
  return {
    id,
    category: "chain",
    split,
    phrasings,
    slots: (rng) => ({ ...companySlots(rng), to: rng.pick(CURRENCIES.filter((c) => c.code !== "USD")).code }),
    plan: (st) => {
      if (st.calls.length === 0) return call(`I need the price of ${s(st, "symbol")} first.`, "get_stock_price", { symbol: s(st, "symbol") });
      const p = st.observations[0];
      if (st.calls.length === 1) {
        return call(
          `${s(st, "symbol")} is ${num(p, "price")} ${str(p, "currency")}. Now I'll convert that to ${s(st, "to")}.`,
          "convert_currency",
          { amount: num(p, "price"), from: str(p, "currency"), to: s(st, "to") },
        );
      }
      const c = st.observations[1];
      return answer(
        "I have the converted price.",
        `One ${s(st, "symbol")} share costs ${num(p, "price")} ${str(p, "currency")}, which is ${num(c, "converted")} ${s(st, "to")}.`,
        [num(c, "converted")],
      );
    },
  };
}

function webThenEmail(id: string, split: "train" | "eval", phrasings: string[]): TaskTemplate {
  return {
    id,
    category: "chain",
    split,
    phrasings,
    slots: (rng) => ({ topic: rng.pick(WEB_TOPICS), ...personSlots(rng) }),
    plan: (st) => {
      if (st.calls.length === 0) return call(`First I'll search the web for ${s(st, "topic")}.`, "search_web", { query: s(st, "topic") });
      const r = firstResult(st.observations[0]);
      if (st.calls.length === 1) {
        return call(`The top result is "${r.title}". I'll email it to ${s(st, "email")}.`, "send_email", {
          to: s(st, "email"),
          subject: `About ${s(st, "topic")}`,
          body: `${r.title}: ${r.snippet} (${r.url})`,
        });
      }
      return answer("The email is sent.", `I found "${r.title}" and emailed it to ${s(st, "email")}.`, [r.title]);
    },
  };
}

const chain: TaskTemplate[] = [
  weatherThenRestaurant("chain.weather-restaurant", "train", [
    "What's the weather in {city}? Also find me a {cuisine} restaurant there.",
    "Check the weather in {city} and recommend a {cuisine} place.",
    "I'm visiting {city}: how's the weather, and where can I eat {cuisine}?",
    "How's the weather in {city}, and can you find a {cuisine} restaurant?",
    "First check the weather in {city}, then find {cuisine} food there.",
    "Going out in {city} tonight: what's the weather like and where can I get {cuisine}?",
    "Weather in {city}, plus a good {cuisine} restaurant, please.",
    "I'll be in {city} later. Check the weather and search for a {cuisine} place.",
    "Is it nice out in {city}? Also, where's a good {cuisine} restaurant?",
  ]),
  weatherThenRestaurant("chain.weather-restaurant.b", "eval", ["Planning dinner in {city}. Tell me the weather and pick a {cuisine} restaurant."]),
  timeThenCalendar("chain.time-calendar", "train", [
    'What is the date today in {city}? Put "{title}" on my calendar for that day at {time}.',
    'Check today\'s date in {city} and schedule "{title}" at {time} on it.',
    'Find today\'s date in {city}, then add "{title}" at {time} on that date.',
    'Schedule "{title}" for today at {time}, {city} time. Check the local date first.',
    'What day is it in {city}? Create "{title}" on that date at {time}.',
    'Look up the current date in {city} and book "{title}" on it at {time}.',
  ]),
  timeThenCalendar("chain.time-calendar.b", "eval", ['I\'m in {city}. Book "{title}" for today at {time}, using the local date there.']),
  stockThenConvert("chain.stock-convert", "train", [
    "What is {company}'s share price in {to}?",
    "Get the price of {symbol} and convert it to {to}.",
    "How much is one {symbol} share in {to}?",
    "What does {symbol} cost in {to}?",
    "Show me the {symbol} share price converted to {to}.",
    "Price of one {company} share in {to}, please.",
    "Convert the current {symbol} stock price into {to}.",
    "How many {to} for one share of {company}?",
  ]),
  stockThenConvert("chain.stock-convert.b", "eval", ["I'm paying in {to}. What would a single {company} share cost me?"]),
  webThenEmail("chain.web-email", "train", [
    "Search the web for {topic} and email what you find to {email}.",
    "Look up {topic} and send the top result to {email}.",
    "Search for {topic} and send the best link to {person} at {email}.",
    "Do a web search on {topic}, then email the result to {email}.",
    "Email {email} the top search result for {topic}.",
    "Can you look up {topic} online and mail it to {person} ({email})?",
  ]),
  webThenEmail("chain.web-email.b", "eval", ["Find something on {topic} and forward it to {person} at {email}."]),
  {
    id: "chain.translate-email",
    category: "chain",
    split: "train",
    phrasings: [
      'Translate "{phrase}" into {language} and email it to {email}.', 'Send {person} ({email}) the {language} for "{phrase}".',
      'Email {email} how to say "{phrase}" in {language}.', 'Translate "{phrase}" to {language}, then mail the translation to {person} at {email}.',
    ],
    slots: (rng) => ({ phrase: rng.pick(PHRASES), language: rng.pick(LANGUAGES), ...personSlots(rng) }),
    plan: (st) => {
      if (st.calls.length === 0) return call(`First I'll translate the phrase into ${s(st, "language")}.`, "translate", { text: s(st, "phrase"), target_language: s(st, "language") });
      const t = str(st.observations[0], "translation");
      if (st.calls.length === 1) {
        return call(`The translation is "${t}". Now I'll email it.`, "send_email", { to: s(st, "email"), subject: `"${s(st, "phrase")}" in ${s(st, "language")}`, body: t });
      }
      return answer("The email is sent.", `"${s(st, "phrase")}" in ${s(st, "language")} is "${t}"; I sent it to ${s(st, "email")}.`, [t]);
    },
  },
];

// Conditionals: the second call depends on what the first observation says ----------------

function coldRestaurant(id: string, split: "train" | "eval", phrasings: string[]): TaskTemplate {
  return {
    id,
    category: "conditional",
    uses: ["get_weather", "search_restaurant"],
    split,
    phrasings,
    slots: (rng) => ({ city: mixedCity(rng), cuisine: rng.pick(WARM_CUISINES) }),
    plan: (st) => {
      if (st.calls.length === 0) return weatherCall(st);
      const w = st.observations[0];
      if (st.calls.length === 1 && isCold(w)) {
        return call(`${tempText(w)} is cold. I should recommend a ${s(st, "cuisine")} place.`, "search_restaurant", { location: s(st, "city"), cuisine: s(st, "cuisine") });
      }
      if (st.calls.length === 1) {
        return answer(
          `${tempText(w)} is not cold, so no ${s(st, "cuisine")} recommendation is needed.`,
          `It's ${tempText(w)} and ${str(w, "condition")} in ${s(st, "city")}, which isn't cold, so you don't need a warming ${s(st, "cuisine")} meal today.`,
          [num(w, "temperature")],
        );
      }
      const r = st.observations[1];
      return answer(
        "I have all the information.",
        `${s(st, "city")} is ${tempText(w)} and ${str(w, "condition")}, so it's cold. ${restaurantAnswer(r, "I recommend ")}`,
        [num(w, "temperature"), str(r, "name")],
      );
    },
  };
}

function hotRestaurant(id: string, split: "train" | "eval", phrasings: string[]): TaskTemplate {
  return {
    id,
    category: "conditional",
    uses: ["get_weather", "search_restaurant"],
    split,
    phrasings,
    slots: (rng) => ({ city: mixedCity(rng), cuisine: rng.pick(COOL_CUISINES) }),
    plan: (st) => {
      if (st.calls.length === 0) return weatherCall(st);
      const w = st.observations[0];
      if (st.calls.length === 1 && isHot(w)) {
        return call(`${tempText(w)} is hot. I'll look for ${s(st, "cuisine")}.`, "search_restaurant", { location: s(st, "city"), cuisine: s(st, "cuisine") });
      }
      if (st.calls.length === 1) {
        return answer(
          `${tempText(w)} is not hot, so I won't search.`,
          `It's ${tempText(w)} in ${s(st, "city")}, not hot enough to go looking for ${s(st, "cuisine")}.`,
          [num(w, "temperature")],
        );
      }
      const r = st.observations[1];
      return answer("I have all the information.", `It's hot in ${s(st, "city")} (${tempText(w)}). ${restaurantAnswer(r, "Cool down at ")}`, [num(w, "temperature"), str(r, "name")]);
    },
  };
}

function rainEmail(id: string, split: "train" | "eval", phrasings: string[]): TaskTemplate {
  return {
    id,
    category: "conditional",
    uses: ["get_weather", "send_email"],
    split,
    phrasings,
    slots: (rng) => ({ city: rng.pick(CITIES), ...personSlots(rng), plan: rng.pick(["the picnic", "the football game", "our walk", "the barbecue"]) }),
    plan: (st) => {
      if (st.calls.length === 0) return weatherCall(st);
      const w = st.observations[0];
      const rainy = ["rainy", "snowy"].includes(str(w, "condition"));
      if (st.calls.length === 1 && rainy) {
        return call(`It's ${str(w, "condition")} in ${s(st, "city")}, so I'll email ${s(st, "email")} to cancel.`, "send_email", {
          to: s(st, "email"),
          subject: `Cancelling ${s(st, "plan")}`,
          body: `It's ${str(w, "condition")} in ${s(st, "city")} (${tempText(w)}), so let's cancel ${s(st, "plan")}.`,
        });
      }
      if (st.calls.length === 1) {
        return answer(
          `It's ${str(w, "condition")}, not raining, so no email is needed.`,
          `It's ${str(w, "condition")} and ${tempText(w)} in ${s(st, "city")}, so ${s(st, "plan")} is on and I didn't send an email.`,
          [str(w, "condition")],
        );
      }
      return answer("The email is sent.", `It's ${str(w, "condition")} in ${s(st, "city")}, so I emailed ${s(st, "email")} to cancel ${s(st, "plan")}.`, [str(w, "condition")]);
    },
  };
}

function stockAlert(id: string, split: "train" | "eval", phrasings: string[]): TaskTemplate {
  return {
    id,
    category: "conditional",
    uses: ["get_stock_price", "send_email"],
    split,
    phrasings,
    slots: (rng) => ({ ...companySlots(rng), ...personSlots(rng) }),
    plan: (st) => {
      if (st.calls.length === 0) return call(`I need ${s(st, "symbol")}'s price and change today.`, "get_stock_price", { symbol: s(st, "symbol") });
      const p = st.observations[0];
      const change = num(p, "change_percent");
      if (st.calls.length === 1 && change < 0) {
        return call(`${s(st, "symbol")} is down ${Math.abs(change)}%. I'll send the alert.`, "send_email", {
          to: s(st, "email"),
          subject: `${s(st, "symbol")} is down`,
          body: `${s(st, "symbol")} is at ${num(p, "price")} ${str(p, "currency")}, down ${Math.abs(change)}% today.`,
        });
      }
      if (st.calls.length === 1) {
        return answer(
          `${s(st, "symbol")} is up ${change}%, so no alert is needed.`,
          `${s(st, "symbol")} is at ${num(p, "price")} ${str(p, "currency")}, up ${change}% today, so I didn't send an alert.`,
          [num(p, "price")],
        );
      }
      return answer("The alert is sent.", `${s(st, "symbol")} is down ${Math.abs(change)}% at ${num(p, "price")} ${str(p, "currency")}; I alerted ${s(st, "email")}.`, [num(p, "price")]);
    },
  };
}

const conditional: TaskTemplate[] = [
  coldRestaurant("conditional.cold-restaurant", "train", [
    "What's the weather in {city}? If it's cold, recommend a {cuisine} place.",
    "Check the weather in {city}, and if it's cold there, find me some {cuisine}.",
    "If it's cold in {city} right now, suggest a {cuisine} restaurant.",
    "If {city} is cold today, find me a {cuisine} restaurant.",
    "Check if it's cold in {city}; if it is, look for {cuisine}.",
    "Only if it's cold in {city}, recommend somewhere for {cuisine}.",
    "I want {cuisine} in {city}, but only if it's cold there. Check the weather first.",
    "Cold in {city}? Then I'd like {cuisine}. Otherwise never mind.",
  ]),
  coldRestaurant("conditional.cold-restaurant.b", "eval", ["Is it chilly in {city}? In that case I'd like a {cuisine} spot nearby."]),
  hotRestaurant("conditional.hot-restaurant", "train", [
    "If it's hot in {city}, find me a place for {cuisine}.",
    "Check whether it's hot in {city}; if so, recommend somewhere for {cuisine}.",
    "If {city} is hot right now, find a {cuisine} place.",
    "Check the temperature in {city}. If it's hot, suggest {cuisine}.",
    "I'd like {cuisine} in {city} if it's hot today. Check first.",
    "Only if it's a hot day in {city}, look for a {cuisine} restaurant.",
  ]),
  hotRestaurant("conditional.hot-restaurant.b", "eval", ["Should I cool off with {cuisine} in {city}? Only search if it's hot."]),
  rainEmail("conditional.rain-email", "train", [
    "Check the weather in {city}. If it's raining, email {email} to cancel {plan}.",
    "If it rains in {city} today, let {person} ({email}) know that {plan} is off.",
    "If it's raining or snowing in {city}, email {email} that {plan} is cancelled.",
    "Check {city}'s weather; in case of rain, tell {email} we're cancelling {plan}.",
    "Is it wet in {city}? If so, email {person} at {email} to cancel {plan}.",
    "Email {email} to cancel {plan}, but only if it rains in {city}.",
  ]),
  rainEmail("conditional.rain-email.b", "eval", ["Look at the forecast for {city} and, only if there is rain or snow, write to {email} calling off {plan}."]),
  stockAlert("conditional.stock-alert", "train", [
    "Check {symbol}. If it's down today, email {email} an alert.",
    "If {company} stock fell today, send an alert to {email}.",
    "If {symbol} dropped today, email {email} about it.",
    "Send {person} ({email}) an alert if {company} shares are down today.",
    "Check whether {company} fell today; if it did, email {email}.",
    "Email {email} a heads-up only if {symbol} is down.",
  ]),
  stockAlert("conditional.stock-alert.b", "eval", ["Keep an eye on {company} for me: only if its shares dropped today, warn {person} at {email}."]),
];

// Arithmetic over observations -----------------------------------------------------------

function tempDifference(id: string, split: "train" | "eval", phrasings: string[]): TaskTemplate {
  return {
    id,
    category: "arithmetic",
    split,
    phrasings,
    slots: (rng) => {
      const [a, b] = rng.sample(CITIES, 2);
      return { city1: a, city2: b };
    },
    plan: (st) => {
      if (st.calls.length === 0) return weatherCall(st, s(st, "city1"));
      if (st.calls.length === 1) return call(`Now I need the weather in ${s(st, "city2")}.`, "get_weather", { city: s(st, "city2") });
      const [a, b] = st.observations;
      if (st.calls.length === 2) {
        return call(`${s(st, "city1")} is ${tempText(a)} and ${s(st, "city2")} is ${tempText(b)}. I'll compute the difference.`, "calculator", {
          expression: `${num(a, "temperature")} - ${num(b, "temperature")}`,
        });
      }
      const d = num(st.observations[2], "result");
      const text =
        d === 0
          ? `${s(st, "city1")} and ${s(st, "city2")} are both ${tempText(a)} right now.`
          : `${s(st, "city1")} (${tempText(a)}) is ${Math.abs(d)} degrees ${d > 0 ? "warmer" : "colder"} than ${s(st, "city2")} (${tempText(b)}).`;
      return answer("I have the difference.", text, [Math.abs(d)]);
    },
  };
}

function sharesCost(id: string, split: "train" | "eval", phrasings: string[]): TaskTemplate {
  return {
    id,
    category: "arithmetic",
    split,
    phrasings,
    slots: (rng) => ({ ...companySlots(rng), n: rng.pick([2, 3, 5, 8, 10, 12, 15, 20, 25, 40, 50, 100]) }),
    laterOperand: (slots) => `Then I'll multiply it by ${slots.n}.`,
    plan: (st) => {
      if (st.calls.length === 0) return call(`I need the price of ${s(st, "symbol")}.`, "get_stock_price", { symbol: s(st, "symbol") });
      const p = st.observations[0];
      if (st.calls.length === 1) return call(`${s(st, "symbol")} is ${num(p, "price")} ${str(p, "currency")}. I'll multiply by ${s(st, "n")}.`, "calculator", { expression: `${num(p, "price")} * ${s(st, "n")}` });
      const total = num(st.observations[1], "result");
      return answer("I have the total.", `${s(st, "n")} shares of ${s(st, "symbol")} at ${num(p, "price")} ${str(p, "currency")} cost ${total} ${str(p, "currency")}.`, [total]);
    },
  };
}

function convertSplit(id: string, split: "train" | "eval", phrasings: string[]): TaskTemplate {
  return {
    id,
    category: "arithmetic",
    split,
    phrasings,
    slots: (rng) => ({ ...currencyPair(rng), n: rng.pick([2, 3, 4, 5, 6, 8]) }),
    laterOperand: (slots) => `Then I'll divide it by ${slots.n}.`,
    plan: (st) => {
      if (st.calls.length === 0) return call(`First I'll convert ${s(st, "amount")} ${s(st, "from")} to ${s(st, "to")}.`, "convert_currency", { amount: Number(st.slots.amount), from: s(st, "from"), to: s(st, "to") });
      const c = st.observations[0];
      // Money is split to the cent (round(…, 2)), so the share is a value a person would write.
      if (st.calls.length === 1) {
        return call(`That is ${num(c, "converted")} ${s(st, "to")}. Now I'll divide it by ${s(st, "n")}, to the cent.`, "calculator", { expression: `round(${num(c, "converted")} / ${s(st, "n")}, 2)` });
      }
      const share = num(st.observations[1], "result");
      return answer("I have each share.", `${s(st, "amount")} ${s(st, "from")} is ${num(c, "converted")} ${s(st, "to")}; split ${s(st, "n")} ways that's ${share} ${s(st, "to")} each.`, [share]);
    },
  };
}

const arithmetic: TaskTemplate[] = [
  tempDifference("arithmetic.temp-difference", "train", [
    "How much warmer is {city1} than {city2} right now?",
    "What's the temperature difference between {city1} and {city2}?",
    "Compare the temperatures in {city1} and {city2}: what's the gap?",
    "Is {city1} warmer than {city2}? By how much?",
    "How many degrees colder is {city1} than {city2}?",
    "Temperature difference, {city1} vs {city2}?",
    "Compare the weather in {city1} and {city2} and tell me the difference in degrees.",
  ]),
  tempDifference("arithmetic.temp-difference.b", "eval", ["By how many degrees does {city1} differ from {city2} today?"]),
  sharesCost("arithmetic.shares-cost", "train", [
    "How much do {n} shares of {symbol} cost?", "What would it cost to buy {n} {company} shares?", "Price of {n} {symbol} shares in total?",
    "What's the total for {n} shares of {symbol}?", "If I buy {n} shares of {company}, how much will I pay?", "Cost of {n} {company} shares right now?",
    "Calculate the price of {n} shares of {symbol}.",
  ]),
  sharesCost("arithmetic.shares-cost.b", "eval", ["I want {n} shares of {company}. What's the bill?"]),
  convertSplit("arithmetic.convert-split", "train", [
    "Convert {amount} {from} to {to} and split it among {n} people.",
    "We owe {amount} {fromName}, shared by {n} friends. How much is each share in {toName}?",
    "Split {amount} {from} between {n} people and give each share in {to}.",
    "{amount} {fromName} divided by {n}, in {toName}: how much each?",
    "Share {amount} {from} equally among {n} friends. Each share in {to}?",
  ]),
  convertSplit("arithmetic.convert-split.b", "eval", ["{n} of us are splitting a {amount} {from} bill. What does each person pay in {to}?"]),
  {
    id: "arithmetic.temp-average",
    category: "arithmetic",
    split: "train",
    phrasings: [
      "What's the average temperature of {city1} and {city2} right now?", "Average the current temperatures in {city1} and {city2}.",
      "What's the mean of the temperatures in {city1} and {city2}?", "Take the temperatures of {city1} and {city2} and average them.",
    ],
    slots: (rng) => {
      const [a, b] = rng.sample(CITIES, 2);
      return { city1: a, city2: b };
    },
    plan: (st) => {
      if (st.calls.length === 0) return weatherCall(st, s(st, "city1"));
      if (st.calls.length === 1) return call(`Now the weather in ${s(st, "city2")}.`, "get_weather", { city: s(st, "city2") });
      const [a, b] = st.observations;
      if (st.calls.length === 2) return call("I'll average the two temperatures.", "calculator", { expression: `(${num(a, "temperature")} + ${num(b, "temperature")}) / 2` });
      const avg = num(st.observations[2], "result");
      return answer("I have the average.", `${s(st, "city1")} is ${tempText(a)} and ${s(st, "city2")} is ${tempText(b)}; the average is ${avg}${unitSymbol(a)}.`, [avg]);
    },
  },
];

// Abstention: no tool needed -------------------------------------------------------------

interface Fact {
  q: string;
  a: string;
  key?: string;
}

function directAnswer(id: string, split: "train" | "eval", facts: readonly Fact[], thoughts: readonly string[]): TaskTemplate {
  return {
    id,
    category: "abstention",
    split,
    phrasings: ["{q}"],
    slots: (rng) => {
      const f = rng.pick(facts);
      return { q: f.q, a: f.a, key: f.key ?? "" };
    },
    plan: (st) => answer(vary(st, thoughts), s(st, "a"), st.slots.key === "" ? [] : [s(st, "key")]),
  };
}

const GREETINGS: Fact[] = [
  { q: "Hi!", a: "Hello! How can I help you today?" },
  { q: "Hello, how are you?", a: "I'm doing well, thank you! What can I do for you?" },
  { q: "Thanks for your help!", a: "You're welcome! Let me know if you need anything else." },
  { q: "Good morning!", a: "Good morning! How can I help?" },
  { q: "Who are you?", a: "I'm a helpful assistant. I can answer questions and use tools such as weather, time, currency conversion and more." },
  { q: "What can you do?", a: "I can check the weather and local time, find restaurants, convert currencies, look up stock prices, search the web, translate, do calculations, send emails and create calendar events." },
  { q: "Thank you, that's all.", a: "You're welcome. Have a great day!" },
  { q: "Hey there", a: "Hey! What can I help you with?" },
  { q: "Bye!", a: "Goodbye! Have a nice day." },
  { q: "Good afternoon!", a: "Good afternoon! What can I do for you?" },
  { q: "Hi there, can you help me?", a: "Of course! What do you need help with?" },
  { q: "Thanks, that was helpful.", a: "Glad it helped! Anything else?" },
  { q: "See you later!", a: "See you! Come back any time." },
  { q: "How's it going?", a: "All good here, thanks for asking! How can I help?" },
  { q: "Are you a robot?", a: "I'm an AI assistant. I can answer questions and use tools to look things up for you." },
  { q: "Nice work!", a: "Thank you! Happy to help." },
  { q: "Good night!", a: "Good night! Sleep well." },
  { q: "Yo!", a: "Hey! What can I do for you?" },
  { q: "Never mind, I figured it out.", a: "Great, glad you sorted it out! I'm here if you need anything else." },
  { q: "Hello!", a: "Hello! What can I do for you today?" },
  { q: "hi", a: "Hi! How can I help?" },
  { q: "Morning! Hope you're well.", a: "Good morning! I'm well, thanks. What can I do for you?" },
  { q: "Thank you so much!", a: "You're very welcome!" },
  { q: "That's perfect, thanks.", a: "Great! Let me know if there's anything else." },
  { q: "Ok, thanks.", a: "You're welcome!" },
  { q: "Talk to you later.", a: "Talk to you later! Have a good one." },
  { q: "What's your name?", a: "I'm your assistant. I don't have a personal name, but I'm happy to help." },
  { q: "Can you help me with something?", a: "Sure! Tell me what you need." },
  { q: "I'm back!", a: "Welcome back! What can I do for you?" },
  { q: "Great job, thank you.", a: "Thanks! Glad I could help." },
  { q: "Sorry to bother you.", a: "No bother at all! How can I help?" },
  { q: "Have a nice weekend!", a: "Thank you, you too!" },
  { q: "Do you have feelings?", a: "I'm an AI assistant, so I don't have feelings, but I'm here to help." },
  { q: "Are you there?", a: "Yes, I'm here! What do you need?" },
  { q: "Hi, good to see you again.", a: "Good to see you too! How can I help today?" },
];

const GREETINGS_EVAL: Fact[] = [
  { q: "Hello! Nice to meet you.", a: "Nice to meet you too! How can I help?" },
  { q: "Good evening, assistant.", a: "Good evening! What can I do for you?" },
  { q: "Cheers, you've been great.", a: "Thank you! Happy to help any time." },
  { q: "Howdy!", a: "Howdy! What can I help you with today?" },
  { q: "Thanks a lot, have a good one!", a: "You're welcome, you too!" },
  { q: "Hey, what's up?", a: "Not much! I'm here to help. What do you need?" },
];

/** Training countries for capital questions (the eval facts ask about Italy, Germany, Spain and Egypt). */
const CAPITALS: readonly [string, string][] = [
  ["Portugal", "Lisbon"], ["Greece", "Athens"], ["Poland", "Warsaw"], ["Sweden", "Stockholm"], ["Finland", "Helsinki"], ["Denmark", "Copenhagen"],
  ["Ireland", "Dublin"], ["Austria", "Vienna"], ["Hungary", "Budapest"], ["Turkey", "Ankara"], ["Russia", "Moscow"], ["China", "Beijing"],
  ["Thailand", "Bangkok"], ["Vietnam", "Hanoi"], ["Indonesia", "Jakarta"], ["Philippines", "Manila"], ["Mexico", "Mexico City"], ["Peru", "Lima"],
  ["Chile", "Santiago"], ["Colombia", "Bogotá"], ["Nigeria", "Abuja"], ["Morocco", "Rabat"], ["Ghana", "Accra"], ["New Zealand", "Wellington"],
  ["Switzerland", "Bern"], ["Belgium", "Brussels"], ["the Netherlands", "Amsterdam"], ["Czechia", "Prague"], ["Iceland", "Reykjavik"], ["Cuba", "Havana"],
];

const FACTS: Fact[] = [
  { q: "What is the capital of France?", a: "The capital of France is Paris.", key: "Paris" },
  { q: "What is the capital of Japan?", a: "The capital of Japan is Tokyo.", key: "Tokyo" },
  { q: "What is the capital of Australia?", a: "The capital of Australia is Canberra.", key: "Canberra" },
  { q: "What is the capital of Canada?", a: "The capital of Canada is Ottawa.", key: "Ottawa" },
  { q: "What is the capital of Brazil?", a: "The capital of Brazil is Brasília.", key: "Bras" },
  { q: "How many days are in a week?", a: "There are 7 days in a week.", key: "7" },
  { q: "How many continents are there?", a: "There are 7 continents.", key: "7" },
  { q: "What is the chemical symbol for water?", a: "Water is H2O.", key: "H2O" },
  { q: "Who wrote Romeo and Juliet?", a: "Romeo and Juliet was written by William Shakespeare.", key: "Shakespeare" },
  { q: "What planet is known as the Red Planet?", a: "Mars is known as the Red Planet.", key: "Mars" },
  { q: "What is the largest ocean on Earth?", a: "The Pacific Ocean is the largest ocean on Earth.", key: "Pacific" },
  { q: "What does CPU stand for?", a: "CPU stands for central processing unit.", key: "central processing unit" },
  { q: "How many legs does a spider have?", a: "A spider has 8 legs.", key: "8" },
  { q: "What color do you get by mixing blue and yellow?", a: "Mixing blue and yellow gives green.", key: "green" },
  { q: "What is the freezing point of water in Celsius?", a: "Water freezes at 0 degrees Celsius.", key: "0" },
  { q: "Who painted the Mona Lisa?", a: "The Mona Lisa was painted by Leonardo da Vinci.", key: "Leonardo" },
  { q: "What gas do plants absorb from the air?", a: "Plants absorb carbon dioxide (CO2).", key: "carbon dioxide" },
  { q: "How many minutes are in an hour?", a: "There are 60 minutes in an hour.", key: "60" },
  { q: "What is the opposite of 'hot'?", a: "The opposite of hot is cold.", key: "cold" },
  { q: "Can you explain what a noun is?", a: "A noun is a word that names a person, place, thing or idea, like 'city' or 'Alice'.", key: "person, place" },
  { q: "Tell me a fun fact about octopuses.", a: "Octopuses have three hearts and blue blood.", key: "three hearts" },
  { q: "What's a good name for a pet goldfish?", a: "How about Bubbles? Other fun names are Goldie, Nemo or Finn.", key: "Bubbles" },
  { q: "What is the capital of India?", a: "The capital of India is New Delhi.", key: "Delhi" },
  { q: "What is the capital of Kenya?", a: "The capital of Kenya is Nairobi.", key: "Nairobi" },
  { q: "What is the capital of Norway?", a: "The capital of Norway is Oslo.", key: "Oslo" },
  { q: "What is the capital of Argentina?", a: "The capital of Argentina is Buenos Aires.", key: "Buenos Aires" },
  { q: "What is the capital of South Korea?", a: "The capital of South Korea is Seoul.", key: "Seoul" },
  { q: "How many months are in a year?", a: "There are 12 months in a year.", key: "12" },
  { q: "How many seconds are in a minute?", a: "There are 60 seconds in a minute.", key: "60" },
  { q: "How many days are in a leap year?", a: "A leap year has 366 days.", key: "366" },
  { q: "How many legs does an insect have?", a: "An insect has 6 legs.", key: "6" },
  { q: "How many planets are in our solar system?", a: "There are 8 planets in our solar system.", key: "8" },
  { q: "What is the chemical symbol for sodium?", a: "The chemical symbol for sodium is Na.", key: "Na" },
  { q: "What is the hardest natural substance?", a: "Diamond is the hardest natural substance.", key: "diamond" },
  { q: "Which is the longest river in Africa?", a: "The Nile is the longest river in Africa.", key: "Nile" },
  { q: "What is the tallest mountain on Earth?", a: "Mount Everest is the tallest mountain on Earth.", key: "Everest" },
  { q: "Which planet is closest to the Sun?", a: "Mercury is the planet closest to the Sun.", key: "Mercury" },
  { q: "Who developed the theory of relativity?", a: "Albert Einstein developed the theory of relativity.", key: "Einstein" },
  { q: "Who wrote Pride and Prejudice?", a: "Pride and Prejudice was written by Jane Austen.", key: "Austen" },
  { q: "Who composed the Fifth Symphony that starts with four famous notes?", a: "Ludwig van Beethoven composed that Fifth Symphony.", key: "Beethoven" },
  { q: "What language is spoken in Brazil?", a: "The official language of Brazil is Portuguese.", key: "Portuguese" },
  { q: "What is the largest mammal?", a: "The blue whale is the largest mammal.", key: "blue whale" },
  { q: "What do bees make?", a: "Bees make honey (and beeswax).", key: "honey" },
  { q: "What does DNA stand for?", a: "DNA stands for deoxyribonucleic acid.", key: "deoxyribonucleic acid" },
  { q: "What does URL stand for?", a: "URL stands for Uniform Resource Locator.", key: "Uniform Resource Locator" },
  { q: "What is the opposite of 'early'?", a: "The opposite of early is late.", key: "late" },
  { q: "What is the plural of 'mouse'?", a: "The plural of mouse is mice.", key: "mice" },
  { q: "Can you explain what a verb is?", a: "A verb is a word for an action or a state, like 'run', 'think' or 'be'.", key: "action" },
  { q: "What is photosynthesis, in one sentence?", a: "Photosynthesis is how plants use sunlight, water and carbon dioxide to make sugar and release oxygen.", key: "sunlight" },
  { q: "Why is the sky blue?", a: "Air scatters blue light from the Sun more than red light (Rayleigh scattering), so the sky looks blue.", key: "scatter" },
  { q: "What is the difference between weather and climate?", a: "Weather is the conditions at one time and place; climate is the average of the weather over many years.", key: "average" },
  { q: "Give me a word that rhymes with 'cat'.", a: "Hat rhymes with cat, and so do bat and mat." },
  { q: "Tell me a joke.", a: "Why don't scientists trust atoms? Because they make up everything!" },
  { q: "Suggest a name for a new puppy.", a: "How about Biscuit? Max, Luna and Pepper are fun choices too." },
  { q: "What's a healthy breakfast idea?", a: "Oatmeal with fruit and nuts is a quick, healthy breakfast." },
  { q: "How do I say thank you politely in an email?", a: "You could write: \"Thank you very much for your help; I really appreciate it.\"" },
  { q: "Write a one-line birthday wish for a friend.", a: "Happy birthday! Wishing you a year full of laughter and good things." },
  { q: "What is a haiku?", a: "A haiku is a short Japanese poem of three lines with 5, 7 and 5 syllables.", key: "three lines" },
  { q: "What is the freezing point of water in Fahrenheit?", a: "Water freezes at 32 degrees Fahrenheit.", key: "32" },
  ...CAPITALS.flatMap(([country, capital], i) => {
    const q = [`What is the capital of ${country}?`, `What's ${country}'s capital city?`, `Name the capital of ${country}.`, `${country}: what is its capital?`][i % 4];
    return [{ q, a: `The capital of ${country} is ${capital}.`, key: capital }];
  }),
  // Questions about a tool's subject that need no tool: the topic alone is no reason to call one.
  { q: "What is a stock?", a: "A stock is a share of ownership in a company; its price moves as people buy and sell it.", key: "ownership" },
  { q: "How do exchange rates work?", a: "An exchange rate is the price of one currency in another; it moves with supply and demand for each currency.", key: "price of one currency" },
  { q: "What causes rain?", a: "Water vapour cools and condenses into droplets in clouds; when the droplets grow heavy enough, they fall as rain.", key: "condens" },
  { q: "What is a time zone?", a: "A time zone is a region that uses the same standard time, usually an offset of whole hours from UTC.", key: "UTC" },
  { q: "What does UTC stand for?", a: "UTC stands for Coordinated Universal Time.", key: "Coordinated Universal Time" },
  { q: "How do I write a polite email?", a: "Start with a greeting, say what you need clearly and briefly, thank the reader, and sign off with your name." },
  { q: "What is a calendar year?", a: "A calendar year runs from January 1 to December 31: 365 days, or 366 in a leap year.", key: "365" },
  { q: "What is a good tip percentage at a restaurant?", a: "In the US, 15–20% is a usual tip at a sit-down restaurant; customs differ by country.", key: "15" },
  { q: "What is the difference between weather and a forecast?", a: "Weather is what the conditions are now; a forecast is a prediction of what they will be.", key: "prediction" },
  { q: "Why do people translate books?", a: "So that readers who don't speak the original language can read them." },
  { q: "What does a search engine do?", a: "A search engine finds web pages that match your query and ranks them by relevance.", key: "web pages" },
  { q: "What is sushi made of?", a: "Sushi is vinegared rice, usually with raw fish, seafood or vegetables, often wrapped in seaweed.", key: "rice" },
  { q: "What is the euro?", a: "The euro is the currency used by most countries of the European Union.", key: "currency" },
  { q: "Who founded Microsoft?", a: "Microsoft was founded by Bill Gates and Paul Allen.", key: "Gates" },
  { q: "Is a tomato a fruit or a vegetable?", a: "Botanically a tomato is a fruit, though it is cooked and eaten like a vegetable.", key: "fruit" },
  { q: "How many bones are in the adult human body?", a: "An adult human body has 206 bones.", key: "206" },
  { q: "What is the speed of light, roughly?", a: "Light travels at about 300,000 kilometres per second.", key: "300" },
  { q: "Which ocean lies between Europe and North America?", a: "The Atlantic Ocean lies between Europe and North America.", key: "Atlantic" },
  { q: "Who was the first person to walk on the Moon?", a: "Neil Armstrong was the first person to walk on the Moon, in 1969.", key: "Armstrong" },
  { q: "What is the smallest prime number?", a: "The smallest prime number is 2.", key: "2" },
  { q: "What is the main ingredient of guacamole?", a: "Guacamole is made mainly from avocado.", key: "avocado" },
  { q: "Give me a tip for sleeping better.", a: "Keep a regular bedtime and avoid screens for an hour before sleep." },
  { q: "Recommend a classic novel.", a: "Try \"Jane Eyre\" by Charlotte Brontë, a classic that still reads well today." },
  { q: "What is a synonym for 'big'?", a: "A synonym for big is large." },
  { q: "Spell 'necessary' for me.", a: "It's spelled N-E-C-E-S-S-A-R-Y.", key: "N-E-C-E-S-S-A-R-Y" },
];

const FACTS_EVAL: Fact[] = [
  { q: "Which city is the capital of Italy?", a: "Rome is the capital of Italy.", key: "Rome" },
  { q: "Which city is the capital of Germany?", a: "Berlin is the capital of Germany.", key: "Berlin" },
  { q: "Which city is the capital of Spain?", a: "Madrid is the capital of Spain.", key: "Madrid" },
  { q: "Which city is the capital of Egypt?", a: "Cairo is the capital of Egypt.", key: "Cairo" },
  { q: "How many hours are there in a day?", a: "A day has 24 hours.", key: "24" },
  { q: "Who wrote Hamlet?", a: "Hamlet was written by William Shakespeare.", key: "Shakespeare" },
  { q: "What is the largest planet in our solar system?", a: "Jupiter is the largest planet in our solar system.", key: "Jupiter" },
  { q: "What does HTML stand for?", a: "HTML stands for HyperText Markup Language.", key: "HyperText Markup Language" },
  { q: "How many sides does a triangle have?", a: "A triangle has 3 sides.", key: "3" },
  { q: "What is the boiling point of water in Celsius at sea level?", a: "Water boils at 100 degrees Celsius at sea level.", key: "100" },
  { q: "Which animal is known as the king of the jungle?", a: "The lion is known as the king of the jungle.", key: "lion" },
  // No key: any synonym is a right answer.
  { q: "Give me a synonym for 'happy'.", a: "A synonym for happy is joyful." },
  { q: "Who painted The Starry Night?", a: "The Starry Night was painted by Vincent van Gogh.", key: "van Gogh" },
  { q: "How many players are on a soccer team on the field?", a: "A soccer team has 11 players on the field.", key: "11" },
  { q: "What is the chemical symbol for gold?", a: "The chemical symbol for gold is Au.", key: "Au" },
];

const abstention: TaskTemplate[] = [
  directAnswer("abstention.greeting", "train", GREETINGS, ["This is a greeting; no tool is needed.", "No tool is needed to reply to this."]),
  directAnswer("abstention.facts", "train", FACTS, ["I know this; no tool is needed.", "This is general knowledge, so I can answer directly.", "No tool is needed for this question."]),
  directAnswer("abstention.greeting.b", "eval", GREETINGS_EVAL, ["This is a greeting; no tool is needed."]),
  directAnswer("abstention.facts.b", "eval", FACTS_EVAL, ["I know this; no tool is needed."]),
];

// Missing tool: the needed tool is not offered -------------------------------------------

function missingTool(id: string, split: "train" | "eval", needs: string, what: string, phrasings: string[], slots: (rng: Rng) => SlotValues): TaskTemplate {
  return {
    id,
    category: "missing_tool",
    split,
    phrasings,
    slots,
    withhold: [needs],
    plan: (st) =>
      answer(
        `I would need a tool to ${what}, but none of the available tools can do that.`,
        vary(st, [
          `Sorry, I can't ${what} right now: I don't have a tool for that.`,
          `I'm sorry, but I don't have access to a tool that can ${what}, so I can't help with that here.`,
          `Unfortunately none of my tools can ${what}, so I can't answer that.`,
        ]),
        [],
      ),
  };
}

function noSuchTool(id: string, split: "train" | "eval", requests: readonly { q: string; what: string }[]): TaskTemplate {
  return {
    id,
    category: "missing_tool",
    split,
    phrasings: ["{q}"],
    offerAll: true,
    slots: (rng) => {
      const r = rng.pick(requests);
      return { q: r.q, what: r.what };
    },
    plan: (st) =>
      answer(
        `I would need a tool to ${s(st, "what")}, and none of my tools can do that.`,
        vary(st, [`Sorry, I can't ${s(st, "what")}: I don't have a tool for that.`, `I'm sorry, but none of my tools can ${s(st, "what")}.`]),
        [],
      ),
  };
}

const missing: TaskTemplate[] = [
  missingTool("missing.weather", "train", "get_weather", "check the weather", WEATHER_PHRASINGS, citySlot),
  missingTool("missing.stock", "train", "get_stock_price", "look up stock prices", STOCK_PHRASINGS, companySlots),
  missingTool("missing.translate", "train", "translate", "translate text", TRANSLATE_PHRASINGS, translateSlots),
  missingTool("missing.email", "train", "send_email", "send emails", EMAIL_PHRASINGS, emailSlots),
  missingTool("missing.restaurant", "train", "search_restaurant", "search for restaurants", RESTAURANT_PHRASINGS, restaurantSlots),
  missingTool("missing.time", "train", "get_time", "check the local time", TIME_PHRASINGS, citySlot),
  missingTool("missing.currency", "train", "convert_currency", "convert currencies", CURRENCY_PHRASINGS, currencyPair),
  missingTool("missing.calendar", "train", "create_calendar_event", "create calendar events", CALENDAR_PHRASINGS, calendarSlots),
  missingTool("missing.web", "train", "search_web", "search the web", WEB_PHRASINGS, webSlots),
  missingTool("missing.weather.b", "eval", "get_weather", "check the weather", ["Do I need an umbrella in {city} today?", "Tell me the current temperature in {city}."], citySlot),
  missingTool("missing.currency.b", "eval", "convert_currency", "convert currencies", ["How many {toName} is {amount} {fromName}?", "Convert {amount} {from} into {to}."], currencyPair),
  missingTool("missing.calendar.b", "eval", "create_calendar_event", "create calendar events", ['Put "{title}" on my calendar for {date} at {time}.'], (rng) => ({ title: rng.pick(EVENT_TITLES), date: rng.pick(DATES), time: rng.pick(TIMES) })),
  noSuchTool("missing.no-such-tool", "train", [
    { q: "Book me a flight from London to New York next Friday.", what: "book flights" },
    { q: "Order a large pepperoni pizza to my home.", what: "order food" },
    { q: "Play some relaxing music.", what: "play music" },
    { q: "Turn off the lights in the living room.", what: "control smart home devices" },
    { q: "Call my mom.", what: "make phone calls" },
    { q: "Reserve a table for two at 8 pm tonight.", what: "make restaurant reservations" },
    { q: "Buy 10 shares of Apple for me.", what: "trade stocks" },
    { q: "Post this photo to my Instagram.", what: "post to social media" },
    { q: "Set an alarm for 6 am.", what: "set alarms" },
    { q: "Transfer 200 dollars to Bob's bank account.", what: "make bank transfers" },
    { q: "Rent me a car in Madrid for the weekend.", what: "rent cars" },
    { q: "Pay my electricity bill.", what: "pay bills" },
    { q: "Open the garage door.", what: "control smart home devices" },
    { q: "Read my latest emails to me.", what: "read emails" },
    { q: "Delete the meeting on my calendar tomorrow.", what: "delete calendar events" },
    { q: "Take a screenshot of my screen.", what: "take screenshots" },
    { q: "Print this document.", what: "print documents" },
    { q: "Send a WhatsApp message to Priya.", what: "send chat messages" },
    { q: "Order groceries for delivery tonight.", what: "order groceries" },
    { q: "Share my location with Tom.", what: "share your location" },
    { q: "Sell all my Tesla shares.", what: "trade stocks" },
    { q: "Start a video call with my team.", what: "start video calls" },
    { q: "Download the latest episode of my podcast.", what: "download files" },
    { q: "Lock my front door.", what: "control smart home devices" },
    { q: "Set a timer for 10 minutes.", what: "set timers" },
  ]),
  noSuchTool("missing.no-such-tool.b", "eval", [
    { q: "Book a hotel room in Paris for tomorrow night.", what: "book hotels" },
    { q: "Order me a taxi to the airport.", what: "order taxis" },
    { q: "Text Alice that I'm on my way.", what: "send text messages" },
    { q: "Buy a ticket for tonight's concert.", what: "buy tickets" },
    { q: "Start the washing machine.", what: "control home appliances" },
  ]),
];

/**
 * A train template with its second and third phrasing sets (EXTRA_PHRASINGS, THIRD_PHRASINGS); a
 * missing-tool template without its own set takes that of the single call it withholds
 * (missing.weather that of single.weather). Eval templates never get any.
 */
function withExtraPhrasings(template: TaskTemplate): TaskTemplate {
  if (template.split !== "train") return template;
  const single = template.id.replace(/^missing\./, "single.");
  const extra = EXTRA_PHRASINGS[template.id] ?? EXTRA_PHRASINGS[single];
  const third = THIRD_PHRASINGS[template.id] ?? THIRD_PHRASINGS[single];
  return { ...template, ...(extra === undefined ? {} : { extraPhrasings: extra }), ...(third === undefined ? {} : { thirdPhrasings: third }) };
}

/** Every built-in template, in a fixed order (the builder's draws depend on it). */
export const TEMPLATES: readonly TaskTemplate[] = [...single, ...chain, ...conditional, ...arithmetic, ...abstention, ...missing].map(withExtraPhrasings);

/** The templates of one split. */
export function templatesFor(split: "train" | "eval", templates: readonly TaskTemplate[] = TEMPLATES): TaskTemplate[] {
  return templates.filter((t) => t.split === split);
}
