import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { JsonValue, ToolCall, ToolDefinition } from "../tools/types.js";

/**
 * What the runtime needs of a tool registry. `ToolRegistry` (src/tools/registry.ts) has this
 * shape; `execute` validates the arguments against the tool's schema and throws
 * `UnknownToolError`, `ToolArgumentsError` or `ToolExecutionError`.
 */
export interface AgentTools {
  list(): ToolDefinition[];
  has(name: string): boolean;
  execute(call: ToolCall, options: { seed: number; signal?: AbortSignal; timeoutMs?: number }): Promise<JsonValue>;
}

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => void;

function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/**
 * A registry as is; a plain list of definitions wrapped so the runtime can call it, with the
 * arguments checked against each tool's JSON Schema (errors name the field).
 */
export function toAgentTools(tools: AgentTools | readonly ToolDefinition[]): AgentTools {
  if (!Array.isArray(tools)) return tools as AgentTools;
  const list = [...(tools as readonly ToolDefinition[])];
  const byName = new Map(list.map((t) => [t.name, t]));
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  addFormats(ajv);
  const validators = new Map<string, ReturnType<typeof ajv.compile>>();
  return {
    list: () => [...list],
    has: (name) => byName.has(name),
    async execute(call, options) {
      const tool = byName.get(call.name);
      if (tool === undefined) throw namedError("UnknownToolError", `unknown tool "${call.name}"`);
      let validate = validators.get(call.name);
      if (validate === undefined) {
        validate = ajv.compile(tool.parameters);
        validators.set(call.name, validate);
      }
      if (!validate(call.arguments)) {
        const e = validate.errors?.[0];
        const field = e?.params && "missingProperty" in e.params ? `/${String(e.params.missingProperty)}` : (e?.instancePath ?? "");
        const extra = e?.params && "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : "";
        throw namedError("ToolArgumentsError", `invalid arguments for ${call.name}: ${field === "" ? "arguments" : field.slice(1)} ${e?.message ?? "is invalid"}${extra}`);
      }
      return await tool.execute(call.arguments, { seed: options.seed, signal: options.signal });
    },
  };
}
