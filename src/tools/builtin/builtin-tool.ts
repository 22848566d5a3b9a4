import type { JsonValue, ToolDefinition } from "../types.js";

/** A built-in tool: a ToolDefinition plus example arguments (valid under its schema) for docs and tests. */
export interface BuiltinTool extends ToolDefinition {
  examples: Record<string, JsonValue>[];
}
