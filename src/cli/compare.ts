import { writeFile } from "node:fs/promises";
import { InvalidInputError } from "../errors.js";
import { readEvalResult } from "../eval/files.js";
import { compareRuns } from "../eval/report.js";
import { defineCommand } from "./command.js";

/** `agenttune compare A/eval.json B/eval.json`: two evaluations side by side with deltas. */
export const compareCommand = defineCommand({
  name: "compare",
  summary: "compare two evaluations side by side (e.g. zero-shot vs fine-tuned)",
  positionals: ["<a/eval.json>", "<b/eval.json>"],
  flags: {
    out: { type: "string", description: "also write the Markdown table to this file", placeholder: "file", aliases: ["output", "output_file"] },
    "label-a": { type: "string", description: "column name of the first run (default: its model and adapter)", placeholder: "name" },
    "label-b": { type: "string", description: "column name of the second run", placeholder: "name" },
    title: { type: "string", description: "heading of the table", placeholder: "text" },
  },
  details: `Each argument is an eval.json written by \`agenttune eval --out DIR\` (or DIR itself).
Example:
  agenttune compare results/zero-shot/eval.json results/fine-tuned/eval.json --label-a zero-shot --label-b fine-tuned`,
  async run(flags, positionals, io) {
    if (positionals.length !== 2) {
      throw new InvalidInputError(`compare takes two evaluation results, got ${positionals.length}`, {
        hint: "agenttune compare A/eval.json B/eval.json",
      });
    }
    const [a, b] = await Promise.all(positionals.map((p) => readEvalResult(p)));
    const labelA = flags["label-a"] as string | undefined;
    const labelB = flags["label-b"] as string | undefined;
    const markdown = compareRuns(a, b, {
      ...(labelA !== undefined || labelB !== undefined ? { labels: [labelA ?? "A", labelB ?? "B"] as [string, string] } : {}),
      ...(flags.title === undefined ? {} : { title: flags.title as string }),
    });
    io.out(markdown);
    if (flags.out !== undefined) {
      await writeFile(flags.out as string, markdown);
      io.err(`wrote ${flags.out as string}\n`);
    }
    return 0;
  },
});
