import type { AgentEvent } from "../../src/agent/types.js";
import type { JsonValue, ToolDefinition } from "../../src/tools/types.js";

/** Tools with plain functions for runtime tests that do not depend on the built-in simulators. */
export function fakeTool(name: string, execute: ToolDefinition["execute"], required?: string[]): ToolDefinition {
  // Without `required`, any arguments pass the schema.
  if (required === undefined) return { name, description: `The ${name} tool.`, parameters: { type: "object" }, execute };
  const properties: Record<string, unknown> = {};
  for (const r of required) properties[r] = { type: "string" };
  return { name, description: `The ${name} tool.`, parameters: { type: "object", properties, required, additionalProperties: false }, execute };
}

export const echo = fakeTool("echo", (args) => ({ echoed: args as JsonValue }), ["text"]);

/** A compact trace of events for order assertions: `thought:1`, `action:1:echo`, `done:answered`. */
export function trace(events: AgentEvent[]): string[] {
  return events.map((e) => {
    if (e.type === "thought" || e.type === "answer") return `${e.type}:${e.step}`;
    if (e.type === "action" || e.type === "observation") return `${e.type}:${e.step}:${e.call.name}`;
    if (e.type === "error") return `error:${e.step}:${e.kind}${e.recovered ? ":recovered" : ""}`;
    return `done:${e.result.status}`;
  });
}
