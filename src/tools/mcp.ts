import { McpServerError, ToolExecutionError } from "./errors.js";
import type { JsonSchema, JsonValue, ToolDefinition } from "./types.js";

/** How to start an MCP server that speaks stdio. */
export interface McpServerOptions {
  command: string;
  args?: string[];
  /** Added to a minimal default environment (PATH, HOME, …), as the SDK does. */
  env?: Record<string, string>;
  cwd?: string;
  /** Milliseconds to wait for the server to start and list its tools (default 20 000). */
  startTimeoutMs?: number;
}

/** A running MCP server's tools, wrapped as ToolDefinitions; `close()` stops the server. */
export interface McpConnection {
  tools: ToolDefinition[];
  close(): Promise<void>;
}

/** One MCP content block, as far as this wrapper reads it. */
interface Content {
  type: string;
  text?: string;
}

/**
 * Turns an MCP tool result into an observation: text content parsed as JSON when it is JSON,
 * else `{"text": …}` (several text blocks joined by newlines); non-text blocks are named by type.
 */
export function observationFromContent(content: readonly Content[]): JsonValue {
  const text = content.map((c) => (c.type === "text" ? (c.text ?? "") : `[${c.type}]`)).join("\n");
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return JSON.parse(trimmed) as JsonValue;
    } catch {
      // not JSON after all
    }
  }
  return { text };
}

/** MCP schemas often carry `"$schema": draft-07`; the validator reads them as 2020-12, which accepts them without it. */
function toParameters(schema: unknown): JsonSchema {
  const s = { ...(schema as Record<string, unknown>) };
  delete s.$schema;
  if (s.type === undefined) s.type = "object";
  if (s.properties === undefined) s.properties = {};
  return s;
}

/**
 * Starts an MCP server over stdio with the official SDK, lists its tools (every page) and wraps
 * each as a ToolDefinition whose `execute` calls `tools/call`. A result with `isError` becomes a
 * ToolExecutionError. The server's stderr is kept (last 4 KB) for error messages, not printed.
 */
export async function connectMcpServer(options: McpServerOptions): Promise<McpConnection> {
  const label = [options.command, ...(options.args ?? [])].join(" ");
  // the SDK loads when a server is used: commands that run no MCP server never import it
  const [{ Client }, { getDefaultEnvironment, StdioClientTransport }] = await Promise.all([import("@modelcontextprotocol/sdk/client/index.js"), import("@modelcontextprotocol/sdk/client/stdio.js")]);
  const transport = new StdioClientTransport({
    command: options.command,
    args: options.args ?? [],
    env: { ...getDefaultEnvironment(), ...(options.env ?? {}) },
    cwd: options.cwd,
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-4096);
  });
  const client = new Client({ name: "agenttune", version: "0.1.0" });
  const timeout = options.startTimeoutMs ?? 20_000;
  const failed = (problem: string, cause: unknown) => {
    const tail = stderr.trim().split("\n").slice(-3).join(" | ");
    return new McpServerError(label, tail === "" ? problem : `${problem} (server said: ${tail})`, { cause });
  };
  const listed: { name: string; description?: string; inputSchema: unknown }[] = [];
  try {
    await client.connect(transport, { timeout });
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor }, { timeout });
      listed.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  } catch (error) {
    await client.close().catch(() => {});
    throw failed(`could not start or list tools: ${(error as Error).message}`, error);
  }
  const tools: ToolDefinition[] = listed.map((t) => ({
    name: t.name,
    description: t.description ?? "",
    parameters: toParameters(t.inputSchema),
    async execute(args, context) {
      let result: { content?: unknown; isError?: unknown };
      try {
        result = (await client.callTool({ name: t.name, arguments: args }, undefined, { signal: context.signal })) as typeof result;
      } catch (error) {
        if (context.signal?.aborted) throw context.signal.reason;
        throw new ToolExecutionError(`${t.name} (MCP) failed: ${(error as Error).message}`, { tool: t.name, cause: error });
      }
      const content = Array.isArray(result.content) ? (result.content as Content[]) : [];
      if (result.isError === true) {
        const observation = observationFromContent(content);
        const message = typeof observation === "object" && observation !== null && "text" in observation ? String(observation.text) : JSON.stringify(observation);
        throw new ToolExecutionError(message, { tool: t.name, hint: "the MCP server reported this error" });
      }
      return observationFromContent(content);
    },
  }));
  return {
    tools,
    async close() {
      await client.close();
    },
  };
}

/** Splits a command line like `node server.mjs --flag "two words"` into command and arguments. */
export function splitCommandLine(line: string): { command: string; args: string[] } {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? m[3]));
  if (words.length === 0) throw new McpServerError(line, "the command is empty", { hint: 'give the command that starts the server, e.g. --mcp "node server.mjs"' });
  return { command: words[0], args: words.slice(1) };
}
