import { BUILTIN_TOOLS } from "./builtin/index.js";
import { loadToolModule } from "./load.js";
import { connectMcpServer, type McpConnection, type McpServerOptions, splitCommandLine } from "./mcp.js";
import { ToolRegistry } from "./registry.js";
import { ArgumentValidator } from "./validate.js";

/** Where the tools of a run come from. */
export interface ToolSetOptions {
  /** Include the ten built-in tools (default true). */
  builtins?: boolean;
  /** User tool files (`.json`, `.js`, `.mjs`, `.ts`), in order. */
  files?: readonly string[];
  /** MCP servers: a command line ("node server.mjs --port 0") or full options. */
  mcp?: readonly (string | McpServerOptions)[];
}

/** A registry assembled from several sources; `close()` stops any MCP servers it started. */
export interface ToolSet {
  registry: ToolRegistry;
  close(): Promise<void>;
}

/**
 * Builds one registry from the built-ins, user files and MCP servers. A name used twice across
 * sources is a ToolDefinitionError naming the later file (or server). On any error the MCP
 * servers already started are stopped before it is thrown.
 */
export async function openToolSet(options: ToolSetOptions = {}): Promise<ToolSet> {
  const validator = new ArgumentValidator();
  const registry = new ToolRegistry([], { validator });
  const connections: McpConnection[] = [];
  const close = async () => {
    await Promise.allSettled(connections.map((c) => c.close()));
  };
  try {
    if (options.builtins ?? true) for (const tool of BUILTIN_TOOLS) registry.register(tool);
    for (const file of options.files ?? []) {
      for (const tool of await loadToolModule(file, { validator })) registry.register(tool, file);
    }
    for (const server of options.mcp ?? []) {
      const spec = typeof server === "string" ? splitCommandLine(server) : server;
      const connection = await connectMcpServer(spec);
      connections.push(connection);
      const label = `mcp:${[spec.command, ...(spec.args ?? [])].join(" ")}`;
      for (const tool of connection.tools) registry.register(tool, label);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { registry, close };
}
