import { SimRandom, simulatedNow } from "../simulate.js";
import type { JsonValue } from "../types.js";
import type { BuiltinTool } from "./builtin-tool.js";
import { type Climate, normalHigh, resolveCity } from "./cities.js";

/** The conditions get_weather reports. */
export const WEATHER_CONDITIONS = ["sunny", "cloudy", "rainy", "snowy", "windy", "foggy"] as const;
export type WeatherCondition = (typeof WEATHER_CONDITIONS)[number];

/** How far the day's temperature strays from the climate normal, °C (either way). */
export const WEATHER_SPREAD_C = 5;

type Weights = Record<Exclude<WeatherCondition, "snowy">, number>;
const CONDITION_WEIGHTS: Record<Climate, Weights> = {
  oceanic: { sunny: 2, cloudy: 4, rainy: 3, windy: 1.5, foggy: 1 },
  continental: { sunny: 3, cloudy: 4, rainy: 2, windy: 1, foggy: 0.7 },
  subarctic: { sunny: 1.5, cloudy: 4, rainy: 2.5, windy: 2.5, foggy: 0.7 },
  mediterranean: { sunny: 6, cloudy: 2.5, rainy: 1.5, windy: 1, foggy: 0.3 },
  "humid-subtropical": { sunny: 4, cloudy: 3, rainy: 2, windy: 0.7, foggy: 0.4 },
  desert: { sunny: 9, cloudy: 1, rainy: 0.2, windy: 1, foggy: 0.2 },
  tropical: { sunny: 4, cloudy: 3, rainy: 3, windy: 0.4, foggy: 0.2 },
  highland: { sunny: 4, cloudy: 3, rainy: 2, windy: 0.8, foggy: 0.6 },
};
/** Relative humidity band per climate, percent. */
const HUMIDITY: Record<Climate, [number, number]> = {
  oceanic: [68, 90],
  continental: [58, 85],
  subarctic: [70, 90],
  mediterranean: [48, 75],
  "humid-subtropical": [52, 80],
  desert: [18, 48],
  tropical: [65, 90],
  highland: [40, 72],
};

/** The underlying weather of a city for a seed, in °C before rounding; shared by both units. */
export function simulateWeather(cityText: string, seed: number) {
  const { city, known } = resolveCity(cityText);
  const rng = SimRandom.of("get_weather", city.name.toLowerCase(), seed);
  const normal = normalHigh(city, simulatedNow(seed));
  const celsius = normal + rng.centered() * WEATHER_SPREAD_C;
  let condition: WeatherCondition = rng.weighted(CONDITION_WEIGHTS[city.climate]);
  // Precipitation near or below freezing falls as snow.
  if (condition === "rainy" && celsius <= 1.5) condition = "snowy";
  const [lo, hi] = HUMIDITY[city.climate];
  const wet = condition === "rainy" || condition === "foggy" || condition === "snowy";
  const humidity = Math.round(wet ? rng.uniform((lo + hi) / 2, Math.min(hi + 6, 98)) : rng.uniform(lo, hi));
  return { city, known, normal, celsius, condition, humidity };
}

/** get_weather: the current weather in a city. */
export const getWeather: BuiltinTool = {
  name: "get_weather",
  description: "Get the current weather in a city: temperature, condition (sunny, cloudy, rainy, snowy, windy, foggy) and humidity.",
  parameters: {
    type: "object",
    properties: {
      city: { type: "string", minLength: 1, description: "City name, e.g. Tokyo" },
      unit: { type: "string", enum: ["celsius", "fahrenheit"], default: "celsius", description: "Temperature unit" },
    },
    required: ["city"],
    additionalProperties: false,
  },
  examples: [{ city: "Tokyo" }, { city: "New York", unit: "fahrenheit" }],
  execute(args, { seed }): JsonValue {
    const unit = (args.unit as string | undefined) ?? "celsius";
    const w = simulateWeather(String(args.city), seed);
    const temperature = Math.round(unit === "fahrenheit" ? (w.celsius * 9) / 5 + 32 : w.celsius);
    return { city: w.known ? w.city.name : String(args.city).trim(), temperature, unit, condition: w.condition, humidity: w.humidity };
  },
};
