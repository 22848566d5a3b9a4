// Deployment parity (table 3 of the experiments issue): the same adapter evaluated on our engine
// (the PEFT folder merged into the base) and through node-llama-cpp (the GGUF LoRA on the base
// GGUF), metric by metric and task by task. Nothing here prints.

import { join } from "node:path";
import { InvalidInputError } from "../errors.js";
import { formatRate } from "../eval/metrics.js";
import { markdownCell, markdownTable } from "../eval/report.js";
import type { EvalResult } from "../eval/result.js";
import type { EvalProgress } from "../eval/runner.js";
import { planModel } from "../infer/resolve.js";
import { type AgreementSummary, compareTaskByTask } from "./agreement.js";
import { evaluateModel, evaluateOrRead } from "./evaluate-model.js";
import { type EvalSource, evalSource, type FailureDelta, failureDeltas, type MetricDelta, metricDeltas } from "./metric-deltas.js";
import { exportGgufLoraFor, fetchedModel } from "./model-files.js";
import { type PairFiles, type PairSettings, pairProvenance, sideEvalOptions, writePairReport } from "./pair-report.js";
import type { Provenance } from "./provenance.js";
import { loadExperimentTasks } from "./tasks.js";

export type ParityStage = "fetch" | "export" | "own" | "llama" | "report";

export interface ParityOptions extends PairSettings {
  /** The base model as a GGUF (catalog name or .gguf file): both engines run it. */
  model?: string;
  /** The adapter as a PEFT folder (our engine). */
  adapter?: string;
  /** The same adapter as a GGUF LoRA (node-llama-cpp); default: exported from `adapter` into the output folder. */
  ggufLora?: string;
  /** Earlier evaluations to reuse (eval.json or its folder). */
  ownEval?: string;
  llamaEval?: string;
  onStage?(stage: ParityStage, detail: string): void;
  onEvalProgress?(engine: "own" | "llama", p: EvalProgress): void;
}

/** parity.json. */
export interface ParityResult extends Provenance {
  version: 1;
  kind: "parity";
  model: string;
  adapter?: string;
  ggufLora?: string;
  columns: ["our engine", "node-llama-cpp"];
  own: EvalSource;
  llama: EvalSource;
  metrics: MetricDelta[];
  failureRates: FailureDelta[];
  /** Task by task: `a` is our engine, `b` node-llama-cpp. */
  agreement: AgreementSummary;
}

export type ParityFiles = PairFiles;

export const PARITY_CHART = "parity.svg";
const COLUMNS: ParityResult["columns"] = ["our engine", "node-llama-cpp"];

function cut(text: string | undefined, max = 80): string {
  if (text === undefined) return "(none)";
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, max)}…`;
}

/** The agreement section of parity.md: the rates, then each run where the engines differ. */
function agreementMarkdown(a: AgreementSummary, shown = 20): string[] {
  const out = ["## Task by task", ""];
  out.push(
    markdownTable(
      ["Same on both engines", "Runs"],
      [
        ["Tool calls (names and arguments, in order)", formatRate(a.sameCalls)],
        ["Answer", formatRate(a.sameAnswer)],
        ["How the run ended", formatRate(a.sameStatus)],
        ["All three", formatRate(a.identical)],
      ],
    ),
    "",
  );
  if (a.unmatched > 0) out.push(`${a.unmatched} run(s) appear in only one evaluation and are left out.`, "");
  const differ = a.tasks.filter((t) => !(t.sameCalls && t.sameAnswer && t.sameStatus));
  if (differ.length > 0) {
    out.push(`### Runs that differ (${Math.min(shown, differ.length)} of ${differ.length})`, "");
    out.push(
      markdownTable(
        ["Task", "Our engine", "node-llama-cpp"],
        differ.slice(0, shown).map((t) => [
          markdownCell(t.run > 0 ? `${t.id} (run ${t.run + 1})` : t.id),
          markdownCell(`${t.a.status}; ${t.a.calls.join(", ") || "no call"}; ${cut(t.a.answer)}`),
          markdownCell(`${t.b.status}; ${t.b.calls.join(", ") || "no call"}; ${cut(t.b.answer)}`),
        ]),
        [0, 1, 2],
      ),
      "",
    );
  }
  return out;
}

/** Our engine applies either kind of adapter; the report names which one it was given. */
function adapterKind(path: string | undefined): string {
  return path?.toLowerCase().endsWith(".gguf") === true ? "GGUF LoRA" : "PEFT adapter";
}

