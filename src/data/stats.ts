import { isJsonObject } from "../react/json.js";
import { readJsonl } from "./jsonl.js";

/** Summary numbers of a task or training file (`agenttune data stats`). */
export interface DatasetStats {
  records: number;
  /** Lines that hold JSON but not an object (an array, a number): counted, nothing else read. */
  notObjects: number;
  byCategory: Record<string, number>;
  byFormat: Record<string, number>;
  /** How often each tool is expected to be called, over all records. */
  toolCalls: Record<string, number>;
  /** Records by number of expected tool calls. */
  byCallCount: Record<string, number>;
  /** Records that offer only some tools (a `tools` field). */
  restrictedTools: number;
  queryChars: LengthStats;
  /** Characters of all messages of a record (training files). */
  messageChars: LengthStats;
}

export interface LengthStats {
  count: number;
  min: number;
  mean: number;
  max: number;
}

function bump(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}

function lengths(values: number[]): LengthStats {
  if (values.length === 0) return { count: 0, min: 0, mean: 0, max: 0 };
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  let sum = 0;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return { count: values.length, min, mean: Math.round((sum / values.length) * 10) / 10, max };
}

/** Reads a JSONL file (streaming) and counts. Malformed lines throw FileFormatError; validate first for a full list. */
export async function datasetStats(file: string): Promise<DatasetStats> {
  const stats: DatasetStats = {
    records: 0,
    notObjects: 0,
    byCategory: {},
    byFormat: {},
    toolCalls: {},
    byCallCount: {},
    restrictedTools: 0,
    queryChars: lengths([]),
    messageChars: lengths([]),
  };
  const queryLengths: number[] = [];
  const messageLengths: number[] = [];
  for await (const { value } of readJsonl(file)) {
    stats.records++;
    if (!isJsonObject(value)) {
      stats.notObjects++;
      continue;
    }
    bump(stats.byCategory, typeof value.category === "string" ? value.category : "(none)");
    bump(stats.byFormat, typeof value.format === "string" ? value.format : "messages" in value || "steps" in value ? "react" : "task");
    const tools = Array.isArray(value.expected_tools) ? value.expected_tools.map(String) : [];
    for (const t of tools) bump(stats.toolCalls, t);
    bump(stats.byCallCount, String(tools.length));
    if (Array.isArray(value.tools)) stats.restrictedTools++;
    if (typeof value.query === "string") queryLengths.push(value.query.length);
    if (Array.isArray(value.messages)) {
      let chars = 0;
      for (const m of value.messages) if (isJsonObject(m) && typeof m.content === "string") chars += m.content.length;
      messageLengths.push(chars);
    }
  }
  stats.queryChars = lengths(queryLengths);
  stats.messageChars = lengths(messageLengths);
  return stats;
}

/** The stats as a few aligned text blocks. */
export function formatStats(file: string, stats: DatasetStats): string {
  const block = (title: string, map: Record<string, number>): string[] => {
    const entries = Object.entries(map).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const width = Math.max(0, ...entries.map(([k]) => k.length));
    return [`${title}:`, ...entries.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)];
  };
  const len = (l: LengthStats) => (l.count === 0 ? "none" : `min ${l.min}, mean ${l.mean}, max ${l.max}`);
  if (stats.records === 0) return `${file}: no records`;
  const odd = stats.notObjects === 0 ? "" : ` (${stats.notObjects} not a JSON object and left out of the counts below: \`agenttune data validate ${file}\` names them)`;
  return [
    `${file}: ${stats.records} records${odd}`,
    ...block("by category", stats.byCategory),
    ...block("by format", stats.byFormat),
    ...block("tool calls", stats.toolCalls),
    ...block("by number of calls", stats.byCallCount),
    `restricted tool lists: ${stats.restrictedTools}`,
    `query characters: ${len(stats.queryChars)}`,
    `message characters: ${len(stats.messageChars)}`,
  ].join("\n");
}
