import { parseArgs } from "node:util";
import { InvalidInputError } from "../errors.js";

/** One flag of a command. Names are kebab-case; the snake_case spelling is accepted as an alias. */
export interface FlagSpec {
  type: "string" | "boolean" | "number";
  description: string;
  default?: string | boolean | number;
  short?: string;
  /** Extra spellings, e.g. the reference's `model_id` for `model`. Underscore forms of the name itself need not be listed. */
  aliases?: string[];
  multiple?: boolean;
  /** Shown as `--flag <placeholder>` in help. */
  placeholder?: string;
}

export type FlagValues = Record<string, string | boolean | number | string[] | undefined>;

export interface CommandSpec {
  /** The words after `agenttune`, e.g. "data build". */
  name: string;
  summary: string;
  /** Positional arguments, shown in the usage line, e.g. ["<query>"]. */
  positionals?: string[];
  flags: Record<string, FlagSpec>;
  /** Extra help text: examples, notes. */
  details?: string;
  run(flags: FlagValues, positionals: string[], io: CommandIO): Promise<number | undefined> | number | undefined;
}

/** Where a command writes; tests capture these. */
export interface CommandIO {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal (progress bars draw in place only then). */
  interactive: boolean;
}

export function defineCommand(spec: CommandSpec): CommandSpec {
  return spec;
}

/** `model_id` → `model-id`: the reference's underscore spellings map onto our kebab-case flags. */
function kebab(name: string): string {
  return name.replace(/_/g, "-");
}

/**
 * Parses argv for one command. Accepts `--flag value`, `--flag=value`, underscore spellings and
 * listed aliases; converts numbers and rejects what is not one; fills defaults.
 */
export function parseFlags(spec: CommandSpec, argv: string[]): { flags: FlagValues; positionals: string[]; help: boolean } {
  const aliasToName = new Map<string, string>();
  for (const [name, flag] of Object.entries(spec.flags)) {
    for (const alias of flag.aliases ?? []) aliasToName.set(kebab(alias), name);
  }
  const normalized: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith("--")) {
      normalized.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const rawName = kebab(arg.slice(2, eq === -1 ? undefined : eq));
    const name = aliasToName.get(rawName) ?? rawName;
    const next = argv[i + 1];
    // `--lr -1`: a number flag's negative value would read as a flag of its own
    if (eq === -1 && spec.flags[name]?.type === "number" && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      normalized.push(`--${name}=${next}`);
      i++;
      continue;
    }
    normalized.push(`--${name}${eq === -1 ? "" : arg.slice(eq)}`);
  }
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [name, flag] of Object.entries(spec.flags)) {
    options[name] = { type: flag.type === "boolean" ? "boolean" : "string", multiple: flag.multiple ?? false };
    if (flag.short !== undefined) options[name].short = flag.short;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: normalized, options, allowPositionals: true, strict: true, allowNegative: true } as never);
  } catch (error) {
    throw new InvalidInputError((error as Error).message, {
      hint: `run \`agenttune ${spec.name} --help\` to see the flags it takes`,
    });
  }
  const values = parsed.values as Record<string, unknown>;
  // allowNegative reads `--no-seeds` as seeds=false; a flag declared as "no-seeds" is meant.
  for (const name of Object.keys(spec.flags)) {
    const positive = name.slice(3);
    if (name.startsWith("no-") && values[name] === undefined && values[positive] === false && !(positive in spec.flags)) {
      values[name] = true;
      delete values[positive];
    }
  }
  const flags: FlagValues = {};
  if (values.help === true) return { flags, positionals: parsed.positionals, help: true }; // --help wins over a bad value
  for (const [name, flag] of Object.entries(spec.flags)) {
    const raw = values[name];
    if (raw === undefined) {
      flags[name] = flag.default;
      continue;
    }
    if (flag.type === "number") {
      const value = Number(raw);
      if (typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(value)) {
        throw new InvalidInputError(`--${name} takes a number, got "${String(raw)}"`, { field: name });
      }
      flags[name] = value;
    } else {
      flags[name] = raw as string | boolean | string[];
    }
  }
  return { flags, positionals: parsed.positionals, help: values.help === true };
}

/** The `--help` text of a command. */
export function formatHelp(spec: CommandSpec): string {
  const usage = [`agenttune ${spec.name}`, ...(spec.positionals ?? []), "[flags]"].join(" ");
  const rows = Object.entries(spec.flags).map(([name, flag]) => {
    const left = `  --${name}${flag.short ? `, -${flag.short}` : ""}${flag.type === "boolean" ? "" : ` <${flag.placeholder ?? flag.type}>`}`;
    const extra: string[] = [];
    if (flag.default !== undefined && flag.default !== false) extra.push(`default: ${String(flag.default)}`);
    const underscore = name.includes("-") ? [name.replace(/-/g, "_")] : [];
    const aliases = [...underscore, ...(flag.aliases ?? [])];
    if (aliases.length > 0) extra.push(`also --${aliases.join(", --")}`);
    return { left, right: flag.description + (extra.length > 0 ? ` (${extra.join("; ")})` : "") };
  });
  rows.push({ left: "  --help, -h", right: "show this help" });
  const width = Math.max(...rows.map((r) => r.left.length)) + 2;
  const lines = [spec.summary, "", `Usage: ${usage}`, "", "Flags:", ...rows.map((r) => r.left.padEnd(width) + r.right)];
  if (spec.details) lines.push("", spec.details.trim());
  return `${lines.join("\n")}\n`;
}

/** A shell word: as it is when it is plain, else in single quotes. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The arguments that give these flag values again (the command's words, the positionals, then
 * every flag set, defaults included, in the order the command lists them): what a command hands
 * the copies of itself it starts.
 */
export function commandArgs(spec: CommandSpec, flags: FlagValues, positionals: readonly string[] = []): string[] {
  const words = [...spec.name.split(" "), ...positionals];
  for (const [name, flag] of Object.entries(spec.flags)) {
    const value = flags[name];
    if (value === undefined || value === false) continue;
    if (flag.type === "boolean") words.push(`--${name}`);
    else for (const v of Array.isArray(value) ? value : [value]) words.push(`--${name}`, String(v));
  }
  return words;
}

/**
 * The command line that gives these flag values, every flag spelled out (defaults included) in
 * the order the command lists them: what an experiment's report records to be run again.
 */
export function formatCommandLine(spec: CommandSpec, flags: FlagValues, positionals: readonly string[] = []): string {
  const name = spec.name.split(" ");
  return ["agenttune", ...name, ...commandArgs(spec, flags, positionals).slice(name.length).map(shellWord)].join(" ");
}
