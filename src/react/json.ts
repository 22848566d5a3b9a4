import type { JsonValue } from "../tools/types.js";

/**
 * Writes JSON the way the ReAct format shows it (SPECS §1): on one line, with a space after
 * every `:` and `,` — `{"name": "get_weather", "arguments": {"city": "Tokyo"}}` — which is also
 * what Python's `json.dumps` writes by default. Keys keep their insertion order; non-ASCII text
 * is written as is. Non-finite numbers become `null`, as in `JSON.stringify`.
 */
export function formatJson(value: JsonValue): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? JSON.stringify(value) : "null";
    case "boolean":
      return value ? "true" : "false";
  }
  if (Array.isArray(value)) return `[${value.map(formatJson).join(", ")}]`;
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${formatJson(v)}`).join(", ")}}`;
}

/**
 * A key-order-independent form of a JSON value, so two tool calls that differ only in the order
 * of their argument keys compare equal (the loop guard and de-duplication use it).
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== "object") return formatJson(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
}

/**
 * Finds the end of the JSON object or array that starts at `text[start]` (which must be `{` or
 * `[`), honouring strings and their escapes. Returns the index just past the closing bracket,
 * or -1 when the text ends first (a truncated reply).
 */
export function scanBalanced(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/** `JSON.parse` that reports failure as a message instead of throwing. */
export function tryParseJson(text: string): { ok: true; value: JsonValue } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) as JsonValue };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

/** True for a JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is { [key: string]: JsonValue } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
