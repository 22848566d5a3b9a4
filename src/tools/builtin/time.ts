import { simulatedNow } from "../simulate.js";
import type { JsonValue } from "../types.js";
import type { BuiltinTool } from "./builtin-tool.js";
import { resolveCity } from "./cities.js";

/** The wall-clock date, time and UTC offset of an instant in an IANA zone. */
export function zonedClock(instant: Date, timeZone: string): { date: string; time: string; offset: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZoneName: "longOffset",
    })
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  // "GMT+09:00", "GMT-03:30", or "GMT" for UTC itself.
  const offset = parts.timeZoneName === "GMT" ? "+00:00" : String(parts.timeZoneName).replace("GMT", "");
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}`, offset };
}

/** get_time: the local time in a city, on the simulated clock (see simulatedNow). */
export const getTime: BuiltinTool = {
  name: "get_time",
  description: "Get the current local time and date in a city, with its time zone and UTC offset.",
  parameters: {
    type: "object",
    properties: {
      city: { type: "string", minLength: 1, description: "City name, e.g. Tokyo" },
    },
    required: ["city"],
    additionalProperties: false,
  },
  examples: [{ city: "Tokyo" }, { city: "Buenos Aires" }],
  execute(args, { seed }): JsonValue {
    const { city, known } = resolveCity(String(args.city));
    const clock = zonedClock(simulatedNow(seed), city.timezone);
    return {
      city: known ? city.name : String(args.city).trim(),
      timezone: city.timezone,
      local_time: clock.time,
      date: clock.date,
      utc_offset: clock.offset,
    };
  },
};
