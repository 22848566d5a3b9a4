import { formatMachine, type MachineInfo } from "./machine.js";

/** How an experiment's files were made: enough to run it again and to read its timings. */
export interface Provenance {
  /** The exact command line, when the CLI ran it. */
  command?: string;
  /** ISO date the files were written. */
  date: string;
  machine: MachineInfo;
}

/** Markdown lines: the command in a shell block, then the date and the machine. */
export function formatProvenance(p: Provenance): string[] {
  const lines: string[] = [];
  if (p.command !== undefined) lines.push("```sh", p.command, "```", "");
  lines.push(`- Date: ${p.date}`, `- Machine: ${formatMachine(p.machine)}`);
  return lines;
}
