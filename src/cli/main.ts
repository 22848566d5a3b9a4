import { AgentTuneError, describeError } from "../errors.js";
import { type CommandIO, type CommandSpec, formatHelp, parseFlags } from "./command.js";
import { COMMANDS } from "./commands.js";

const VERSION = "0.1.0";

/** The usage line, then each command with its summary, then where the flags are. */
function commandList(usage: string, commands: CommandSpec[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 4;
  return [
    `Usage: ${usage}`,
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "Run `agenttune <command> --help` for the flags of a command.",
    "",
  ].join("\n");
}

function topLevelHelp(commands: CommandSpec[]): string {
  return `agenttune — turn small open language models into reliable tool-using agents\n\n${commandList("agenttune <command> [flags]", commands)}`;
}

/** Finds the longest command name that prefixes argv ("data build" before "data"). */
function findCommand(commands: CommandSpec[], argv: string[]): { spec: CommandSpec; rest: string[] } | undefined {
  let best: { spec: CommandSpec; rest: string[] } | undefined;
  for (const spec of commands) {
    const words = spec.name.split(" ");
    if (words.every((w, i) => argv[i] === w) && (!best || words.length > best.spec.name.split(" ").length)) {
      best = { spec, rest: argv.slice(words.length) };
    }
  }
  return best;
}

/**
 * Runs the CLI with argv (without `node` and the script) and returns the exit code. Never
 * calls process.exit itself, so tests can drive it.
 */
export async function runCli(argv: string[], io: CommandIO, commands: CommandSpec[] = COMMANDS): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    io.out(topLevelHelp(commands));
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === "--version" || argv[0] === "-v") {
    io.out(`${VERSION}\n`);
    return 0;
  }
  const found = findCommand(commands, argv);
  if (!found) {
    const group = commands.filter((c) => c.name.startsWith(`${argv[0]} `));
    if (group.length > 0 && (argv[1] === "--help" || argv[1] === "-h")) {
      io.out(commandList(`agenttune ${argv[0]} <subcommand> [flags]`, group));
      return 0;
    }
    if (group.length > 0) {
      io.err(`agenttune ${argv[0]}: name a subcommand: ${group.map((c) => c.name).join(", ")}\n`);
    } else {
      io.err(`agenttune: unknown command "${argv[0]}"\n  hint: run \`agenttune --help\` for the list of commands\n`);
    }
    return 2;
  }
  try {
    const { flags, positionals, help } = parseFlags(found.spec, found.rest);
    if (help) {
      io.out(formatHelp(found.spec));
      return 0;
    }
    return (await found.spec.run(flags, positionals, io)) ?? 0;
  } catch (error) {
    io.err(`agenttune ${found.spec.name}: ${describeError(error)}\n`);
    if (!(error instanceof AgentTuneError) && process.env.AGENTTUNE_DEBUG) io.err(`${(error as Error).stack}\n`);
    return error instanceof AgentTuneError ? error.exitCode : 1;
  }
}

/**
 * Writes to `stream` until its reader goes away (`agenttune data build … | head -1`), then drops
 * the rest: the command still finishes its work (a build its file, a training run its checkpoint)
 * instead of dying on an unhandled EPIPE halfway.
 */
export function untilReaderCloses(stream: NodeJS.WritableStream): (text: string) => void {
  let readerGone = false;
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    readerGone = true;
  });
  return (text) => {
    if (!readerGone) stream.write(text);
  };
}

/** The process entry point: wires stdout/stderr and sets the exit code. */
export async function main(): Promise<void> {
  const io: CommandIO = {
    out: untilReaderCloses(process.stdout),
    err: untilReaderCloses(process.stderr),
    interactive: process.stderr.isTTY === true,
  };
  process.exitCode = await runCli(process.argv.slice(2), io);
}
