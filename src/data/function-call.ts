import { type ToolSpec, toolSignature } from "../react/prompt.js";

/**
 * The system prompt of the single-turn function-calling format (the reference's older task
 * kind): the tool list, and the rule that the whole reply is one JSON call.
 */
export function buildFunctionCallPrompt(tools: readonly ToolSpec[]): string {
  return [
    "You are a function-calling assistant. Pick the one tool that answers the user's request.",
    "",
    "Tools:",
    ...tools.map((t) => `- ${toolSignature(t)}: ${String(t.description).replace(/\s+/g, " ").trim()}`),
    "",
    'Reply with only one JSON object: {"name": "<tool name>", "arguments": {<arguments as JSON>}}',
  ].join("\n");
}
