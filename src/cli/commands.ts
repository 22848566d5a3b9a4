import type { CommandSpec } from "./command.js";
import { compareCommand } from "./compare.js";
import { quickstartCommand } from "./quickstart.js";
import { runCommand } from "./run.js";
import { evalCommand } from "./eval.js";
import { dataBuildCommand } from "./data-build.js";
import { dataStatsCommand } from "./data-stats.js";
import { dataSynthCommand } from "./data-synth.js";
import { dataValidateCommand } from "./data-validate.js";
import { reportCommand } from "./report.js";
import { demoCommand, serveCommand } from "./serve.js";
import { exportCommand } from "./export.js";
import { experimentCommands } from "./experiment.js";
import { trainCommand } from "./train.js";
import { modelsFetchCommand, modelsListCommand } from "./models.js";
import { toolsListCommand } from "./tools-list.js";

/**
 * Every `agenttune` command, in the order `agenttune --help` lists them.
 * A command lives in its own file under src/cli/ and is added here.
 */
export const COMMANDS: CommandSpec[] = [
  quickstartCommand,
  runCommand,
  evalCommand,
  compareCommand,
  dataBuildCommand,
  dataValidateCommand,
  dataStatsCommand,
  dataSynthCommand,
  trainCommand,
  exportCommand,
  ...experimentCommands,
  serveCommand,
  demoCommand,
  reportCommand,
  modelsListCommand,
  modelsFetchCommand,
  toolsListCommand,
];
