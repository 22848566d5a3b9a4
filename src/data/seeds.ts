import type { TrainingExample } from "./task.js";

/**
 * Ten hand-written seed trajectories (1–3 tool calls each): chains where a later call uses an
 * earlier observation, conditionals in the style of "if it's cold", arithmetic over
 * observations, a translation and a conversion. Their observations are written by hand in the
 * shapes of the built-in tools (they carry no simulator `seed`); the builder puts them at the
 * start of a training set, and the templates generalise each of them.
 */
export const SEED_TRAJECTORIES: readonly TrainingExample[] = [
  {
    id: "seed-01-weather-ramen",
    query: "What's the weather in Tokyo? If it's cold, recommend a ramen place.",
    category: "conditional",
    expected_tools: ["get_weather", "search_restaurant"],
    expected_calls: [
      { name: "get_weather", arguments: { city: "Tokyo" } },
      { name: "search_restaurant", arguments: { location: "Tokyo", cuisine: "ramen" } },
    ],
    answer_contains: ["8", "Ichiran Ramen"],
    min_steps: 3,
    max_steps: 5,
    steps: [
      {
        kind: "action",
        thought: "I need to check the weather in Tokyo first.",
        action: { name: "get_weather", arguments: { city: "Tokyo" } },
        observation: { city: "Tokyo", temperature: 8, unit: "celsius", condition: "cloudy", humidity: 62 },
      },
      {
        kind: "action",
        thought: "8°C is cold. I should recommend a ramen restaurant.",
        action: { name: "search_restaurant", arguments: { location: "Tokyo", cuisine: "ramen" } },
        observation: { name: "Ichiran Ramen", cuisine: "ramen", location: "Tokyo", rating: 4.6, price_range: "$$", address: "1-22-7 Jinnan, Shibuya" },
      },
      { kind: "answer", thought: "I have all the information.", answer: "Tokyo is 8°C and cloudy, so it's cold. I recommend Ichiran Ramen (rated 4.6, $$) at 1-22-7 Jinnan, Shibuya." },
    ],
  },
  {
    id: "seed-02-madrid-not-cold",
    query: "Check the weather in Madrid, and if it's cold there, find me some soup.",
    category: "conditional",
    expected_tools: ["get_weather"],
    expected_calls: [{ name: "get_weather", arguments: { city: "Madrid" } }],
    answer_contains: ["22"],
    min_steps: 2,
    max_steps: 4,
    steps: [
      {
        kind: "action",
        thought: "I should check the weather in Madrid.",
        action: { name: "get_weather", arguments: { city: "Madrid" } },
        observation: { city: "Madrid", temperature: 22, unit: "celsius", condition: "sunny", humidity: 35 },
      },
      { kind: "answer", thought: "22°C is not cold, so no soup recommendation is needed.", answer: "It's 22°C and sunny in Madrid, which isn't cold, so you don't need a warming soup today." },
    ],
  },
  {
    id: "seed-03-time-calendar",
    query: 'What is the date today in London? Put "Call with the bank" on my calendar for that day at 15:00.',
    category: "chain",
    expected_tools: ["get_time", "create_calendar_event"],
    expected_calls: [
      { name: "get_time", arguments: { city: "London" } },
      { name: "create_calendar_event", arguments: { title: "Call with the bank", date: "2026-11-24", time: "15:00" } },
    ],
    answer_contains: ["2026-11-24"],
    min_steps: 3,
    max_steps: 5,
    steps: [
      {
        kind: "action",
        thought: "I need today's date in London first.",
        action: { name: "get_time", arguments: { city: "London" } },
        observation: { city: "London", timezone: "Europe/London", local_time: "10:42", date: "2026-11-24", utc_offset: "+00:00" },
      },
      {
        kind: "action",
        thought: "Today in London is 2026-11-24. I'll create the event on that date at 15:00.",
        action: { name: "create_calendar_event", arguments: { title: "Call with the bank", date: "2026-11-24", time: "15:00" } },
        observation: { status: "created", event_id: "evt_7f3a91", title: "Call with the bank", date: "2026-11-24", time: "15:00" },
      },
      { kind: "answer", thought: "The event is created.", answer: 'It\'s 10:42 in London. "Call with the bank" is booked for 2026-11-24 at 15:00.' },
    ],
  },
  {
    id: "seed-04-stock-convert",
    query: "How much is one NVDA share in EUR?",
    category: "chain",
    expected_tools: ["get_stock_price", "convert_currency"],
    expected_calls: [
      { name: "get_stock_price", arguments: { symbol: "NVDA" } },
      { name: "convert_currency", arguments: { amount: 181.35, from: "USD", to: "EUR" } },
    ],
    answer_contains: ["156.41"],
    min_steps: 3,
    max_steps: 5,
    steps: [
      {
        kind: "action",
        thought: "I need the price of NVDA first.",
        action: { name: "get_stock_price", arguments: { symbol: "NVDA" } },
        observation: { symbol: "NVDA", price: 181.35, currency: "USD", change_percent: 1.24 },
      },
      {
        kind: "action",
        thought: "NVDA is 181.35 USD. Now I'll convert that to EUR.",
        action: { name: "convert_currency", arguments: { amount: 181.35, from: "USD", to: "EUR" } },
        observation: { amount: 181.35, from: "USD", to: "EUR", rate: 0.8625, converted: 156.41 },
      },
      { kind: "answer", thought: "I have the converted price.", answer: "One NVDA share costs 181.35 USD, which is 156.41 EUR." },
    ],
  },
  {
    id: "seed-05-web-email",
    query: "Search the web for the James Webb Space Telescope and email what you find to alice@example.com.",
    category: "chain",
    expected_tools: ["search_web", "send_email"],
    answer_contains: ["James Webb Space Telescope - NASA Science"],
    min_steps: 3,
    max_steps: 5,
    steps: [
      {
        kind: "action",
        thought: "First I'll search the web for the James Webb Space Telescope.",
        action: { name: "search_web", arguments: { query: "the James Webb Space Telescope" } },
        observation: {
          query: "the James Webb Space Telescope",
          results: [
            { title: "James Webb Space Telescope - NASA Science", url: "https://science.nasa.gov/mission/webb/", snippet: "Webb is the largest, most powerful space telescope ever built, observing in infrared." },
            { title: "James Webb Space Telescope - Wikipedia", url: "https://en.wikipedia.org/wiki/James_Webb_Space_Telescope", snippet: "JWST launched on 25 December 2021 and orbits the Sun near the L2 point." },
          ],
        },
      },
      {
        kind: "action",
        thought: 'The top result is "James Webb Space Telescope - NASA Science". I\'ll email it to alice@example.com.',
        action: {
          name: "send_email",
          arguments: {
            to: "alice@example.com",
            subject: "About the James Webb Space Telescope",
            body: "James Webb Space Telescope - NASA Science: Webb is the largest, most powerful space telescope ever built, observing in infrared. (https://science.nasa.gov/mission/webb/)",
          },
        },
        observation: { status: "sent", message_id: "msg_52c0d8", to: "alice@example.com" },
      },
      { kind: "answer", thought: "The email is sent.", answer: 'I found "James Webb Space Telescope - NASA Science" and emailed it to alice@example.com.' },
    ],
  },
  {
    id: "seed-06-temperature-difference",
    query: "How much warmer is Dubai than Reykjavik right now?",
    category: "arithmetic",
    expected_tools: ["get_weather", "get_weather", "calculator"],
    expected_calls: [
      { name: "get_weather", arguments: { city: "Dubai" } },
      { name: "get_weather", arguments: { city: "Reykjavik" } },
    ],
    answer_contains: ["29"],
    min_steps: 4,
    max_steps: 6,
    steps: [
      {
        kind: "action",
        thought: "I need the current weather in Dubai.",
        action: { name: "get_weather", arguments: { city: "Dubai" } },
        observation: { city: "Dubai", temperature: 31, unit: "celsius", condition: "sunny", humidity: 48 },
      },
      {
        kind: "action",
        thought: "Now I need the weather in Reykjavik.",
        action: { name: "get_weather", arguments: { city: "Reykjavik" } },
        observation: { city: "Reykjavik", temperature: 2, unit: "celsius", condition: "windy", humidity: 81 },
      },
      {
        kind: "action",
        thought: "Dubai is 31°C and Reykjavik is 2°C. I'll compute the difference.",
        action: { name: "calculator", arguments: { expression: "31 - 2" } },
        observation: { expression: "31 - 2", result: 29 },
      },
      { kind: "answer", thought: "I have the difference.", answer: "Dubai (31°C) is 29 degrees warmer than Reykjavik (2°C)." },
    ],
  },
  {
    id: "seed-07-shares-cost",
    query: "How much do 5 shares of AAPL cost?",
    category: "arithmetic",
    expected_tools: ["get_stock_price", "calculator"],
    expected_calls: [{ name: "get_stock_price", arguments: { symbol: "AAPL" } }],
    answer_contains: ["1143.75"],
    min_steps: 3,
    max_steps: 5,
    steps: [
      {
        kind: "action",
        thought: "I need the price of AAPL.",
        action: { name: "get_stock_price", arguments: { symbol: "AAPL" } },
        observation: { symbol: "AAPL", price: 228.75, currency: "USD", change_percent: -0.42 },
      },
      {
        kind: "action",
        thought: "AAPL is 228.75 USD. I'll multiply by 5.",
        action: { name: "calculator", arguments: { expression: "228.75 * 5" } },
        observation: { expression: "228.75 * 5", result: 1143.75 },
      },
      { kind: "answer", thought: "I have the total.", answer: "5 shares of AAPL at 228.75 USD cost 1143.75 USD." },
    ],
  },
  {
    id: "seed-08-rain-email",
    query: "Check the weather in Seattle. If it's raining, email bob@example.com to cancel our run.",
    category: "conditional",
    expected_tools: ["get_weather", "send_email"],
    expected_calls: [{ name: "get_weather", arguments: { city: "Seattle" } }],
    answer_contains: ["rainy"],
    min_steps: 3,
    max_steps: 5,
    steps: [
      {
        kind: "action",
        thought: "I should check the weather in Seattle.",
        action: { name: "get_weather", arguments: { city: "Seattle" } },
        observation: { city: "Seattle", temperature: 9, unit: "celsius", condition: "rainy", humidity: 88 },
      },
      {
        kind: "action",
        thought: "It's rainy in Seattle, so I'll email bob@example.com to cancel.",
        action: { name: "send_email", arguments: { to: "bob@example.com", subject: "Cancelling our run", body: "It's rainy in Seattle (9°C), so let's cancel our run." } },
        observation: { status: "sent", message_id: "msg_19be44", to: "bob@example.com" },
      },
      { kind: "answer", thought: "The email is sent.", answer: "It's rainy in Seattle, so I emailed bob@example.com to cancel our run." },
    ],
  },
  {
    id: "seed-09-translate",
    query: 'How do you say "Thank you" in Japanese?',
    category: "single",
    expected_tools: ["translate"],
    expected_calls: [{ name: "translate", arguments: { text: "Thank you", target_language: "Japanese" } }],
    answer_contains: ["ありがとう"],
    min_steps: 2,
    max_steps: 4,
    steps: [
      {
        kind: "action",
        thought: "I should translate the phrase into Japanese.",
        action: { name: "translate", arguments: { text: "Thank you", target_language: "Japanese" } },
        observation: { text: "Thank you", target_language: "Japanese", translation: "ありがとうございます" },
      },
      { kind: "answer", thought: "I have the translation.", answer: '"Thank you" in Japanese is "ありがとうございます" (arigatou gozaimasu).' },
    ],
  },
  {
    id: "seed-10-convert",
    query: "How much is 250 British pounds in Japanese yen?",
    category: "single",
    expected_tools: ["convert_currency"],
    expected_calls: [{ name: "convert_currency", arguments: { amount: 250, from: "GBP", to: "JPY" } }],
    answer_contains: ["49112.5"],
    min_steps: 2,
    max_steps: 4,
    steps: [
      {
        kind: "action",
        thought: "I should convert 250 GBP to JPY.",
        action: { name: "convert_currency", arguments: { amount: 250, from: "GBP", to: "JPY" } },
        observation: { amount: 250, from: "GBP", to: "JPY", rate: 196.45, converted: 49112.5 },
      },
      { kind: "answer", thought: "I have the conversion.", answer: "250 GBP is 49112.5 JPY (rate 196.45)." },
    ],
  },
];
