import { AgentTuneError, FileFormatError, InvalidInputError } from "../errors.js";

/**
 * A tool ran and failed on its own terms: an unknown currency code, an unparsable expression,
 * a timeout. The runtime turns it into the observation `{"error": message}`.
 */
export class ToolExecutionError extends AgentTuneError {
  /** The tool that failed, when known. */
  readonly tool: string | undefined;
  constructor(message: string, options: { tool?: string; hint?: string; cause?: unknown } = {}) {
    super(message, { hint: options.hint, cause: options.cause });
    this.tool = options.tool;
  }
}

/** A call named a tool the registry does not have. */
export class UnknownToolError extends InvalidInputError {
  readonly tool: string;
  /** The names the registry does have. */
  readonly available: readonly string[];
  constructor(tool: string, available: readonly string[]) {
    super(`unknown tool "${tool}"`, {
      field: "name",
      hint: available.length === 0 ? "no tools are registered" : `the available tools are: ${available.join(", ")}`,
    });
    this.tool = tool;
    this.available = [...available];
  }
}

/** One problem with a call's arguments: a JSON pointer to the field (`/amount`, `""` for the whole object) and what is wrong. */
export interface ArgumentIssue {
  path: string;
  message: string;
}

/** Formats issues as `/amount: must be number; /to: is required`. */
export function formatArgumentIssues(issues: readonly ArgumentIssue[]): string {
  return issues.map((i) => `${i.path === "" ? "(arguments)" : i.path}: ${i.message}`).join("; ");
}

/** A call's arguments do not match the tool's JSON Schema. Names every offending field. */
export class ToolArgumentsError extends InvalidInputError {
  readonly tool: string;
  readonly issues: readonly ArgumentIssue[];
  constructor(tool: string, issues: readonly ArgumentIssue[], options: { hint?: string } = {}) {
    super(`invalid arguments for ${tool}: ${formatArgumentIssues(issues)}`, {
      field: issues[0]?.path,
      hint: options.hint ?? `call ${tool} with arguments that match its parameters schema`,
    });
    this.tool = tool;
    this.issues = [...issues];
  }
}

/**
 * A tool definition is malformed: a user module or JSON file with a missing name, a schema
 * that is not an object schema, a name already taken. Names the file (or `<inline>`) and the field.
 */
export class ToolDefinitionError extends FileFormatError {
  readonly field: string;
  constructor(options: { file?: string; field: string; problem: string; hint?: string; cause?: unknown }) {
    super({
      file: options.file ?? "<inline>",
      // "(file)": the whole file is at fault, so no location beside its name
      location: options.field === "(file)" ? undefined : options.field,
      problem: options.problem,
      hint: options.hint ?? "a tool needs a name, a description and an object JSON Schema under `parameters`",
      cause: options.cause,
    });
    this.field = options.field;
  }
}

/** An MCP server could not be started, did not answer, or broke the protocol. */
export class McpServerError extends AgentTuneError {
  /** The command line that starts the server. */
  readonly command: string;
  constructor(command: string, problem: string, options: { hint?: string; cause?: unknown } = {}) {
    super(`MCP server "${command}": ${problem}`, {
      hint: options.hint ?? "check that the command starts an MCP server speaking stdio (try running it by hand)",
      cause: options.cause,
    });
    this.command = command;
  }
}
