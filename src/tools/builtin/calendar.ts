import { SimRandom } from "../simulate.js";
import type { JsonValue } from "../types.js";
import type { BuiltinTool } from "./builtin-tool.js";

/** create_calendar_event: pretends to add an event to the calendar and returns its id. */
export const createCalendarEvent: BuiltinTool = {
  name: "create_calendar_event",
  description: "Create a calendar event with a title, a date (YYYY-MM-DD), a start time (HH:MM, 24-hour) and an optional duration in minutes.",
  parameters: {
    type: "object",
    properties: {
      title: { type: "string", minLength: 1, description: "What the event is" },
      date: { type: "string", format: "date", description: "Day of the event, YYYY-MM-DD" },
      time: { type: "string", pattern: "^([01][0-9]|2[0-3]):[0-5][0-9]$", description: "Start time, HH:MM (24-hour)" },
      duration_minutes: { type: "integer", minimum: 5, maximum: 1440, default: 60, description: "Length in minutes (5–1440)" },
    },
    required: ["title", "date", "time"],
    additionalProperties: false,
  },
  examples: [
    { title: "Team meeting", date: "2026-12-01", time: "10:00" },
    { title: "Dentist appointment", date: "2027-01-12", time: "15:30", duration_minutes: 45 },
  ],
  execute(args, { seed }): JsonValue {
    const rng = SimRandom.of("create_calendar_event", args, seed);
    return { status: "created", event_id: `evt_${rng.hex(10)}`, title: String(args.title), date: String(args.date), time: String(args.time) };
  },
};
