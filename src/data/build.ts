import type { AgentTools } from "../agent/tools.js";
import { InvalidInputError } from "../errors.js";
import { buildSystemPrompt, type ToolSpec } from "../react/prompt.js";
import { renderFunctionCallMessages, renderMessages } from "../react/render.js";
import type { ReActStep } from "../react/types.js";
import type { ToolCall } from "../tools/types.js";
import { withArgumentNames } from "./argument-names.js";
import { buildFunctionCallPrompt } from "./function-call.js";
import { DeckRng, hashString, Rng } from "./random.js";
import { drawRecovery } from "./recovery.js";
import { RESTYLE_SHARE, restyleQuery } from "./restyle.js";
import type { Category } from "./schema.js";
import { SEED_TRAJECTORIES } from "./seeds.js";
import { contrastPartner } from "./contrast-pairs.js";
import { COMPANIES } from "./slots.js";
import type { TrainingExample } from "./task.js";
import { fillPhrasing, PlanError, runPlan, type SlotValues, type TaskTemplate } from "./template.js";
import { TEMPLATES, templatesFor } from "./templates.js";
import { withRestatedRequest } from "./restate.js";
import { capabilityToolName, plannedCalls, plannedTools, type ToolNeed, withProgress, withToolCheck } from "./tool-check.js";

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
  /**
   * Relative weight of each category (missing ones count 0 once any is given). Default DEFAULT_MIX.
   * With `samples`, each category gets samples × its share (whole numbers by largest remainder,
   * the seed trajectories counting toward theirs); a category that runs out of distinct tasks
   * is given up after 200 repeated draws in a row and the others fill its place by weight.
   */
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
  /**
   * Share of train queries given a casual surface (a greeting, lower case, "thanks"), see
   * `restyleQuery`. Default RESTYLE_SHARE for train; the eval split is never restyled.
   */
  restyle?: number;
  /**
   * Open every first Thought with the tool check ("This needs get_time, which I have." / "…,
   * which I don't have."), see `withToolCheck`. Default true; false gives the plain Thoughts of
   * the builder before it (on SmolLM2-135M, 250 samples, three seeds: tool selection 45.8 against
   * 31.9 %, abstention 88.9 against 62.5 %; results/smollm2-tool-check).
   */
  toolCheck?: boolean;
  /**
   * With the tool check: the first Thought of a chain or arithmetic task names every tool it will
   * call ("This needs get_stock_price and calculator, which I have."), not only the first.
   * Default false: on SmolLM2-135M, 250 samples, three seeds, tool selection 36.1 against the
   * one-tool check's 45.8 % (chains 6 against 16 of 36; results/smollm2-data-shapes).
   */
  planTools?: boolean;
  /**
   * With the tool check: single calls, chains and arithmetic tasks count their calls — the first
   * Thought names every call in order (repeats included), and each Thought after an observation
   * opens with "Call 1 of 2 done. Next: create_calendar_event." (or "Next: the answer."), see
   * `withProgress`. Implies a plan. Default false: on SmolLM2-135M, 250 samples, three seeds, tool
   * selection 25.7 against 45.8 % — the count follows a plan that misses a chain's second tool and
   * stops the chain (1 of 36; results/smollm2-data-shapes).
   */
  progress?: boolean;
  /**
   * Train queries are also drawn from each template's `extraPhrasings` (terse, indirect, context
   * first): a draw picks from phrasings and extra phrasings together. Default false: on
   * SmolLM2-135M, 250 samples, three seeds, single calls 25 against 19 of 36 but chains 9 against
   * 16, tool selection 42.4 against 45.8 % (results/smollm2-data-shapes); false draws exactly as
   * before the extra phrasings existed. Never for eval.
   */
  morePhrasings?: boolean;
  /**
   * Train queries are also drawn from each template's `thirdPhrasings` (the ask as a need or a
   * wish, a question inside a question, the topic first), with or without `morePhrasings`.
   * Default false: false draws exactly as before the third set existed. Never for eval.
   */
  thirdPhrasings?: boolean;
  /**
   * The first Thought of a task whose later step uses a number of the request (a bill split n
   * ways, n shares) ends by naming it: "Then I'll divide it by 6." (TaskTemplate.laterOperand).
   * An experiment against later steps that lose the number: Gemma-3-270M with the second set of
   * phrasings divides by a number other than the request's in most of its wrong bill splits
   * (results/gemma3-finetune). Default false: false builds exactly as before.
   */
  carryOperands?: boolean;
  /**
   * Every Thought before an Action ends by naming the call's argument keys in order ("Its
   * arguments: amount, from and to."), see `withArgumentNames`; with or without the tool check,
   * seeds included. An experiment against the malformed actions of SmolLM2-135M on 250 samples
   * (`{"arguments": {"750"}}`: a value where a key belongs). Default false: on SmolLM2-135M, 250
   * samples, three seeds, malformed actions fall from 12 to 2 of 216 runs, but the keys it names are
   * often its own (from_currency for from), so invalid arguments rise from 25 to 31 and tool
   * selection stays 46.5 against 45.8 %; at 2000 samples (one seed) 62.5 against 72.2 %
   * (results/smollm2-arguments-recovery).
   */
  nameArguments?: boolean;
  /**
   * Share (0..1) of the eligible train examples (those whose first call can be made with a
   * typical mistake) that become recovery trajectories, see `drawRecovery`: that call made wrong first (get_stock_price
   * with the company name, convert_currency with from_currency/to_currency, another tool with a
   * required argument left out) in a `weight: 0` reply (context, no loss), the tool's own
   * validation error as the Observation, then the call corrected ("The symbol must be a ticker:
   * Nvidia is NVDA."). An experiment against SmolLM2-135M on 250 samples repeating a call the tool
   * rejected; no trajectory showed an error followed by a corrected call. Drawn from a stream of
   * its own, so the examples are those of the same build without it. Default 0 (off): at 0.3 on
   * SmolLM2-135M (with nameArguments), 250 samples, three seeds, tool selection 38.9 against 46.5 %
   * without it and repeated calls 26 against 9 of 216 runs — the model writes the correction
   * ("Meta is not a ticker.") and repeats the rejected call; at 2000 samples (one seed) 52.1 against
   * 62.5 % (results/smollm2-arguments-recovery). Never for eval or the function-call format.
   */
  recovery?: number;
  /**
   * Every Thought after an observation opens by copying the request ("The request: … "), see
   * `withRestatedRequest`: against chains that stop after their first observation and calls
   * repeated after they are done. Default false: on SmolLM2-135M, 250 samples, 20 epochs, three
   * seeds, tool selection 50.0 against 63.9 % without it (chains 11 against 20 of 36): the model
   * copies the request and then writes a finished step's reply all the same
   * (results/smollm2-epochs-dropout).
   */
  restateRequest?: boolean;
  /**
   * Train builds deal the companies from a shuffled deck (every one before any repeats), and a
   * stock query is phrased with the company's name until that company has been asked for by name
   * once (where the template has such phrasings), so every name → ticker pair is in the data. Against
   * the ticker errors of SmolLM2-135M at 250 samples: plain draws leave 2–8 of the 16 companies
   * whose ticker is not their name never asked for by name (seeds 0–2, with and without
   * morePhrasings), and the model then writes a wrong ticker for them (Alphabet as AAPL, Nvidia as
   * "Nvidia"; results/smollm2-rank-size). Default false; a build with it draws another stream of
   * examples than one without.
   */
  everyCompany?: boolean;
  /**
   * Minimal pairs (src/data/contrast-pairs.ts): after a random draw of a template that has a
   * partner (a quote and the quote in another currency, that and the bill for n shares, a
   * conversion and a split bill, the weather and the weather with a restaurant, the cold and the
   * hot condition), the next example is the partner with the shared slots alike (the same company,
   * city or amount), where its category still has room. Train only; default false. A build with it
   * draws another stream of examples than one without.
   */
  contrastPairs?: boolean;
  /**
   * With contrastPairs: each partner takes the place of the next random draw of its template
   * (and a template owed one gets no further partner until a draw has made up for it), so every
   * template keeps the share it has in a build without pairs. Plain contrastPairs adds its
   * partners on top of the draws and so shifts each category's mix toward the paired templates
   * (chain.stock-convert 7 → 22 of 250 at seed 0, the chains of time, translation and web search
   * 28 → 11), which cost SmolLM2 those tasks (results/smollm2-contrast-pairs).
   */
  pairsKeepMix?: boolean;
  /** Start a train build with the hand-written (ReAct) seed trajectories. Default true (train only; not with format "function_call"). */
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

