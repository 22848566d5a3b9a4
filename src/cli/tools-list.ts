import type { JsonSchema, ToolDefinition } from "../tools/types.js";
import { openToolSet } from "../tools/tool-set.js";
import { type CommandSpec, defineCommand } from "./command.js";

/** `get_weather` → `city, [unit]`: required arguments plain, optional ones in brackets. */
function argumentSummary(parameters: JsonSchema): string {
  const properties = Object.keys((parameters.properties as Record<string, unknown> | undefined) ?? {});
  const required = new Set((parameters.required as string[] | undefined) ?? []);
  const names = [...properties.filter((p) => required.has(p)), ...properties.filter((p) => !required.has(p)).map((p) => `[${p}]`)];
  // Required names the schema lists without a property entry still count.
  for (const r of required) if (!properties.includes(r)) names.unshift(r);
  return names.join(", ");
}

function formatTable(tools: ToolDefinition[]): string {
  if (tools.length === 0) return "no tools\n";
  const rows = tools.map((t) => [t.name, argumentSummary(t.parameters), t.description.replace(/\s+/g, " ")]);
  const w0 = Math.max(4, ...rows.map((r) => r[0].length));
  const w1 = Math.max(9, ...rows.map((r) => r[1].length));
  const line = (r: string[]) => `${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2]}`.trimEnd();
  return `${[line(["NAME", "ARGUMENTS", "DESCRIPTION"]), ...rows.map(line)].join("\n")}\n`;
}

/** `agenttune tools list`: the tools an agent would see (built-ins, tool files, MCP servers). */
export const toolsListCommand: CommandSpec = defineCommand({
  name: "tools list",
  summary: "list the available tools: built-ins, user tool files and MCP servers",
  flags: {
    tools: { type: "string", multiple: true, description: "a user tool file (.json with canned responses, or .js/.mjs/.ts module); repeatable", placeholder: "file" },
    mcp: { type: "string", multiple: true, description: 'an MCP server to start over stdio, as one command line; repeatable', placeholder: '"cmd args"' },
    builtins: { type: "boolean", default: true, description: "include the ten built-in tools (--no-builtins to leave them out)" },
    json: { type: "boolean", description: "print the tools as an OpenAI-style JSON list with their schemas" },
  },
  details: [
    "Examples:",
    "  agenttune tools list",
    "  agenttune tools list --tools my-tools.json --json",
    '  agenttune tools list --no-builtins --mcp "node my-mcp-server.mjs"',
    "",
    "In the table, optional arguments are in [brackets].",
  ].join("\n"),
  async run(flags, _positionals, io) {
    const set = await openToolSet({
      builtins: flags.builtins !== false,
      files: (flags.tools as string[] | undefined) ?? [],
      mcp: (flags.mcp as string[] | undefined) ?? [],
    });
    try {
      io.out(flags.json === true ? `${JSON.stringify(set.registry.toJSON(), null, 2)}\n` : formatTable(set.registry.list()));
    } finally {
      await set.close();
    }
    return 0;
  },
});
