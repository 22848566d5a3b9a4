import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ToolDefinitionError, ToolExecutionError } from "./errors.js";
import type { JsonValue, ToolDefinition } from "./types.js";
import { ArgumentValidator } from "./validate.js";

/**
 * User tools from files.
 *
 * A `.json` file holds one tool or a list (`[...]` or `{"tools": [...]}`), each with canned
 * observations instead of code:
 *
 *   {"name": "get_order_status", "description": "…", "parameters": {…object schema…},
 *    "responses": [{"when": {"order_id": "A17"}, "observation": {"status": "shipped"}},
 *                  {"when": {"order_id": "B2"}, "error": "order B2 was cancelled"}],
 *    "default": {"status": "processing", "order_id": "{{order_id}}"}}
 *
 * `responses` is either one observation (returned for every call) or a list of cases tried in
 * order: a case matches when each `when` key equals the argument (strings compared without case
 * or surrounding space); its `observation` is returned, or its `error` becomes a tool error.
 * With no match, `default` is returned; without a default the call is a tool error. In string
 * values of an observation, `{{name}}` is replaced by that argument.
 *
 * A `.js`/`.mjs`/`.ts` module exports a ToolDefinition or a list of them, as its default export
 * or as `tools`.
 */

interface CannedCase {
  when: Record<string, JsonValue>;
  observation?: JsonValue;
  error?: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function sameValue(expected: JsonValue, actual: JsonValue | undefined): boolean {
  if (typeof expected === "string" && typeof actual === "string") return expected.trim().toLowerCase() === actual.trim().toLowerCase();
  if (expected === null || typeof expected !== "object") return expected === actual;
  if (actual === null || actual === undefined || typeof actual !== "object") return false;
  if (Array.isArray(expected)) return Array.isArray(actual) && expected.length === actual.length && expected.every((v, i) => sameValue(v, actual[i]));
  if (Array.isArray(actual)) return false;
  const a = actual as Record<string, JsonValue>;
  return Object.keys(expected).every((k) => sameValue(expected[k], a[k])) && Object.keys(a).length === Object.keys(expected).length;
}

/** Replaces `{{name}}` in every string of an observation with the argument's value. */
function fillTemplate(value: JsonValue, args: Record<string, JsonValue>): JsonValue {
  if (typeof value === "string") {
    const whole = /^\{\{\s*([A-Za-z0-9_-]+)\s*\}\}$/.exec(value);
    if (whole !== null && args[whole[1]] !== undefined) return args[whole[1]]; // keeps numbers numbers
    return value.replace(/\{\{\s*([A-Za-z0-9_-]+)\s*\}\}/g, (m, name: string) => {
      const v = args[name];
      return v === undefined ? m : typeof v === "string" ? v : JSON.stringify(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => fillTemplate(v, args));
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillTemplate(v, args)]));
  return value;
}

/** Builds a ToolDefinition from one JSON tool object with canned responses. */
export function cannedTool(spec: unknown, file?: string, where?: string): ToolDefinition {
  const label = (field: string) => (where === undefined ? field : `${where}.${field}`);
  if (!isObject(spec)) throw new ToolDefinitionError({ file, field: where ?? "(tool)", problem: "a tool must be a JSON object" });
  const name = spec.name;
  const hasDefault = "default" in spec;
  let cases: CannedCase[] | undefined;
  let single: JsonValue | undefined;
  if (Array.isArray(spec.responses)) {
    cases = spec.responses.map((c, i) => {
      const field = label(`responses[${i}]`);
      if (!isObject(c)) throw new ToolDefinitionError({ file, field, problem: "a response case must be an object with when and observation (or error)" });
      if (!isObject(c.when)) throw new ToolDefinitionError({ file, field: `${field}.when`, problem: "must be an object of argument values to match" });
      if (!("observation" in c) && typeof c.error !== "string") {
        throw new ToolDefinitionError({ file, field, problem: 'needs an "observation" (or an "error" message)' });
      }
      return c as unknown as CannedCase;
    });
  } else if (isObject(spec.responses)) {
    single = spec.responses as JsonValue;
  } else if (spec.responses !== undefined) {
    throw new ToolDefinitionError({ file, field: label("responses"), problem: "must be an observation object or a list of {when, observation} cases" });
  } else if (!hasDefault) {
    throw new ToolDefinitionError({
      file,
      field: label("responses"),
      problem: "is missing",
      hint: 'a JSON tool answers with canned observations: add "responses" (an object, or a list of {when, observation}) or "default"',
    });
  }
  const fallback = spec.default as JsonValue | undefined;
  return {
    name: name as string,
    description: spec.description as string,
    parameters: spec.parameters as Record<string, unknown>,
    execute(args) {
      if (single !== undefined) return fillTemplate(single, args);
      for (const c of cases ?? []) {
        if (Object.entries(c.when).every(([k, v]) => sameValue(v, args[k]))) {
          if (c.error !== undefined) throw new ToolExecutionError(fillTemplate(c.error, args) as string, { tool: String(name) });
          return fillTemplate(c.observation as JsonValue, args);
        }
      }
      if (hasDefault) return fillTemplate(fallback as JsonValue, args);
      throw new ToolExecutionError(`${String(name)} has no answer for these arguments`, {
        tool: String(name),
        hint: `add a matching case or a "default" to ${file ?? "the tool's responses"}`,
      });
    },
  };
}

async function importModule(path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (extname(path) !== ".ts" || code !== "ERR_UNKNOWN_FILE_EXTENSION") throw error;
  }
  // A TypeScript module under plain node: load it through tsx when it is installed.
  let tsx: { tsImport(specifier: string, parent: string): Promise<unknown> };
  try {
    tsx = (await import("tsx/esm/api")) as typeof tsx;
  } catch (cause) {
    throw new ToolDefinitionError({ file: path, field: "(module)", problem: "cannot load a .ts module here", hint: "compile it to .js, or install tsx", cause });
  }
  return (await tsx.tsImport(url, import.meta.url)) as Record<string, unknown>;
}