/** A query as de-duplication and the split checks compare it: lower case, single spaces, no trailing punctuation. */
export function normalizeQuery(query: string): string {
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

/** The category name of single-call examples in the function-call format. */
const FUNCTION_CALL = "function_call";

/** What planTools names up front: the categories of several calls, all known before the first observation. */
const PLANNED_CATEGORIES = new Set<string>(["chain", "arithmetic"]);
/** What progress Thoughts count: those and single calls (whose count, "Call 1 of 1 done.", ends the reply). */
const COUNTED_CATEGORIES = new Set<string>(["single", "chain", "arithmetic"]);

/** A trajectory's steps with the tool check, and the plan and progress Thoughts where `options` ask for them. */
function checkedSteps(steps: readonly ReActStep[], category: string, options: BuildOptions, need?: ToolNeed): ReActStep[] {
  const counted = options.progress === true && COUNTED_CATEGORIES.has(category);
  const plan = counted ? plannedCalls(steps) : options.planTools === true && PLANNED_CATEGORIES.has(category) ? plannedTools(steps) : undefined;
  const checked = withToolCheck(steps, need, plan);
  return counted ? withProgress(checked) : checked;
}

/** A trajectory's steps shaped as `options` ask: the tool check (with plan and progress) unless turned off, then the argument names. */
function shapedSteps(steps: readonly ReActStep[], category: string, options: BuildOptions, need?: ToolNeed): ReActStep[] {
  const checked = (options.toolCheck ?? true) ? checkedSteps(steps, category, options, need) : [...steps];
  return options.nameArguments === true ? withArgumentNames(checked) : checked;
}

/** The steps with `sentence` after the first Thought (carryOperands). */
function withFirstThoughtEnding(steps: readonly ReActStep[], sentence: string): ReActStep[] {
  return steps.map((step, i) => (i === 0 ? { ...step, thought: `${step.thought} ${sentence}`.trim() } : step));
}

/** The tool a request that calls none needs: the withheld one, or a name for a capability no tool has. */
function missingNeed(template: TaskTemplate, slots: SlotValues): ToolNeed | undefined {
  const withheld = template.withhold?.[0];
  if (withheld !== undefined) return { tool: withheld, offered: false };
  if (template.category === "missing_tool" && typeof slots.what === "string") return { tool: capabilityToolName(slots.what), offered: false };
  return undefined;
}

/** With `samples`: draws of one category that repeat or fail this many times in a row give it up. */
const GIVE_UP_AFTER = 200;

/**
 * Splits `total` over weighted keys in proportion (largest remainder, ties to the earlier
 * key), so the parts are whole numbers that add up to `total`.
 */
export function apportion(total: number, weights: readonly [string, number][]): Map<string, number> {
  const sum = weights.reduce((a, [, w]) => a + w, 0);
  const exact = weights.map(([key, w]) => ({ key, share: sum > 0 ? (total * w) / sum : 0 }));
  const parts = new Map(exact.map(({ key, share }) => [key, Math.floor(share)]));
  let left = total - [...parts.values()].reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((e, i) => ({ ...e, i })).sort((a, b) => b.share - Math.floor(b.share) - (a.share - Math.floor(a.share)) || a.i - b.i);
  for (const { key } of byRemainder) {
    if (left <= 0) break;
    parts.set(key, (parts.get(key) ?? 0) + 1);
    left--;
  }
  return parts;
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
  if (!(fcRatio >= 0 && fcRatio <= 1)) throw new InvalidInputError(`the function-call ratio (--function-call-ratio) must lie in [0, 1], got ${fcRatio}`, { field: "functionCallRatio" });
  for (const [field, flag, value] of [["restyle", "restyle", options.restyle], ["restrictTools", "restrict-tools", options.restrictTools], ["recovery", "recovery", options.recovery]] as const) {
    if (value !== undefined && !(value >= 0 && value <= 1)) throw new InvalidInputError(`--${flag} is a share and must lie in [0, 1], got ${value}`, { field });
  }

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

  const everyCompany = split === "train" && options.everyCompany === true;
  const rng = everyCompany ? new DeckRng(seed, [COMPANIES]) : new Rng(seed);
  // Companies not yet asked for by name in a get_stock_price example (everyCompany).
  const unnamed = new Set(COMPANIES.filter((c) => c.name !== c.symbol).map((c) => c.name));
  const restrict = options.restrictTools ?? (split === "train" ? 0.25 : 0);
  const restyle = options.restyle ?? (split === "train" ? RESTYLE_SHARE : 0);
  const wantMessages = options.messages ?? true;
  const morePhrasings = split === "train" && options.morePhrasings === true;
  const thirdPhrasings = split === "train" && options.thirdPhrasings === true;
  const recovery = split === "train" ? (options.recovery ?? 0) : 0;
  const contrastPairs = split === "train" && options.contrastPairs === true;
  const pairsKeepMix = contrastPairs && options.pairsKeepMix === true;
  // pairsKeepMix: per template, the partners drawn that no random draw of it has yet made up for
  const owedDraws = new Map<string, number>();
  let pending: { template: TaskTemplate; slots: SlotValues } | null = null;
  // Its own stream: the other draws, and so the examples, are those of the build without it.
  const recoveryRng = new Rng(hashString(`recovery ${seed}`));
  // the shaped steps, a recovery drawn for them, then the restated request (last, so a recovery's
  // corrected reply, which follows an observation, opens with it too)
  const finished = async (steps: ReActStep[], simSeed: number | undefined, query: string): Promise<ReActStep[]> => {
    const withMistake = recovery > 0 ? await drawRecovery(steps, tools, simSeed ?? 0, recoveryRng, recovery) : steps;
    return options.restateRequest === true ? withRestatedRequest(withMistake, query) : withMistake;
  };
  const examples: TrainingExample[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  let planErrors = 0;
  const counts = new Map<string, number>();
  const perTemplate = new Map<string, number>();

  if (split === "train" && format !== "function_call" && (options.includeSeeds ?? true) && perCategory === undefined && options.templates === undefined) {
    for (const seedExample of SEED_TRAJECTORIES) {
      if (examples.length >= samples) break;
      if (!seedExample.expected_tools.every((n) => allNames.includes(n))) continue;
      const seedSteps = seedExample.steps?.map((s) => ({ ...s }));
      const example: TrainingExample = { ...seedExample, steps: seedSteps && (await finished(shapedSteps(seedSteps, seedExample.category ?? "", options), seedExample.seed, seedExample.query)) };
      if (wantMessages && example.steps) {
        const offered = example.tools === undefined ? allSpecs : allSpecs.filter((s) => example.tools?.includes(s.name));
        example.messages = renderMessages({ query: example.query, steps: example.steps }, { systemPrompt: buildSystemPrompt(offered) });
      }
      seen.add(dedupKey(example));
      examples.push(example);
    }
  }

  // What each category is drawn for: its weight, function_call (a format of single-call
  // templates) taking `fcRatio` of the whole.
  const reactTotal = weights.reduce((a, [, w]) => a + w, 0);
  const drawWeights: [string, number][] = weights.map(([c, w]) => [c, w * (1 - fcRatio)] as [string, number]).filter(([, w]) => w > 0);
  if (fcRatio > 0 && byCategory.has("single")) drawWeights.push([FUNCTION_CALL, fcRatio * (reactTotal > 0 ? reactTotal : 1)]);
  // How many of each: perCategory each, or samples × share (largest remainder, the seeds
  // counting toward their categories).
  const targets = perCategory !== undefined ? new Map(drawWeights.map(([c]) => [c, perCategory])) : apportion(samples, drawWeights);
  for (const e of examples) counts.set(e.category ?? "", (counts.get(e.category ?? "") ?? 0) + 1);
  const target = perCategory === undefined ? samples : perCategory * drawWeights.length;
  // With `samples`, a category whose draws keep repeating (or failing) is given up, and the
  // others fill its place by weight; with perCategory the count is exact or the build fails.
  const misses = new Map<string, number>();
  const exhausted = (category: string): boolean => perCategory === undefined && (misses.get(category) ?? 0) >= GIVE_UP_AFTER;
  const miss = (category: string): void => {
    misses.set(category, (misses.get(category) ?? 0) + 1);
  };
  const maxAttempts = Math.max(1000, target * 60);
  for (let attempt = 0; examples.length < target && attempt < maxAttempts; attempt++) {
    const open = drawWeights.filter(([c]) => !exhausted(c));
    const underQuota = open.filter(([c]) => (counts.get(c) ?? 0) < (targets.get(c) ?? 0));
    const eligible = underQuota.length > 0 || perCategory !== undefined ? underQuota : open;
    if (eligible.length === 0) break;
    // the partner of the last random draw (contrastPairs) while its category has room, else a draw
    const pair = pending !== null && eligible.some(([c]) => c === pending?.template.category) ? pending : null;
    pending = null;
    const category = pair !== null ? pair.template.category : pickWeighted(rng, eligible);
    const asFunctionCall = category === FUNCTION_CALL;
    const template = pair !== null ? pair.template : rng.pick(byCategory.get(asFunctionCall ? "single" : category) ?? []);
    const owed = owedDraws.get(template.id) ?? 0;
    if (pair === null && !asFunctionCall && owed > 0) {
      owedDraws.set(template.id, owed - 1); // this draw's place went to a partner earlier
      continue;
    }
    const slots: SlotValues = pair !== null ? pair.slots : { ...template.slots(rng), v: rng.int(0, 999) };
    const allPhrasings = [...template.phrasings, ...(morePhrasings ? (template.extraPhrasings ?? []) : []), ...(thirdPhrasings ? (template.thirdPhrasings ?? []) : [])];
    const company = typeof slots.company === "string" ? slots.company : undefined;
    const naming = everyCompany && company !== undefined && unnamed.has(company) ? allPhrasings.filter((p) => p.includes("{company}")) : [];
    const phrasing = rng.pick(naming.length > 0 ? naming : allPhrasings);
    const phrased = fillPhrasing(phrasing, slots);
    // Restyling draws only in the train split, so an eval build's draws (and the committed
    // evaluation set) stay as they were.
    const query = split === "train" && restyle > 0 && rng.chance(restyle) ? restyleQuery(phrased, rng) : phrased;
    const simSeed = rng.int(0, 99_999);
    const restrictDraw = rng.next();
    const subsetDraw = rng.next();

    let run: Awaited<ReturnType<typeof runPlan>>;
    try {
      run = await runPlan(template, slots, tools, simSeed);
    } catch (error) {
      if (error instanceof PlanError) {
        planErrors++;
        miss(category);
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
      miss(category);
      continue;
    }
    seen.add(key);
    misses.delete(category);
    if (company !== undefined && phrasing.includes("{company}") && called.includes("get_stock_price")) unnamed.delete(company);
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
      const shaped = shapedSteps(run.steps, template.category, options, missingNeed(template, slots));
      const carried = options.carryOperands === true && template.laterOperand !== undefined ? withFirstThoughtEnding(shaped, template.laterOperand(slots)) : shaped;
      const steps = await finished(carried, simSeed, query);
      example.steps = steps;
      if (wantMessages) example.messages = renderMessages({ query, steps }, { systemPrompt: buildSystemPrompt(specs) });
    }
    (example as TrainingExample & { template: string }).template = template.id;
    const idBase = `${split}-${template.id}${asFunctionCall ? "-fc" : ""}`;
    const n = (perTemplate.get(idBase) ?? 0) + 1;
    perTemplate.set(idBase, n);
    example.id = `${idBase}-${n}`;
    examples.push(example);
    if (pair !== null && pairsKeepMix) owedDraws.set(template.id, (owedDraws.get(template.id) ?? 0) + 1);
    if (contrastPairs && pair === null && !asFunctionCall) {
      pending = contrastPartner(template, slots, templates, rng);
      if (pending !== null && pairsKeepMix && (owedDraws.get(pending.template.id) ?? 0) > 0) pending = null;
    }
  }
  if (examples.length < target) {
    throw new InvalidInputError(
      `only ${examples.length} distinct examples could be drawn of the ${target} asked (${duplicates} duplicates, ${planErrors} failed plans)`,
      { field: "samples", hint: "ask for fewer samples, or add templates or slot values for more variety" },
    );
  }
  return { examples, duplicates, planErrors };
}
