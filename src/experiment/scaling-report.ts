// scaling.md: the data-scaling table (mean and min–max over seeds per training-set size), every
// run's row, how it was made (command, date, machine, recipe) and the charts.

import { formatRate, shortMetricLabel } from "../eval/metrics.js";
import { markdownCell, markdownTable } from "../eval/report.js";
import { formatSpread } from "../eval/stats.js";
import { SCALING_METRICS } from "./charts.js";
import { formatMachine } from "./machine.js";
import { formatProvenance } from "./provenance.js";
import type { ScalingResult } from "./scaling-summary.js";

/** The chart files a study writes beside scaling.md. */
export const SCALING_CHARTS = { loss: "loss-curves.svg", metrics: "metrics-vs-samples.svg" } as const;

const percent = (v: number) => (v * 100).toFixed(1);
const loss = (v: number) => v.toFixed(3);

/** `53.2 s`, `12.5 min`, `2.10 h`. */
export function formatSeconds(s: number): string {
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(2)} h`;
}

/** `812`, `11.3k`. */
export function formatTokensPerSecond(v: number): string {
  return v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0);
}

/**
 * Where the runs were trained, when that is not (only) the machine that wrote the report: a study
 * trained on a GPU and evaluated or reported elsewhere (--train-only, --report-only).
 */
function formatTrainedOn(result: ScalingResult): string[] {
  const here = formatMachine(result.machine);
  const byMachine = new Map<string, string[]>();
  for (const r of result.runs) {
    if (r.trainedOn === undefined) continue;
    const m = formatMachine(r.trainedOn);
    byMachine.set(m, [...(byMachine.get(m) ?? []), r.id]);
  }
  if (byMachine.size === 0 || (byMachine.size === 1 && byMachine.has(here))) return [];
  const dates = result.runs.flatMap((r) => (r.trainedAt === undefined ? [] : [r.trainedAt])).sort();
  const when = dates.length === 0 ? "" : ` (${dates[0]} to ${dates.at(-1)})`;
  const where = [...byMachine].map(([m, ids]) => (byMachine.size === 1 ? m : `${m}: ${ids.join(", ")}`)).join("; ");
  return [`- Runs trained on: ${where}${when}`];
}

/** The Markdown report of a scaling study. */
export function formatScalingReport(result: ScalingResult): string {
  const s = result.settings;
  const planned = result.sizes.length * result.seeds.length;
  const out: string[] = [`# Data scaling: ${result.model}`, ""];
  out.push(...formatProvenance(result), ...formatTrainedOn(result));
  out.push(
    `- Training: QLoRA on the ${s.backend === "cuda" ? "GPU (CUDA backend)" : "CPU"}, NF4 base, LoRA r${s.lora.rank}/α${s.lora.alpha} dropout ${s.lora.dropout} on ${s.lora.targets.join(", ")}${s.lora.neftuneAlpha === undefined ? "" : `, NEFTune noise α ${s.lora.neftuneAlpha}`}; ` +
      `lr ${s.lr} cosine with ${(s.warmupRatio * 100).toFixed(0)} % warm-up; ${s.epochs} epoch${s.epochs === 1 ? "" : "s"}; batch ${s.batchSize} × accumulation ${s.gradAccum}; max length ${s.maxLength}` +
      (s.maxSteps === undefined ? "" : `; **stopped after ${s.maxSteps} step${s.maxSteps === 1 ? "" : "s"} (a smoke run, not the recipe)**`),
  );
  out.push(
    `- Evaluation: ${s.evalTasks} tasks${s.tasksFile === undefined ? "" : ` from \`${s.tasksFile}\``}, ${s.evalEngine === "llama" ? "node-llama-cpp (GGUF LoRA)" : "our engine (PEFT adapter)"} on the ${s.device}, greedy, at most ${s.evalMaxSteps} steps of ${s.maxTokens} tokens`,
  );
  out.push(`- Sizes ${result.sizes.join(", ")} × seeds ${result.seeds.join(", ")}; a seed sets the data build, the LoRA initialisation and the batch order`);
  const done = new Set(result.runs.map((r) => r.id));
  const notRun = result.sizes.flatMap((size) => result.seeds.map((seed) => `${size}-s${seed}`)).filter((id) => !done.has(id));
  out.push(
    `- Runs finished: ${result.runs.length} of ${planned}${notRun.length > 0 ? `; not run: ${notRun.join(", ")} (run the command again to continue; finished runs are kept)` : ""}`,
    "",
  );

  out.push(`## Mean over seeds${result.seeds.length > 1 ? " (min–max)" : ""}`, "");
  const header = ["Samples", "Runs", ...SCALING_METRICS.map((k) => `${shortMetricLabel(k)} (%)`), "Final loss", "Wall time", "Tokens/s"];
  const rows = result.bySize.map((g) => [
    String(g.size),
    String(g.seeds.length),
    ...SCALING_METRICS.map((k) => formatSpread(g.metrics[k], percent)),
    formatSpread(g.finalLoss, loss),
    formatSpread(g.wallS, formatSeconds),
    formatSpread(g.tokensPerS, formatTokensPerSecond),
  ]);
  out.push(markdownTable(header, rows), "");
  out.push("Rates are over the tasks each metric applies to; wall time is the whole fine-tuning call (load, tokenize, train, write the adapter); tokens/s counts training tokens over the time in training steps.", "");

  out.push("## Every run", "");
  out.push(
    markdownTable(
      ["Run", "Samples", "Seed", "Examples", "Steps", ...SCALING_METRICS.map(shortMetricLabel), "Final loss", "Wall time", "Tokens/s"],
      result.runs.map((r) => [
        markdownCell(r.id),
        String(r.size),
        String(r.seed),
        String(r.examples),
        `${r.steps}/${r.totalSteps}`,
        ...SCALING_METRICS.map((k) => formatRate(r.metrics[k])),
        r.finalLoss === null ? "—" : loss(r.finalLoss),
        `${formatSeconds(r.wallS)}${r.resumedTraining ? " (resumed)" : ""}`,
        r.tokensPerS === null ? "—" : formatTokensPerSecond(r.tokensPerS),
      ]),
    ),
    "",
  );

  out.push("## Charts", "", `![Training loss of every run](${SCALING_CHARTS.loss})`, "", `![Held-out metrics vs training samples](${SCALING_CHARTS.metrics})`, "");
  out.push("Files: `scaling.json` (every run's metrics with counts, the figures above with their standard deviations), `runs/<size>-s<seed>/` (`train_log.jsonl`, `run.json`, `eval.json`, `eval.md`, the PEFT `adapter/` and, for a GGUF base, `adapter.gguf`).");
  return `${out.join("\n")}\n`;
}
