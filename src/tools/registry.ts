import { BUILTIN_TOOLS } from "./builtin/index.js";
import { type ArgumentIssue, ToolArgumentsError, ToolDefinitionError, ToolExecutionError, UnknownToolError } from "./errors.js";
import { loadToolModule } from "./load.js";
import type { JsonValue, ToolCall, ToolDefinition } from "./types.js";
import { ArgumentValidator } from "./validate.js";

/** Options of one execution. */
export interface ExecuteOptions {
  /** The simulation seed handed to the tool. */
  seed: number;
  /** Cancels the call; the registry rethrows the signal's reason. */
  signal?: AbortSignal;
  /** After this many milliseconds the call fails with a ToolExecutionError (and the tool's signal aborts). */
  timeoutMs?: number;
}

/** A tool as OpenAI-style chat APIs list it. */
export interface OpenAIToolSpec {
  type: "function";
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/**
 * The set of tools an agent may call. Every tool is checked when registered (name, description,
 * object schema); every call is validated against the tool's schema before it runs, and every
 * failure is one of three typed errors: UnknownToolError, ToolArgumentsError, ToolExecutionError.
 */
export class ToolRegistry {
  private readonly tools = new Map<string, ToolDefinition>();
  private readonly validator: ArgumentValidator;

  constructor(tools: Iterable<ToolDefinition> = [], options: { validator?: ArgumentValidator } = {}) {
    this.validator = options.validator ?? new ArgumentValidator();
    for (const tool of tools) this.register(tool);
  }

  /** Adds a tool; throws ToolDefinitionError for a malformed one or a name already taken. `file` names its source in errors. */
  register(tool: ToolDefinition, file?: string): this {
    this.validator.checkDefinition(tool, file);
    if (this.tools.has(tool.name)) {
      throw new ToolDefinitionError({
        file,
        field: "name",
        problem: `a tool named "${tool.name}" is already registered`,
        hint: "give the tool another name (tool names must be unique)",
      });
    }
    this.tools.set(tool.name, tool);
    return this;
  }

  /** The tool called `name`, or undefined. */
  get(name: string): ToolDefinition | undefined {
    return this.tools.get(name);
  }

  has(name: string): boolean {
    return this.tools.has(name);
  }

  /** The tools in registration order. */
  list(): ToolDefinition[] {
    return [...this.tools.values()];
  }

  names(): string[] {
    return [...this.tools.keys()];
  }

  get size(): number {
    return this.tools.size;
  }

  /** A new registry with only the named tools (in this registry's order); unknown names throw UnknownToolError. */
  subset(names: Iterable<string>): ToolRegistry {
    const wanted = new Set(names);
    for (const name of wanted) if (!this.tools.has(name)) throw new UnknownToolError(name, this.names());
    return new ToolRegistry(
      this.list().filter((t) => wanted.has(t.name)),
      { validator: this.validator },
    );
  }

  /** The problems with a call's arguments (empty when valid); throws UnknownToolError for an unknown tool. */
  validate(call: ToolCall): ArgumentIssue[] {
    const tool = this.tools.get(call.name);
    if (tool === undefined) throw new UnknownToolError(call.name, this.names());
    const args: unknown = call.arguments;
    if (args === null || typeof args !== "object" || Array.isArray(args)) return [{ path: "", message: "arguments must be a JSON object" }];
    return this.validator.validate(tool.parameters, args);
  }

  /**
   * Validates and runs a call. Throws UnknownToolError, ToolArgumentsError, or ToolExecutionError
   * (for the tool's own failures, anything else it throws, and a timeout); cancellation through
   * `signal` rethrows the signal's reason.
   */
  async execute(call: ToolCall, options: ExecuteOptions): Promise<JsonValue> {
    const issues = this.validate(call);
    if (issues.length > 0) throw new ToolArgumentsError(call.name, issues);
    const tool = this.tools.get(call.name) as ToolDefinition;
    const outer = options.signal;
    if (outer?.aborted) throw outer.reason;
    const controller = new AbortController();
    const onAbort = () => controller.abort(outer?.reason);
    outer?.addEventListener("abort", onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      const stopped = new Promise<never>((_, reject) => {
        controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
        if (options.timeoutMs !== undefined) {
          timer = setTimeout(() => {
            controller.abort(new ToolExecutionError(`${call.name} timed out after ${options.timeoutMs} ms`, {
              tool: call.name,
              hint: "the tool did not answer in time; try again or raise the per-call timeout",
            }));
          }, options.timeoutMs);
        }
      });
      stopped.catch(() => {}); // settled through the race below; never an unhandled rejection
      const running = Promise.resolve().then(() => tool.execute(call.arguments, { seed: options.seed, signal: controller.signal }));
      const result = await Promise.race([running, stopped]);
      return result === undefined ? null : result;
    } catch (error) {
      if (outer?.aborted && error === outer.reason) throw error;
      if (error instanceof ToolExecutionError) throw error;
      throw new ToolExecutionError(`${call.name} failed: ${error instanceof Error ? error.message : String(error)}`, {
        tool: call.name,
        cause: error,
        hint: "the tool itself raised this error",
      });
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    }
  }

  /** The tools as an OpenAI-style `tools` list. */
  toJSON(): OpenAIToolSpec[] {
    return this.list().map((t) => ({ type: "function", function: { name: t.name, description: t.description, parameters: t.parameters } }));
  }
}

/** A registry with the ten built-in tools. */
export function createDefaultRegistry(): ToolRegistry {
  return new ToolRegistry(BUILTIN_TOOLS);
}

/**
 * A registry with only the tools of one user file (`.json`, `.js`, `.mjs`, `.ts`; see loadToolModule).
 * This is what `--tools FILE` means for commands that take one file.
 */
export async function loadToolsFile(path: string): Promise<ToolRegistry> {
  const registry = new ToolRegistry();
  for (const tool of await loadToolModule(path)) registry.register(tool, path);
  return registry;
}
