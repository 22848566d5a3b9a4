import type { JsonSchema, ToolDefinition } from "../tools/types.js";

/** What the prompt needs of a tool: its name, description and argument schema. */
export type ToolSpec = Pick<ToolDefinition, "name" | "description" | "parameters">;

export interface SystemPromptOptions {
  /** The first line; the default introduces a helpful assistant that can use tools. */
  intro?: string;
  /** Extra rules appended to the list of rules, one line each. */
  extraRules?: string[];
}

const DEFAULT_INTRO = "You are a helpful assistant. You can use tools to answer the user's question.";

/**
 * The system prompt of the ReAct format: short instructions a small model (135M–3B) can follow,
 * the tool list with each tool's arguments as a compact signature, and the rules. The text is a
 * pure function of the tool list and the options, and both training data and the runtime build
 * it here, so a fine-tuned model sees at inference exactly the prompt it was trained with.
 */
export function buildSystemPrompt(tools: readonly ToolSpec[], options: SystemPromptOptions = {}): string {
  const lines: string[] = [options.intro ?? DEFAULT_INTRO, ""];
  if (tools.length === 0) {
    lines.push("Tools: none are available.");
  } else {
    lines.push("Tools:");
    for (const tool of tools) lines.push(`- ${toolSignature(tool)}: ${oneLine(tool.description)}`);
  }
  lines.push(
    "",
    "To use a tool, reply with:",
    "Thought: <why you need the tool>",
    'Action: {"name": "<tool name>", "arguments": {<arguments as JSON>}}',
    "Then stop. The result comes back as:",
    "Observation: <JSON result>",
    "",
    "When you can answer, reply with:",
    "Thought: <short reasoning>",
    "Answer: <your answer to the user>",
    "",
    "Rules:",
    "- At most one Action per reply.",
    '- The Action is one JSON object with double quotes: {"name": …, "arguments": {…}}.',
    "- Use only the tools listed above, with their argument names.",
    "- If no tool is needed, write the Thought and the Answer directly, with no Action.",
    "- If the tool you need is not in the list, say so in the Answer and call no tool.",
    "- Base the Answer on the Observations; do not invent results.",
  );
  for (const rule of options.extraRules ?? []) lines.push(`- ${oneLine(rule)}`);
  return lines.join("\n");
}

/**
 * A tool as a one-line signature: `get_weather(city: string, unit?: "celsius" | "fahrenheit")`.
 * Required arguments come first as the schema lists them; optional ones carry `?`.
 */
export function toolSignature(tool: ToolSpec): string {
  const schema = tool.parameters ?? {};
  const props = isRecord(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
  const names = Object.keys(props);
  const ordered = [...names.filter((n) => required.has(n)), ...names.filter((n) => !required.has(n))];
  const args = ordered.map((n) => `${n}${required.has(n) ? "" : "?"}: ${typeText(props[n])}`);
  return `${tool.name}(${args.join(", ")})`;
}

/** A compact type for one argument schema: `string`, `integer 1-5`, `"a" | "b"`, `string[]`. */
export function typeText(schema: unknown): string {
  if (!isRecord(schema)) return "any";
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if ("const" in schema) return JSON.stringify(schema.const);
  const type = Array.isArray(schema.type) ? schema.type.join(" | ") : typeof schema.type === "string" ? schema.type : "any";
  if (type === "array") return `${typeText(schema.items)}[]`.replace(/^(.* \| .*)\[\]$/, "($1)[]");
  if (type === "object" && isRecord(schema.properties)) {
    const inner = Object.entries(schema.properties).map(([k, v]) => `${k}: ${typeText(v)}`);
    return `{${inner.join(", ")}}`;
  }
  const extras: string[] = [];
  if (typeof schema.format === "string") extras.push(schema.format);
  if (typeof schema.minimum === "number" && typeof schema.maximum === "number") {
    extras.push(`${schema.minimum}-${schema.maximum}`);
  } else if (typeof schema.minimum === "number") extras.push(`>= ${schema.minimum}`);
  else if (typeof schema.maximum === "number") extras.push(`<= ${schema.maximum}`);
  return extras.length === 0 ? type : `${type} ${extras.join(", ")}`;
}

function isRecord(value: unknown): value is JsonSchema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function oneLine(text: string): string {
  return String(text).replace(/\s+/g, " ").trim();
}
