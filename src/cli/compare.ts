import { writeFile } from "node:fs/promises";
import { InvalidInputError } from "../errors.js";
import { compareMany } from "../eval/compare-many.js";
import { readEvalResult } from "../eval/files.js";
import { compareRuns, runLabel } from "../eval/report.js";
import { settingsBarsChart } from "../experiment/charts.js";
import { defineCommand } from "./command.js";

/**
 * `agenttune compare A/eval.json B/eval.json [C/eval.json …]`: two evaluations side by side with
 * deltas, or many as one table (a row a run; runs with the same label averaged).
 */
export const compareCommand = defineCommand({
  name: "compare",
  summary: "compare evaluations: two side by side with deltas (e.g. zero-shot vs fine-tuned), or many in one table",
  positionals: ["<a/eval.json>", "<b/eval.json>", "[more/eval.json …]"],
  flags: {
    out: { type: "string", description: "also write the Markdown table to this file", placeholder: "file", aliases: ["output", "output_file"] },
    "label-a": { type: "string", description: "column name of the first run (default: its model and adapter)", placeholder: "name" },
    "label-b": { type: "string", description: "column name of the second run", placeholder: "name" },
    labels: {
      type: "string",
      description: "comma-separated names, one a run, in order; runs sharing a name, or the part before an @ (250@s0,250@s1), are also averaged",
      placeholder: "a,b,…",
    },
    title: { type: "string", description: "heading of the table", placeholder: "text" },
    table: { type: "boolean", description: "one table with a row a run even for two runs (no deltas)" },
    chart: { type: "string", description: "also draw the headline metrics as an SVG bar chart: a row a setting (runs sharing a name averaged), a bar a metric", placeholder: "file.svg" },
    "chart-title": { type: "string", description: "heading of the chart (default: --title; a chart is about 90 characters wide)", placeholder: "text" },
  },
  details: `Each argument is an eval.json written by \`agenttune eval --out DIR\` (or DIR itself).
Examples:
  agenttune compare results/zero-shot/eval.json results/fine-tuned/eval.json --label-a zero-shot --label-b fine-tuned
  agenttune compare runs/250-s0 runs/250-s1 runs/1000-s0 runs/1000-s1 --labels 250@s0,250@s1,1000@s0,1000@s1 --out table.md --chart metrics.svg`,
  async run(flags, positionals, io) {
    if (positionals.length < 2) {
      throw new InvalidInputError(`compare takes two or more evaluation results, got ${positionals.length}`, {
        hint: "agenttune compare A/eval.json B/eval.json [C/eval.json …]",
      });
    }
    const labels = flags.labels === undefined ? undefined : (flags.labels as string).split(",").map((l) => l.trim());
    if (labels !== undefined && labels.length !== positionals.length) {
      throw new InvalidInputError(`--labels names ${labels.length} runs, but ${positionals.length} results were given`, {
        hint: "give one name a result, in the same order, separated by commas",
      });
    }
    const results = await Promise.all(positionals.map((p) => readEvalResult(p)));
    const title = flags.title as string | undefined;
    let markdown: string;
    if (results.length === 2 && flags.table !== true) {
      const [a, b] = results as [(typeof results)[0], (typeof results)[0]];
      const labelA = (flags["label-a"] as string | undefined) ?? labels?.[0];
      const labelB = (flags["label-b"] as string | undefined) ?? labels?.[1];
      markdown = compareRuns(a, b, {
        ...(labelA !== undefined || labelB !== undefined ? { labels: [labelA ?? "A", labelB ?? "B"] as [string, string] } : {}),
        ...(title === undefined ? {} : { title }),
      });
    } else {
      markdown = compareMany(results, { ...(labels === undefined ? {} : { labels }), ...(title === undefined ? {} : { title }) });
    }
    io.out(markdown);
    if (flags.out !== undefined) {
      await writeFile(flags.out as string, markdown);
      io.err(`wrote ${flags.out as string}\n`);
    }
    if (flags.chart !== undefined) {
      const given = [flags["label-a"], flags["label-b"]] as (string | undefined)[];
      const names = labels ?? results.map((r, i) => given[i] ?? runLabel(r));
      await writeFile(flags.chart as string, settingsBarsChart(results, names, (flags["chart-title"] as string | undefined) ?? title ?? "Held-out metrics"));
      io.err(`wrote ${flags.chart as string}\n`);
    }
    return 0;
  },
});
