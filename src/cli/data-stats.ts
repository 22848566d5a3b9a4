import { datasetStats, formatStats } from "../data/stats.js";
import { InvalidInputError } from "../errors.js";
import { type CommandSpec, defineCommand } from "./command.js";

/** `agenttune data stats FILE`: counts by category, format, tool, number of calls; lengths. */
export const dataStatsCommand: CommandSpec = defineCommand({
  name: "data stats",
  summary: "counts of a task or training file: categories, formats, tools, calls, lengths",
  positionals: ["<file>"],
  flags: {
    json: { type: "boolean", description: "print the numbers as JSON" },
  },
  async run(flags, positionals, io) {
    if (positionals.length === 0) throw new InvalidInputError("name the file", { hint: "agenttune data stats data/train.jsonl" });
    for (const file of positionals) {
      const stats = await datasetStats(file);
      io.out(flags.json === true ? `${JSON.stringify({ file, ...stats }, null, 2)}\n` : `${formatStats(file, stats)}\n`);
    }
    return 0;
  },
});
