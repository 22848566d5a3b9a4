import type { ChatMessage } from "../../src/agent/chat-model.js";
import { ScriptedModel, type ScriptedTurn } from "../../src/agent/scripted-model.js";
import type { Task } from "../../src/data/task.js";
import type { ToolDefinition } from "../../src/tools/types.js";

/** Two small deterministic tools for evaluation tests (no registry needed). */
export const testTools: ToolDefinition[] = [
  {
    name: "get_weather",
    description: "Current weather of a city.",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    execute: (args, { seed }) => ({ city: String(args.city), temperature: 5 + (seed % 3), condition: "cloudy" }),
  },
  {
    name: "search_restaurant",
    description: "Restaurants in a place.",
    parameters: { type: "object", properties: { location: { type: "string" }, cuisine: { type: "string" } }, required: ["location"] },
    execute: (args) => ({ name: "Ichiran Ramen", location: String(args.location), rating: 4.6 }),
  },
];

export const tasks: Task[] = [
  {
    id: "weather-ramen",
    query: "What's the weather in Tokyo? If it's cold, recommend a ramen place.",
    expected_tools: ["get_weather", "search_restaurant"],
    expected_calls: [{ name: "get_weather", arguments: { city: "Tokyo" } }],
    min_steps: 2,
    max_steps: 4,
    answer_contains: ["Tokyo", "Ichiran"],
    category: "conditional",
    seed: 1,
  },
  {
    id: "weather-oslo",
    query: "Weather in Oslo?",
    expected_tools: ["get_weather"],
    expected_calls: [{ name: "get_weather", arguments: { city: "Oslo" } }],
    answer_contains: ["Oslo"],
    category: "single",
  },
  { id: "capital", query: "What is the capital of France?", expected_tools: [], answer_contains: ["Paris"], category: "abstention" },
];

/** How many replies the model has written in this conversation so far. */
function turn(messages: ChatMessage[]): number {
  return messages.filter((m) => m.role === "assistant").length;
}

/**
 * A model that does the right thing on the tasks above: it reads the query and the turn
 * number from the conversation, so runs can go in any order and at any concurrency.
 */
export function competentModel(id = "competent"): ScriptedModel {
  return new ScriptedModel({
    id,
    script: (messages): ScriptedTurn => {
      const query = messages.find((m) => m.role === "user")?.content ?? "";
      const n = turn(messages);
      if (query.includes("Tokyo")) {
        if (n === 0) return 'Thought: weather first.\nAction: {"name": "get_weather", "arguments": {"city": "tokyo"}}';
        if (n === 1) return 'Thought: it is cold.\nAction: {"name": "search_restaurant", "arguments": {"location": "Tokyo", "cuisine": "ramen"}}';
        return "Thought: done.\nAnswer: Tokyo is cold; try Ichiran Ramen.";
      }
      if (query.includes("Oslo")) {
        if (n === 0) return 'Action: {"name": "get_weather", "arguments": {"city": "Oslo"}}';
        return "Answer: Oslo is cloudy.";
      }
      return "Thought: I know this.\nAnswer: Paris.";
    },
  });
}
