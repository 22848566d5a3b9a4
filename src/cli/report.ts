import { writeFile } from "node:fs/promises";
import { InvalidInputError } from "../errors.js";
import { readEvalResult } from "../eval/files.js";
import { renderHtmlReport } from "../eval/html-report.js";
import { readTrainLog } from "../eval/train-log.js";
import { defineCommand } from "./command.js";
import { wholeFlag } from "./flag-values.js";

export const reportCommand = defineCommand({
  name: "report",
  summary: "write one self-contained HTML page from eval results (and a training log)",
  positionals: ["<eval.json|dir>…"],
  flags: {
    out: { type: "string", description: "the HTML file to write", default: "report.html", placeholder: "file", aliases: ["output"] },
    "train-log": { type: "string", description: "a JSONL training log of {step, loss, …} lines, for the loss curves", placeholder: "file", aliases: ["log"] },
    title: { type: "string", description: "the page title", placeholder: "text" },
    examples: { type: "number", description: "example trajectories per run", default: 3 },
  },
  details: `Give the zero-shot result first and the fine-tuned one second: the page compares them in that order.
Example:
  agenttune report results/zero-shot results/fine-tuned --train-log runs/smol/train-log.jsonl --out results/report.html`,
  async run(flags, positionals, io) {
    if (positionals.length === 0) {
      throw new InvalidInputError("agenttune report needs at least one eval.json (or the folder holding it)", { hint: "agenttune report results/zero-shot results/fine-tuned --out report.html" });
    }
    const results = [];
    for (const path of positionals) results.push(await readEvalResult(path));
    const trainLog = flags["train-log"] === undefined ? undefined : await readTrainLog(flags["train-log"] as string);
    const html = renderHtmlReport(results, {
      ...(trainLog === undefined ? {} : { trainLog }),
      ...(flags.title === undefined ? {} : { title: flags.title as string }),
      examples: wholeFlag(flags, "examples", 0),
    });
    const out = flags.out as string;
    await writeFile(out, html);
    io.out(`wrote ${out} (${results.length} run${results.length === 1 ? "" : "s"}${trainLog === undefined ? "" : `, ${trainLog.length} log lines`})\n`);
    return 0;
  },
});
