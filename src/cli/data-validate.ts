import { formatIssue } from "../data/jsonl.js";
import { type RecordKind, validateFile } from "../data/tasks-file.js";
import { InvalidInputError } from "../errors.js";
import { type CommandSpec, defineCommand } from "./command.js";
import { wholeFlag } from "./flag-values.js";

/** `agenttune data validate FILE…`: every problem with its line; exit 1 when there is any. */
export const dataValidateCommand: CommandSpec = defineCommand({
  name: "data validate",
  summary: "check task or training JSONL files: every problem with its file, line and field",
  positionals: ["<file…>"],
  flags: {
    kind: { type: "string", description: "what each line must be: task | example | auto (example when it has messages or steps)", default: "auto" },
    "max-issues": { type: "number", description: "print at most this many problems per file", default: 200 },
  },
  async run(flags, positionals, io) {
    if (positionals.length === 0) throw new InvalidInputError("name at least one file to validate", { hint: "agenttune data validate data/train.jsonl" });
    const kind = String(flags.kind) as RecordKind;
    if (!["task", "example", "auto"].includes(kind)) throw new InvalidInputError(`--kind must be task, example or auto, got "${kind}"`, { field: "kind" });
    const limit = wholeFlag(flags, "max-issues", 0);
    let bad = 0;
    for (const file of positionals) {
      const { records, issues } = await validateFile(file, kind);
      for (const issue of issues.slice(0, limit)) io.out(`${formatIssue(issue)}\n`);
      if (issues.length > limit) io.out(`${file}: … and ${issues.length - limit} more problem(s)\n`);
      io.out(`${file}: ${records} record(s), ${issues.length === 0 ? "valid" : `${issues.length} problem(s)`}\n`);
      if (issues.length > 0) bad++;
    }
    return bad === 0 ? 0 : 1;
  },
});