/**
 * Loads the tools of one file: `.json` (canned responses) or `.js`/`.mjs`/`.ts` (a module whose
 * default export or `tools` export is a ToolDefinition or a list). Every tool is checked (name,
 * description, object schema, unique names within the file); anything malformed throws a
 * ToolDefinitionError naming the file and the field.
 */
export async function loadToolModule(path: string, options: { validator?: ArgumentValidator } = {}): Promise<ToolDefinition[]> {
  const validator: ArgumentValidator = options.validator ?? new ArgumentValidator();
  const file = resolve(path);
  const ext = extname(file).toLowerCase();
  let items: unknown[];
  let list: boolean;
  if (ext === ".json") {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (cause) {
      throw new ToolDefinitionError({ file: path, field: "(file)", problem: `cannot read: ${(cause as Error).message}`, hint: "check the path", cause });
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (cause) {
      throw new ToolDefinitionError({ file: path, field: "(file)", problem: `is not valid JSON: ${(cause as Error).message}`, cause });
    }
    const raw = isObject(data) && Array.isArray(data.tools) ? data.tools : data;
    list = Array.isArray(raw);
    items = (Array.isArray(raw) ? raw : [raw]).map((spec, i) => cannedTool(spec, path, list ? `tools[${i}]` : undefined));
  } else if (ext === ".js" || ext === ".mjs" || ext === ".cjs" || ext === ".ts" || ext === ".mts") {
    let mod: Record<string, unknown>;
    try {
      mod = await importModule(file);
    } catch (cause) {
      if (cause instanceof ToolDefinitionError) throw cause;
      throw new ToolDefinitionError({ file: path, field: "(module)", problem: `cannot be loaded: ${(cause as Error).message}`, hint: "check that the file exists and runs under node", cause });
    }
    const exported = mod.tools ?? mod.default;
    if (exported === undefined) {
      throw new ToolDefinitionError({ file: path, field: "default", problem: "the module exports no tools", hint: "export a ToolDefinition or a list of them as the default export or as `tools`" });
    }
    list = Array.isArray(exported);
    items = list ? (exported as unknown[]) : [exported];
  } else {
    throw new ToolDefinitionError({ file: path, field: "(file)", problem: `unsupported file type "${ext}"`, hint: "use a .json file with canned responses or a .js/.mjs/.ts module" });
  }
  if (items.length === 0) {
    // an empty list is a file written wrong, not a wish for no tools: `--tools` adds tools
    throw new ToolDefinitionError({ file: path, field: ext === ".json" ? "(file)" : "default", problem: "defines no tools (an empty list)", hint: "list one or more tools, or drop the --tools flag" });
  }
  const seen = new Set<string>();
  return items.map((tool, i): ToolDefinition => {
    const where = list ? `tools[${i}]` : undefined;
    validator.checkDefinition(tool, path, where);
    if (seen.has(tool.name)) {
      throw new ToolDefinitionError({ file: path, field: `${where ?? "tools"}.name`, problem: `the name "${tool.name}" is used twice`, hint: "tool names must be unique" });
    }
    seen.add(tool.name);
    return tool;
  });
}