/**
 * Evaluates the adapter on both engines (or reads earlier evaluations) and writes the parity
 * report.
 *
 * @throws InvalidInputError when the model, the adapter or the tasks are not given, or the
 *   model is not a GGUF (ModelPathError from the model resolution).
 */
export async function runParity(options: ParityOptions): Promise<{ result: ParityResult; own: EvalResult; llama: EvalResult; files: ParityFiles }> {
  const stage = (s: ParityStage, detail: string) => options.onStage?.(s, detail);
  const needsModel = options.ownEval === undefined || options.llamaEval === undefined;
  if (needsModel && (options.model === undefined || options.model === "")) {
    throw new InvalidInputError("name the base model (a GGUF) with --model", { field: "model", hint: "or give both --own-eval and --llama-eval to compare earlier evaluations" });
  }
  const needsPeft = options.ownEval === undefined || (options.llamaEval === undefined && options.ggufLora === undefined);
  if (needsPeft && (options.adapter === undefined || options.adapter === "")) {
    throw new InvalidInputError("name the PEFT adapter folder with --adapter", { field: "adapter", hint: "the folder agenttune train wrote (<output-dir>/adapter)" });
  }
  // the tasks, then the model: a missing tasks file fails before any model loads
  const tasks = needsModel ? await loadExperimentTasks(options) : [];
  let modelPath = "";
  if (needsModel) {
    stage("fetch", options.model as string);
    modelPath = await fetchedModel(options.model as string, options.onFetchProgress);
    // node-llama-cpp needs the base as a GGUF: refused here, before either evaluation runs
    await planModel({ model: modelPath, engine: "llama" });
  }
  const device = options.device ?? "cpu";
  const side = (engine: "own" | "llama") => sideEvalOptions(options, tasks, (p) => options.onEvalProgress?.(engine, p));

  stage("own", options.ownEval === undefined ? `our engine with ${options.adapter}` : `reading ${options.ownEval}`);
  const own = await evaluateOrRead(options.ownEval, join(options.outputDir, "own"), () =>
    evaluateModel({ model: modelPath, engine: "own", adapter: options.adapter as string, device }, side("own")),
  );
  let ggufLora = options.ggufLora;
  if (options.llamaEval === undefined && ggufLora === undefined) {
    ggufLora = join(options.outputDir, "adapter.gguf");
    stage("export", `${options.adapter} as a GGUF LoRA: ${ggufLora}`);
    exportGgufLoraFor(ggufLora, options.adapter as string, modelPath);
  }
  stage("llama", options.llamaEval === undefined ? `node-llama-cpp with ${ggufLora}` : `reading ${options.llamaEval}`);
  const llama = await evaluateOrRead(options.llamaEval, join(options.outputDir, "llama"), () =>
    evaluateModel({ model: modelPath, engine: "llama", adapter: ggufLora as string, device }, side("llama")),
  );

  stage("report", "parity.json, parity.md, parity.svg");
  const model = options.model ?? own.result.model;
  const result: ParityResult = {
    version: 1,
    kind: "parity",
    model,
    ...(options.adapter === undefined ? {} : { adapter: options.adapter }),
    ...(ggufLora === undefined ? {} : { ggufLora }),
    ...(await pairProvenance(options)),
    columns: COLUMNS,
    own: evalSource(own.result, own.file, own.ran),
    llama: evalSource(llama.result, llama.file, llama.ran),
    metrics: metricDeltas(own.result, llama.result),
    failureRates: failureDeltas(own.result, llama.result),
    agreement: compareTaskByTask(own.result, llama.result),
  };
  const files = await writePairReport({
    outputDir: options.outputDir,
    name: "parity",
    a: own.result,
    b: llama.result,
    labels: COLUMNS,
    title: `Deployment parity: ${model}, our engine vs node-llama-cpp`,
    provenance: result,
    sources: [
      `- Our engine: \`${own.file}\` (${adapterKind(options.adapter ?? own.result.adapter)} \`${options.adapter ?? own.result.adapter ?? "?"}\`)${own.ran ? "" : ", an earlier evaluation"}`,
      `- node-llama-cpp: \`${llama.file}\` (GGUF LoRA \`${ggufLora ?? llama.result.adapter ?? "?"}\`)${llama.ran ? "" : ", an earlier evaluation"}`,
    ],
    sections: agreementMarkdown(result.agreement),
    json: result,
  });
  return { result, own: own.result, llama: llama.result, files };
}
