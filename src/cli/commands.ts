import type { CommandSpec } from "./command.js";

/**
 * Every `agenttune` command, in the order `agenttune --help` lists them.
 * A command lives in its own file under src/cli/ and is added here.
 */
export const COMMANDS: CommandSpec[] = [];
