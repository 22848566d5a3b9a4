import { join } from "node:path";
import type { AgentTools } from "../agent/tools.js";
import { BUILD_CATEGORIES, type BuildOptions, buildDatasetWithReport, DEFAULT_MIX } from "../data/build.js";
import type { Category } from "../data/schema.js";
import { writeJsonl } from "../data/jsonl.js";
import { InvalidInputError } from "../errors.js";
import { type CommandSpec, defineCommand, type FlagSpec, type FlagValues } from "./command.js";

/** Dependencies of `data build`, replaceable in tests. */
export interface DataBuildDeps {
  /** The tools: the built-in registry, or the one a `--tools` file describes. */
  loadTools(file: string | undefined): Promise<AgentTools>;
}

async function defaultLoadTools(file: string | undefined): Promise<AgentTools> {
  const registry = await import("../tools/registry.js");
  if (file === undefined) return registry.createDefaultRegistry() as unknown as AgentTools;
  const loader = registry as unknown as { loadToolsFile?: (path: string) => Promise<AgentTools> };
  if (typeof loader.loadToolsFile !== "function") {
    throw new InvalidInputError("--tools is not supported by this build's tool registry", { field: "tools" });
  }
  return loader.loadToolsFile(file);
}

/**
 * `--mix single=0.3,abstention=0.2`: category weights (categories left out get 0, as in
 * BuildOptions.mix). @throws InvalidInputError naming the part that is not `category=weight`.
 */
export function parseMix(text: string): Partial<Record<Category, number>> {
  const mix: Partial<Record<Category, number>> = {};
  for (const part of text.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const m = /^([a-z_]+)=([0-9]*\.?[0-9]+)$/.exec(part);
    if (m === null || !(BUILD_CATEGORIES as readonly string[]).includes(m[1] as string)) {
      throw new InvalidInputError(`--mix: "${part}" is not category=weight`, { field: "mix", hint: `categories: ${BUILD_CATEGORIES.join(", ")}; e.g. --mix ${defaultMixText()}` });
    }
    mix[m[1] as Category] = Number(m[2]);
  }
  if (Object.keys(mix).length === 0) throw new InvalidInputError("--mix names no category", { field: "mix", hint: `e.g. --mix ${defaultMixText()}` });
  return mix;
}

function defaultMixText(): string {
  return Object.entries(DEFAULT_MIX).map(([c, w]) => `${c}=${w}`).join(",");
}

/** The flags that shape what a training set holds; `data build` and `experiment scaling` both take them. */
export const DATA_SHAPE_FLAGS: Record<string, FlagSpec> = {
  "restrict-tools": { type: "number", description: "share of examples offering only part of the tools (default 0.25 train, 0 eval)", placeholder: "0..1" },
  mix: { type: "string", description: `category weights, e.g. ${defaultMixText()} (categories left out get none)`, placeholder: "c=w,…" },
  restyle: { type: "number", description: "share of train queries given a casual surface: greeting, lower case, thanks (default 0.3 train, 0 eval)", placeholder: "0..1" },
  "no-tool-check": { type: "boolean", description: "plain first Thoughts, without naming the tool needed and whether the list has it (\"This needs get_time, which I have.\"), as built before that was the default" },
  "plan-tools": { type: "boolean", description: "the first Thought of a chain or arithmetic task names every tool it will call, not only the first (an experiment)" },
  progress: { type: "boolean", description: "single calls, chains and arithmetic count their calls: the first Thought names every call, each later one opens with \"Call 1 of 2 done. Next: calculator.\" (an experiment)" },
  "more-phrasings": { type: "boolean", description: "train queries are also drawn from a second, more varied set of phrasings: terse, indirect, context first (an experiment)" },
  "third-phrasings": { type: "boolean", description: "train queries are also drawn from a third set of phrasings: the ask as a need or a wish, a question inside a question, the topic first (an experiment; combines with --more-phrasings)" },
  "carry-operands": { type: "boolean", description: "the first Thought of a bill split or a share total ends by naming the number a later step uses: \"Then I'll divide it by 6.\" (an experiment)" },
  "name-arguments": { type: "boolean", description: "every Thought before an Action ends by naming the call's argument keys in order: \"Its arguments: amount, from and to.\" (an experiment)" },
  "restate-request": { type: "boolean", description: "every Thought after an observation opens by copying the request: \"The request: …\" (an experiment)" },
  "every-company": { type: "boolean", description: "train examples deal the companies evenly and ask for each by name at least once, so every name → ticker pair is in the data (an experiment)" },
  "contrast-pairs": { type: "boolean", description: "minimal pairs: after a quote, a conversion, the weather or a condition, the next train example is its partner with the same company, amount or city (the quote in another currency, a split bill, …) (an experiment)" },
  "pairs-keep-mix": { type: "boolean", description: "with --contrast-pairs: each partner takes the place of a later random draw of its template, so every template keeps its share of a build without pairs (an experiment)" },
  recovery: { type: "number", description: "share of train examples whose first call is made wrong first (company name for a ticker, from_currency for from, a required argument left out; no loss on it), answered by the tool's error, then corrected (default 0; an experiment)", placeholder: "0..1" },
};

