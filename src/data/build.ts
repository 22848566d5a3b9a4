import type { AgentTools } from "../agent/tools.js";
import { InvalidInputError } from "../errors.js";
import { buildSystemPrompt, type ToolSpec } from "../react/prompt.js";
import { renderFunctionCallMessages, renderMessages } from "../react/render.js";
import type { ToolCall } from "../tools/types.js";
import { buildFunctionCallPrompt } from "./function-call.js";
import { Rng } from "./random.js";
import type { Category } from "./schema.js";
import { SEED_TRAJECTORIES } from "./seeds.js";
import type { TrainingExample } from "./task.js";
import { fillPhrasing, PlanError, runPlan, type TaskTemplate } from "./template.js";
import { TEMPLATES, templatesFor } from "./templates.js";

/**
 * The dataset builder: draws tasks from the templates of one split, runs each plan against the
 * tool simulators with a fresh seed, and renders the trajectories (steps and chat messages) the
 * way the runtime will see them. Deterministic in its options.
 */

/** The categories a built dataset mixes (function_call is a format, chosen by `format`). */
export const BUILD_CATEGORIES = ["single", "chain", "conditional", "arithmetic", "abstention", "missing_tool"] as const;

/** Default share of each category in a build. */
export const DEFAULT_MIX: Readonly<Record<(typeof BUILD_CATEGORIES)[number], number>> = {
  single: 0.25,
  chain: 0.18,
  conditional: 0.17,
  arithmetic: 0.13,
  abstention: 0.15,
  missing_tool: 0.12,
};

/** Tools whose arguments are free text the model words itself; their calls are not pinned in expected_calls. */
const FREE_TEXT_TOOLS = new Set(["send_email", "search_web", "calculator"]);

export interface BuildOptions {
  /** How many examples (ignored when `perCategory` is given). */
  samples?: number;
  /** Exactly this many examples of each category instead of `samples` × `mix`. */
  perCategory?: number;
  /** Default 0. */
  seed?: number;
  /** Which templates: "train" (default) or the held-out "eval" ones. */
  split?: "train" | "eval";
  /** "react" (default), "function_call" (single-call tasks only), or "mix". */
  format?: "react" | "function_call" | "mix";
  /** With format "mix": the share of function-call examples. Default 0.2. */
  functionCallRatio?: number;
  /** Relative weight of each category (missing ones count 0 once any is given). Default DEFAULT_MIX. */
  mix?: Partial<Record<Category, number>>;
  /** The tool registry that runs the plans and whose list the prompt shows. Default: the built-in tools. */
  tools?: AgentTools;
  /** Templates to draw from (filtered by `split`). Default: the built-in catalogue. */
  templates?: readonly TaskTemplate[];
  /**
   * Share of tool-using examples that offer only a random part of the tools (always including
   * the ones the plan calls), so the model learns to read the tool list. Default 0.25 for
   * train, 0 for eval.
   */
  restrictTools?: number;
  /** Start a train build with the hand-written seed trajectories. Default true (train only). */
  includeSeeds?: boolean;
  /** Render `messages` (with the system prompt). Default true. */
  messages?: boolean;
}

/** What a build did beside the examples: draws dropped and why. */
export interface BuildReport {
  examples: TrainingExample[];
  duplicates: number;
  planErrors: number;
}

function normalizeQuery(query: string): string {
  return query.toLowerCase().replace(/\s+/g, " ").replace(/[\s.!?]+$/, "").trim();
}

/** The de-duplication key: normalised query, the offered tools, the format. */
export function dedupKey(example: Pick<TrainingExample, "query" | "tools" | "format">): string {
  const tools = example.tools === undefined ? "*" : [...example.tools].sort().join(",");
  return `${normalizeQuery(example.query)}|${tools}|${example.format ?? "react"}`;
}

async function defaultTools(): Promise<AgentTools> {
  const { createDefaultRegistry } = await import("../tools/registry.js");
  return createDefaultRegistry() as unknown as AgentTools;
}

function pickWeighted<T extends string>(rng: Rng, weights: [T, number][]): T {
  const total = weights.reduce((a, [, w]) => a + w, 0);
  let r = rng.next() * total;
  for (const [key, w] of weights) {
    r -= w;
    if (r < 0) return key;
  }
  return weights[weights.length - 1][0];
}

