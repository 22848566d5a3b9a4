/**
 * A JSON Schema (draft 2020-12 subset as used by OpenAI-style tool definitions). Kept loose on
 * purpose: the validator (Ajv) is the authority on what a schema means.
 */
export type JsonSchema = { [key: string]: unknown };

/** A JSON value as it travels through Actions and Observations. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What a tool's `execute` receives beside its arguments. */
export interface ToolContext {
  /**
   * The simulation seed. Built-in simulators are deterministic in (arguments, seed): the same
   * pair gives the same observation, another seed gives other plausible values.
   */
  seed: number;
  /** Aborted when the run is cancelled or the per-call timeout passes. */
  signal?: AbortSignal;
}

/**
 * One tool the agent may call: a name, a description for the prompt, a JSON Schema for its
 * arguments (an object schema) and a function. `execute` is only ever called with arguments
 * that passed the schema.
 */
export interface ToolDefinition {
  name: string;
  description: string;
  parameters: JsonSchema;
  execute(args: Record<string, JsonValue>, context: ToolContext): JsonValue | Promise<JsonValue>;
}

/** One tool call as the model writes it after `Action:`. */
export interface ToolCall {
  name: string;
  arguments: Record<string, JsonValue>;
}
