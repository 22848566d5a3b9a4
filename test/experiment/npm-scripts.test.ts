// Every `npm run experiment:…` line of package.json names a subcommand that exists and flags it
// takes, with values it accepts: a typo in a study's one command would otherwise surface only when
// someone reruns the study on a GPU machine.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parseFlags } from "../../src/cli/command.js";
import { dataShapeOptions } from "../../src/cli/data-build.js";
import { createExperimentCommands } from "../../src/cli/experiment.js";

const scripts = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> }).scripts;
const experiments = Object.entries(scripts).filter(([name]) => name.startsWith("experiment:"));
const commands = createExperimentCommands();

describe("the experiment scripts of package.json", () => {
  it("there are some", () => assert.ok(experiments.length >= 10, `${experiments.length} scripts`));
  for (const [name, line] of experiments) {
    it(`${name} parses`, () => {
      const words = line.split(/\s+/);
      assert.deepEqual(words.slice(0, 3), ["node", "bin/agenttune.js", "experiment"], line);
      const command = commands.find((c) => c.name === `experiment ${words[3]}`);
      assert.ok(command, `no subcommand "experiment ${words[3]}"`);
      const { flags, positionals } = parseFlags(command, words.slice(4));
      assert.deepEqual(positionals, []);
      assert.ok(typeof flags.out === "string" && flags.out.startsWith("results/"), `${name}: --out ${String(flags.out)} is not under results/`);
      if (command.name === "experiment scaling") dataShapeOptions(flags); // the data flags' values
    });
  }
});