/** Builds a dataset; see BuildOptions. @throws InvalidInputError for bad options or too few distinct tasks. */
export async function buildDataset(options: BuildOptions): Promise<TrainingExample[]> {
  return (await buildDatasetWithReport(options)).examples;
}

/** `buildDataset` plus the counts of dropped draws. */
export async function buildDatasetWithReport(options: BuildOptions): Promise<BuildReport> {
  const split = options.split ?? "train";
  const seed = options.seed ?? 0;
  const format = options.format ?? "react";
  const fcRatio = format === "function_call" ? 1 : format === "mix" ? (options.functionCallRatio ?? 0.2) : 0;
  if (!["react", "function_call", "mix"].includes(format)) {
    throw new InvalidInputError(`unknown format "${format}"`, { field: "format", hint: "use react, function_call or mix" });
  }
  if (!Number.isInteger(seed)) throw new InvalidInputError(`seed must be an integer, got ${seed}`, { field: "seed" });
  const perCategory = options.perCategory;
  const samples = options.samples ?? 0;
  if (perCategory === undefined && (!Number.isInteger(samples) || samples < 1)) {
    throw new InvalidInputError(`samples must be a whole number of at least 1, got ${options.samples}`, { field: "samples" });
  }
  if (perCategory !== undefined && (!Number.isInteger(perCategory) || perCategory < 1)) {
    throw new InvalidInputError(`perCategory must be a whole number of at least 1, got ${perCategory}`, { field: "perCategory" });
  }
  if (!(fcRatio >= 0 && fcRatio <= 1)) throw new InvalidInputError(`functionCallRatio must lie in [0, 1], got ${fcRatio}`, { field: "functionCallRatio" });

  const tools = options.tools ?? (await defaultTools());
  const allSpecs: ToolSpec[] = tools.list().map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
  const allNames = allSpecs.map((t) => t.name);
  const templates = templatesFor(split, options.templates ?? TEMPLATES).filter((t) => (t.withhold ?? []).every((w) => allNames.includes(w)));
  const byCategory = new Map<string, TaskTemplate[]>();
  for (const t of templates) byCategory.set(t.category, [...(byCategory.get(t.category) ?? []), t]);

  const mix = options.mix ?? DEFAULT_MIX;
  const weights = (Object.entries(mix) as [string, number][]).filter(([c, w]) => w > 0 && byCategory.has(c));
  if (fcRatio === 1 && !byCategory.has("single")) throw new InvalidInputError("the function_call format needs single-call templates", { field: "format" });
  if (weights.length === 0 && fcRatio < 1) {
    throw new InvalidInputError(`no templates for the categories asked (${Object.keys(mix).join(", ")}) in the ${split} split`, { field: "mix" });
  }

  const rng = new Rng(seed);
  const restrict = options.restrictTools ?? (split === "train" ? 0.25 : 0);
  const wantMessages = options.messages ?? true;
  const examples: TrainingExample[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  let planErrors = 0;
  const counts = new Map<string, number>();
  const perTemplate = new Map<string, number>();

  if (split === "train" && (options.includeSeeds ?? true) && perCategory === undefined && options.templates === undefined) {
    for (const seedExample of SEED_TRAJECTORIES) {
      if (examples.length >= samples) break;
      if (!seedExample.expected_tools.every((n) => allNames.includes(n))) continue;
      const example: TrainingExample = { ...seedExample, steps: seedExample.steps?.map((s) => ({ ...s })) };
      if (wantMessages && example.steps) {
        const offered = example.tools === undefined ? allSpecs : allSpecs.filter((s) => example.tools?.includes(s.name));
        example.messages = renderMessages({ query: example.query, steps: example.steps }, { systemPrompt: buildSystemPrompt(offered) });
      }
      seen.add(dedupKey(example));
      examples.push(example);
    }
  }

  const target = perCategory === undefined ? samples : perCategory * (weights.length + (fcRatio > 0 ? 1 : 0));
  const quota = (category: string): boolean => perCategory === undefined || (counts.get(category) ?? 0) < perCategory;
  const maxAttempts = Math.max(1000, target * 60);
  for (let attempt = 0; examples.length < target && attempt < maxAttempts; attempt++) {
    const asFunctionCall = fcRatio > 0 && (fcRatio === 1 || rng.chance(fcRatio));
    let category: string;
    let template: TaskTemplate;
    if (asFunctionCall) {
      category = "function_call";
      template = rng.pick(byCategory.get("single") ?? []);
    } else {
      category = pickWeighted(rng, weights.filter(([c]) => quota(c)));
      template = rng.pick(byCategory.get(category) ?? []);
    }
    if (!quota(category)) continue;
    const slots = { ...template.slots(rng), v: rng.int(0, 999) };
    const query = fillPhrasing(rng.pick(template.phrasings), slots);
    const simSeed = rng.int(0, 99_999);
    const restrictDraw = rng.next();
    const subsetDraw = rng.next();

    let run: Awaited<ReturnType<typeof runPlan>>;
    try {
      run = await runPlan(template, slots, tools, simSeed);
    } catch (error) {
      if (error instanceof PlanError) {
        planErrors++;
        continue;
      }
      throw error;
    }
    const called = run.calls.map((c) => c.name);

    // The offered tools: all (no `tools` field), all but the withheld one(s), or a random part.
    let offered: string[] | undefined;
    if (template.withhold !== undefined) {
      const rest = allNames.filter((n) => !template.withhold?.includes(n));
      const keep = new Rng(seed ^ Math.floor(subsetDraw * 2 ** 31)).sample(rest, Math.max(2, Math.ceil(rest.length * (0.4 + 0.6 * restrictDraw))));
      offered = allNames.filter((n) => keep.includes(n));
    } else if (template.offerAll) {
      offered = [...allNames];
    } else if (restrictDraw < restrict && called.length > 0) {
      const needed = new Set([...called, ...(template.uses ?? [])]);
      const others = allNames.filter((n) => !needed.has(n));
      const extra = new Rng(seed ^ Math.floor(subsetDraw * 2 ** 31)).sample(others, Math.floor(subsetDraw * others.length));
      offered = allNames.filter((n) => needed.has(n) || extra.includes(n));
      if (offered.length === allNames.length) offered = undefined;
    }

    const example: TrainingExample = {
      id: "",
      query,
      expected_tools: asFunctionCall ? called.slice(0, 1) : called,
      category,
      seed: simSeed,
    };
    if (offered !== undefined) example.tools = offered;
    if (asFunctionCall) example.format = "function_call";
    const key = dedupKey(example);
    if (seen.has(key)) {
      duplicates++;
      continue;
    }
    seen.add(key);
    counts.set(category, (counts.get(category) ?? 0) + 1);

    const specs = offered === undefined ? allSpecs : allSpecs.filter((s) => offered?.includes(s.name));
    if (asFunctionCall) {
      const first = run.calls[0] as ToolCall;
      example.expected_calls = [first];
      example.min_steps = 1;
      example.max_steps = 1;
      if (wantMessages) example.messages = renderFunctionCallMessages(query, first, { systemPrompt: buildFunctionCallPrompt(specs) });
    } else {
      const pinned = run.calls.filter((c) => !FREE_TEXT_TOOLS.has(c.name));
      if (pinned.length > 0) example.expected_calls = pinned;
      example.min_steps = run.steps.length;
      example.max_steps = run.steps.length + 2;
      if (run.answerContains.length > 0) example.answer_contains = run.answerContains;
      example.steps = run.steps;
      if (wantMessages) example.messages = renderMessages({ query, steps: run.steps }, { systemPrompt: buildSystemPrompt(specs) });
    }
    (example as TrainingExample & { template: string }).template = template.id;
    const idBase = `${split}-${template.id}${asFunctionCall ? "-fc" : ""}`;
    const n = (perTemplate.get(idBase) ?? 0) + 1;
    perTemplate.set(idBase, n);
    example.id = `${idBase}-${n}`;
    examples.push(example);
  }
  if (examples.length < target) {
    throw new InvalidInputError(
      `only ${examples.length} distinct examples could be drawn of the ${target} asked (${duplicates} duplicates, ${planErrors} failed plans)`,
      { field: "samples", hint: "ask for fewer samples, or add templates or slot values for more variety" },
    );
  }
  return { examples, duplicates, planErrors };
}