/** The DATA_SHAPE_FLAGS given, as buildDataset options (flags not given are left to the builder's defaults). */
export function dataShapeOptions(flags: FlagValues): Pick<BuildOptions, "mix" | "restyle" | "restrictTools" | "toolCheck" | "planTools" | "progress" | "morePhrasings" | "thirdPhrasings" | "carryOperands" | "nameArguments" | "restateRequest" | "everyCompany" | "contrastPairs" | "pairsKeepMix" | "recovery"> {
  if (flags["pairs-keep-mix"] === true && flags["contrast-pairs"] !== true) {
    throw new InvalidInputError("--pairs-keep-mix changes how --contrast-pairs draws its partners, and --contrast-pairs is not given", { field: "pairs-keep-mix", hint: "add --contrast-pairs, or leave --pairs-keep-mix out" });
  }
  return {
    ...(typeof flags.mix === "string" ? { mix: parseMix(flags.mix) } : {}),
    ...(flags.restyle === undefined ? {} : { restyle: flags.restyle as number }),
    ...(flags["restrict-tools"] === undefined ? {} : { restrictTools: flags["restrict-tools"] as number }),
    ...(flags["no-tool-check"] === true ? { toolCheck: false } : {}),
    ...(flags["plan-tools"] === true ? { planTools: true } : {}),
    ...(flags.progress === true ? { progress: true } : {}),
    ...(flags["more-phrasings"] === true ? { morePhrasings: true } : {}),
    ...(flags["third-phrasings"] === true ? { thirdPhrasings: true } : {}),
    ...(flags["carry-operands"] === true ? { carryOperands: true } : {}),
    ...(flags["name-arguments"] === true ? { nameArguments: true } : {}),
    ...(flags["restate-request"] === true ? { restateRequest: true } : {}),
    ...(flags["every-company"] === true ? { everyCompany: true } : {}),
    ...(flags["contrast-pairs"] === true ? { contrastPairs: true } : {}),
    ...(flags["pairs-keep-mix"] === true ? { pairsKeepMix: true } : {}),
    ...(flags.recovery === undefined ? {} : { recovery: flags.recovery as number }),
  };
}

/** Builds the `data build` command. */
export function createDataBuildCommand(deps: DataBuildDeps = { loadTools: defaultLoadTools }): CommandSpec {
  return defineCommand({
    name: "data build",
    summary: "build a training (or held-out evaluation) set of ReAct trajectories from the task templates",
    flags: {
      samples: { type: "number", description: "how many examples", default: 500, aliases: ["train_samples", "num_samples", "n"] },
      seed: { type: "number", description: "random seed; the same seed gives the same file", default: 0 },
      out: { type: "string", description: "output JSONL file", placeholder: "file", aliases: ["output", "output_file"] },
      "output-dir": { type: "string", description: "write <dir>/<split>.jsonl instead of --out", placeholder: "dir" },
      split: { type: "string", description: "train | eval (the held-out templates)", default: "train" },
      format: { type: "string", description: "react | function_call | mix", default: "react" },
      "function-call-ratio": { type: "number", description: "with --format mix: share of single-turn function-call examples", default: 0.2 },
      ...DATA_SHAPE_FLAGS,
      "no-seeds": { type: "boolean", description: "leave out the ten hand-written seed trajectories" },
      tools: { type: "string", description: "a tools file (user tools) instead of the built-in ones", placeholder: "file" },
    },
    details: `Examples:
  agenttune data build --samples 500 --seed 0 --out data/train.jsonl
  agenttune data build --train_samples 250 --format mix --out data/train-mix.jsonl
  agenttune data build --samples 250 --mix single=0.3,chain=0.2,conditional=0.2,arithmetic=0.13,abstention=0.12,missing_tool=0.05 --out data/fewer-missing.jsonl
  agenttune data build --samples 250 --no-tool-check --out data/train-plain-thoughts.jsonl
  agenttune data build --split eval --samples 120 --out data/eval-trajectories.jsonl`,
    async run(flags, _positionals, io) {
      const split = String(flags.split);
      if (split !== "train" && split !== "eval") throw new InvalidInputError(`--split must be train or eval, got "${split}"`, { field: "split" });
      const format = String(flags.format);
      if (!["react", "function_call", "mix"].includes(format)) {
        throw new InvalidInputError(`--format must be react, function_call or mix, got "${format}"`, { field: "format" });
      }
      if (flags.out !== undefined && flags["output-dir"] !== undefined) {
        throw new InvalidInputError("--out and --output-dir both name the output; give one", { field: "out", hint: "--out FILE, or --output-dir DIR for DIR/<split>.jsonl" });
      }
      const out = flags.out !== undefined ? String(flags.out) : flags["output-dir"] !== undefined ? join(String(flags["output-dir"]), `${split}.jsonl`) : undefined;
      if (out === undefined) throw new InvalidInputError("name the output file with --out FILE (or --output-dir DIR)", { field: "out" });
      const tools = await deps.loadTools(flags.tools as string | undefined);
      const report = await buildDatasetWithReport({
        samples: flags.samples as number,
        seed: flags.seed as number,
        split,
        format: format as "react" | "function_call" | "mix",
        functionCallRatio: flags["function-call-ratio"] as number,
        ...dataShapeOptions(flags),
        includeSeeds: flags["no-seeds"] !== true,
        tools,
      });
      await writeJsonl(out, report.examples);
      const counts = new Map<string, number>();
      for (const e of report.examples) counts.set(e.category ?? "?", (counts.get(e.category ?? "?") ?? 0) + 1);
      io.out(`wrote ${report.examples.length} examples to ${out} (${[...counts].map(([c, n]) => `${c} ${n}`).join(", ")})\n`);
      io.out(`skipped ${report.duplicates} duplicate draws, ${report.planErrors} failed plans\n`);
      return 0;
    },
  });
}

export const dataBuildCommand = createDataBuildCommand();
