import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { type ArgumentIssue, ToolDefinitionError } from "./errors.js";
import type { JsonSchema, ToolDefinition } from "./types.js";

// ajv-formats is CommonJS; under ESM its function may arrive wrapped in `default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => void;

/** Tool names as OpenAI-style APIs accept them. */
export const TOOL_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Validates call arguments against tool schemas with Ajv (draft 2020-12, `email`/`date`/…
 * formats from ajv-formats). Compiled validators are cached per schema object, so a tool's
 * schema compiles once.
 */
export class ArgumentValidator {
  private readonly ajv: Ajv2020;
  private readonly cache = new WeakMap<object, ValidateFunction>();

  constructor() {
    // strict: false — user schemas carry annotations (examples, x-*) Ajv would reject in strict mode.
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
  }

  /** The compiled validator for a schema; throws Ajv's error when the schema does not compile. */
  compile(schema: JsonSchema): ValidateFunction {
    let fn = this.cache.get(schema);
    if (fn === undefined) {
      fn = this.ajv.compile(withoutDraftUri(schema));
      this.cache.set(schema, fn);
    }
    return fn;
  }

  /** The problems with `args` under `schema`, each naming the field; empty when valid. */
  validate(schema: JsonSchema, args: unknown): ArgumentIssue[] {
    const fn = this.compile(schema);
    if (fn(args)) return [];
    return toIssues(fn.errors ?? []);
  }

  /**
   * Checks that `schema` is a valid JSON Schema describing an object (the only kind a tool's
   * arguments can have) and that it compiles. Returns a problem sentence, or undefined.
   */
  checkParametersSchema(schema: unknown): string | undefined {
    if (schema === null || typeof schema !== "object" || Array.isArray(schema)) return "must be a JSON Schema object";
    const s = schema as Record<string, unknown>;
    if (s.type !== "object") return `must have "type": "object" (got ${JSON.stringify(s.type)})`;
    if (s.properties !== undefined && (s.properties === null || typeof s.properties !== "object" || Array.isArray(s.properties))) {
      return `"properties" must be an object mapping argument names to schemas`;
    }
    if (s.required !== undefined && (!Array.isArray(s.required) || !s.required.every((r) => typeof r === "string"))) {
      return `"required" must be a list of argument names`;
    }
    if (!this.ajv.validateSchema(withoutDraftUri(s))) return `is not a valid JSON Schema: ${this.ajv.errorsText(this.ajv.errors)}`;
    try {
      this.compile(s);
    } catch (error) {
      return `does not compile: ${(error as Error).message}`;
    }
    return undefined;
  }

  /**
   * Throws ToolDefinitionError unless `tool` is a well-formed definition. `file` names where it
   * came from; `where` (e.g. `tools[2]`) locates it inside the file.
   */
  checkDefinition(tool: unknown, file?: string, where?: string): asserts tool is ToolDefinition {
    const at = (field: string) => (where === undefined || where === "" ? field : `${where}.${field}`);
    if (tool === null || typeof tool !== "object" || Array.isArray(tool)) {
      throw new ToolDefinitionError({ file, field: where || "(tool)", problem: "a tool must be an object with name, description, parameters and execute" });
    }
    const t = tool as Record<string, unknown>;
    if (typeof t.name !== "string" || t.name === "") throw new ToolDefinitionError({ file, field: at("name"), problem: "is missing or not a string" });
    if (!TOOL_NAME_PATTERN.test(t.name)) {
      throw new ToolDefinitionError({
        file,
        field: at("name"),
        problem: `"${t.name}" is not a valid tool name`,
        hint: "use 1–64 letters, digits, _ or - (e.g. get_weather)",
      });
    }
    const label = where === undefined || where === "" ? t.name : `${where} (${t.name})`;
    if (typeof t.description !== "string") {
      throw new ToolDefinitionError({ file, field: `${label}.description`, problem: "is missing or not a string", hint: "describe what the tool does; it goes into the prompt" });
    }
    const problem = this.checkParametersSchema(t.parameters);
    if (problem !== undefined) {
      throw new ToolDefinitionError({
        file,
        field: `${label}.parameters`,
        problem,
        hint: 'parameters must be a JSON Schema like {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}',
      });
    }
    if (typeof t.execute !== "function") throw new ToolDefinitionError({ file, field: `${label}.execute`, problem: "must be a function" });
  }
}

/**
 * Tool schemas in the wild declare `"$schema": draft-07` (zod-to-json-schema, MCP servers). The
 * keywords tools use mean the same in 2020-12, so the declaration is dropped rather than refused.
 */
function withoutDraftUri(schema: Record<string, unknown>): Record<string, unknown> {
  if (typeof schema.$schema !== "string" || !/json-schema\.org\/(draft-0[4-7]|draft\/2019-09)/.test(schema.$schema)) return schema;
  const { $schema: _dropped, ...rest } = schema;
  return rest;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** Ajv errors → issues whose path points at the offending field (missing and extra properties included). */
export function toIssues(errors: readonly ErrorObject[]): ArgumentIssue[] {
  const issues: ArgumentIssue[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    let path = e.instancePath;
    let message = e.message ?? "is invalid";
    const params = e.params as Record<string, unknown>;
    if (e.keyword === "required") {
      path = `${path}/${escapePointer(String(params.missingProperty))}`;
      message = "is required";
    } else if (e.keyword === "additionalProperties") {
      path = `${path}/${escapePointer(String(params.additionalProperty))}`;
      message = "is not an allowed argument";
    } else if (e.keyword === "enum") {
      message = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    } else if (e.keyword === "if" || e.keyword === "anyOf" || e.keyword === "oneOf") {
      // The branch errors before this one already say what is wrong.
      if (issues.some((i) => i.path.startsWith(path))) continue;
    }
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ path, message });
  }
  return issues;
}
