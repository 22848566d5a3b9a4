import type { ChatMessage } from "../../src/agent/chat-model.js";
import { ScriptedModel, type ScriptedTurn } from "../../src/agent/scripted-model.js";
import type { ToolDefinition } from "../../src/tools/types.js";

/** The two tools of the Tokyo question, with fixed observations. */
export const TOKYO_TOOLS: ToolDefinition[] = [
  {
    name: "get_weather",
    description: "Current weather for a city.",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    execute: (args) => ({ city: String(args.city), temperature: 8, condition: "cloudy" }),
  },
  {
    name: "search_restaurant",
    description: "Find a restaurant by location and cuisine.",
    parameters: {
      type: "object",
      properties: { location: { type: "string" }, cuisine: { type: "string" } },
      required: ["location"],
    },
    execute: (args) => ({ name: "Ichiran Ramen", location: String(args.location), rating: 4.6 }),
  },
];

export const TOKYO_QUERY = "What's the weather in Tokyo? If it's cold, recommend a ramen place.";

/** The three replies of the Tokyo episode, chosen by how many Observations the conversation has. */
export const TOKYO_REPLIES = [
  'Thought: I need the weather in Tokyo first.\nAction: {"name": "get_weather", "arguments": {"city": "Tokyo"}}',
  'Thought: 8°C is cold. I should recommend a ramen restaurant.\nAction: {"name": "search_restaurant", "arguments": {"location": "Tokyo", "cuisine": "ramen"}}',
  "Thought: I have both results.\nAnswer: Tokyo is 8°C and cloudy. I recommend Ichiran Ramen (rated 4.6)!",
];

function observations(messages: ChatMessage[]): number {
  return messages.filter((m) => m.role === "user" && m.content.startsWith("Observation:")).length;
}

/**
 * A scripted model that plays the Tokyo episode for any number of requests: with tools in the
 * system prompt it replies by the number of Observations so far; without, it echoes the last user message.
 */
export function tokyoModel(options: { id?: string; delayTurn?: (messages: ChatMessage[]) => ScriptedTurn | undefined } = {}): ScriptedModel {
  return new ScriptedModel({
    id: options.id ?? "scripted-tokyo",
    chunkSize: 3,
    script: (messages) => {
      const special = options.delayTurn?.(messages);
      if (special !== undefined) return special;
      const system = messages.find((m) => m.role === "system")?.content ?? "";
      if (!system.includes("Tools:")) return `You said: ${messages[messages.length - 1]?.content ?? ""}`;
      return TOKYO_REPLIES[Math.min(observations(messages), TOKYO_REPLIES.length - 1)];
    },
  });
}
