import type { ChatMessage, ChatModel } from "../agent/chat-model.js";
import type { AgentTools } from "../agent/tools.js";
import { InvalidInputError } from "../errors.js";
import { canonicalJson } from "../react/json.js";
import { parseTrajectoryText } from "../react/parse.js";
import { buildSystemPrompt, type ToolSpec, toolSignature } from "../react/prompt.js";
import { renderMessages } from "../react/render.js";
import type { ReActStep } from "../react/types.js";
import type { JsonValue, ToolCall } from "../tools/types.js";
import { dedupKey } from "./build.js";
import { numbersIn, numbersInJson } from "./grounding.js";
import { Rng } from "./random.js";
import type { TrainingExample } from "./task.js";

/**
 * Synthetic trajectories from a stronger model. The model writes a new task and a whole
 * trajectory in the ReAct text format; every Action is replayed against the simulators with
 * the example's seed and only verified examples are kept.
 *
 * The choice made here about observations: the writing model cannot know what the simulators
 * return, so its Observations are **re-grounded** — replaced by the replayed ones — and the
 * rest of the trajectory is then checked for consistency with them:
 * - every number in a Thought, an Action's arguments or the Answer must appear in the query or
 *   in an Observation replayed before it (so a later call or the answer that used an invented
 *   temperature is caught);
 * - a word-like value of an invented Observation (a restaurant name, a condition) that the
 *   replayed Observations do not contain must not appear in any later step.
 * An example that fails either check is dropped as `inconsistent`. Examples whose Observations
 * already equal the replayed ones pass both checks trivially.
 */

/** Why a synthetic example was dropped. */
export type SynthDropReason =
  | "model_error"
  | "unparsable"
  | "no_answer"
  | "unknown_tool"
  | "invalid_arguments"
  | "tool_error"
  | "too_many_calls"
  | "inconsistent"
  | "duplicate";

export const SYNTH_DROP_REASONS: readonly SynthDropReason[] = [
  "model_error",
  "unparsable",
  "no_answer",
  "unknown_tool",
  "invalid_arguments",
  "tool_error",
  "too_many_calls",
  "inconsistent",
  "duplicate",
];

/** The kinds of task the writing model is asked for, in turn. */
export const SYNTH_KINDS = ["single", "chain", "conditional", "arithmetic", "abstention"] as const;

const KIND_BRIEFS: Record<(typeof SYNTH_KINDS)[number], string> = {
  single: "a request that needs exactly one tool call",
  chain: "a request that needs two or three tool calls, where a later call uses a value from an earlier Observation",
  conditional: "a request with a condition (like 'if it's cold, …') where the second call happens only if the first Observation meets the condition",
  arithmetic: "a request that needs a calculation over values from Observations, done with the calculator tool",
  abstention: "a greeting or a general-knowledge question that needs no tool: Thought then Answer, with no Action",
};

export interface SynthesizeOptions {
  /** A ChatModel, or the name of a model on the OpenAI-compatible server at `baseURL`. */
  model: ChatModel | string;
  baseURL?: string;
  apiKey?: string;
  /** How many verified examples to return. */
  n: number;
  /** Seeds the kinds asked for and the simulator seeds. Default 0. */
  seed?: number;
  /** The tools (replay and prompt). Default: the built-in registry. */
  tools?: AgentTools;
  /** Requests in flight at once. Default 4. */
  concurrency?: number;
  /** Requests at most. Default 3 × n + 10. */
  maxAttempts?: number;
  /** Default 0.8. */
  temperature?: number;
  /** Tokens a response may have. Default 800. */
  maxTokens?: number;
  /** Examples already held (their queries count as duplicates). */
  existing?: readonly TrainingExample[];
  /** Tool calls an example may make. Default 4. */
  maxCalls?: number;
  signal?: AbortSignal;
  onProgress?: (progress: { attempts: number; kept: number }) => void;
}

export interface SynthesizeResult {
  examples: TrainingExample[];
  dropped: Record<SynthDropReason, number>;
  attempts: number;
  /** The first request that failed, in words (a server that cannot be reached says so here). */
  firstModelError?: string;
}

/** Requests that fail before any response arrives, after which a run stops: the server is not answering. */
export const SYNTH_GIVE_UP_AFTER = 3;

/** The instructions the writing model gets (a pure function of the tool list). */
export function synthSystemPrompt(tools: readonly ToolSpec[]): string {
  return [
    "You write training examples for a small assistant that uses tools in the ReAct format.",
    "",
    "Tools:",
    ...tools.map((t) => `- ${toolSignature(t)}: ${String(t.description).replace(/\s+/g, " ").trim()}`),
    "",
    "Write ONE example in exactly this format and nothing else:",
    "Query: <a realistic user request, one line>",
    "Thought: <short reasoning>",
    'Action: {"name": "<tool name>", "arguments": {<arguments>}}',
    "Observation: <the tool's JSON result>",
    "(more Thought / Action / Observation as needed, at most 3 Actions)",
    "Thought: <short reasoning>",
    "Answer: <the final answer, using only values from the Observations>",
    "",
    "Rules: use only the tools above with their exact argument names; write every Action as one JSON object on one line;",
    "quote numbers in the Answer exactly as the Observations give them; vary cities, names and wording.",
  ].join("\n");
}

type Outcome = { ok: true; example: TrainingExample } | { ok: false; reason: SynthDropReason };

function errorReason(error: unknown): SynthDropReason {
  const name = error instanceof Error ? error.name : "";
  if (name === "UnknownToolError") return "unknown_tool";
  if (name === "ToolArgumentsError" || name === "InvalidArgumentsError") return "invalid_arguments";
  return "tool_error";
}

/** Word-like values of an observation (strings of 3+ letters, and the words of short strings). */
function stringLeaves(value: JsonValue, out: string[] = []): string[] {
  if (typeof value === "string") {
    if (/[A-Za-z]{3,}/.test(value) && value.length <= 60) out.push(value);
  } else if (Array.isArray(value)) for (const v of value) stringLeaves(v, out);
  else if (value !== null && typeof value === "object") for (const v of Object.values(value)) stringLeaves(v, out);
  return out;
}

function stepText(step: ReActStep): string {
  return step.kind === "action" ? `${step.thought}\n${JSON.stringify(step.action.arguments)}` : `${step.thought}\n${step.answer}`;
}

/**
 * Checks a re-grounded trajectory (see the module comment). `original` holds the model's own
 * observations, `steps` the replayed ones.
 */
export function isConsistent(query: string, steps: readonly ReActStep[], original: readonly JsonValue[]): boolean {
  const known = new Set<number>(numbersIn(query));
  const invented: string[] = [];
  let action = 0;
  const lowerQuery = query.toLowerCase();
  for (const step of steps) {
    const text = stepText(step);
    if (numbersIn(text).some((n) => !known.has(n))) return false;
    const lower = text.toLowerCase();
    if (invented.some((w) => lower.includes(w))) return false;
    if (step.kind === "action") {
      for (const n of numbersInJson(step.observation)) known.add(n);
      const replayed = JSON.stringify(step.observation).toLowerCase();
      for (const leaf of stringLeaves(original[action] ?? null)) {
        const w = leaf.toLowerCase();
        if (!replayed.includes(w) && !lowerQuery.includes(w)) invented.push(w);
      }
      action++;
    }
  }
  return true;
}

/** Splits a response into the query and the trajectory text. */
export function splitSynthResponse(text: string): { query: string; trajectory: string } | undefined {
  const cleaned = text.replace(/```[a-zA-Z]*\n?/g, "");
  const match = /^[ \t*#]*Query:[ \t]*(.+)$/im.exec(cleaned);
  if (!match || match[1].trim() === "") return undefined;
  return { query: match[1].trim(), trajectory: cleaned.slice(match.index + match[0].length) };
}

async function openModel(options: SynthesizeOptions): Promise<ChatModel> {
  if (typeof options.model !== "string") return options.model;
  if (options.baseURL === undefined) {
    throw new InvalidInputError("a model given by name needs baseURL (an OpenAI-compatible server)", { field: "baseURL", hint: "pass --base-url http://host:port/v1" });
  }
  const mod = (await import("../infer/openai-compatible.js")) as unknown as {
    OpenAICompatibleModel: new (options: { baseURL: string; apiKey?: string; model: string }) => ChatModel;
  };
  return new mod.OpenAICompatibleModel({ baseURL: options.baseURL, apiKey: options.apiKey, model: options.model });
}

async function defaultTools(): Promise<AgentTools> {
  const { createDefaultRegistry } = await import("../tools/registry.js");
  return createDefaultRegistry() as unknown as AgentTools;
}

/**
 * Asks a stronger model for new tasks with full trajectories, replays and verifies each, and
 * returns the kept examples (at most `n`) with the counts of what was dropped and why.
 */
export async function synthesize(options: SynthesizeOptions): Promise<SynthesizeResult> {
  if (!Number.isInteger(options.n) || options.n < 1) throw new InvalidInputError(`n must be a whole number of at least 1, got ${options.n}`, { field: "n" });
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidInputError(`concurrency must be at least 1, got ${concurrency}`, { field: "concurrency" });
  const seed = options.seed ?? 0;
  const maxAttempts = options.maxAttempts ?? options.n * 3 + 10;
  const maxCalls = options.maxCalls ?? 4;
  const model = await openModel(options);
  const tools = options.tools ?? (await defaultTools());
  const specs: ToolSpec[] = tools.list().map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
  const system = synthSystemPrompt(specs);
  const agentPrompt = buildSystemPrompt(specs);
  const seen = new Set((options.existing ?? []).map(dedupKey));
  const dropped = Object.fromEntries(SYNTH_DROP_REASONS.map((r) => [r, 0])) as Record<SynthDropReason, number>;
  let firstModelError: string | undefined;
  let answered = false; // a response came back: the server is there, whatever it wrote
  const unreachable = () => !answered && dropped.model_error >= SYNTH_GIVE_UP_AFTER;
  const kept: { index: number; example: TrainingExample }[] = [];
  let next = 0;

  const attempt = async (index: number): Promise<Outcome> => {
    const rng = new Rng(seed * 1_000_003 + index);
    const kind = SYNTH_KINDS[index % SYNTH_KINDS.length];
    const simSeed = rng.int(0, 99_999);
    const messages: ChatMessage[] = [
      { role: "system", content: system },
      { role: "user", content: `Example ${index + 1}. Write ${KIND_BRIEFS[kind]}.` },
    ];
    let text: string;
    try {
      text = (await model.generate(messages, { temperature: options.temperature ?? 0.8, maxTokens: options.maxTokens ?? 800, seed: simSeed, signal: options.signal })).text;
    } catch (error) {
      firstModelError ??= (error as Error).message;
      return { ok: false, reason: "model_error" };
    }
    answered = true;
    const split = splitSynthResponse(text);
    if (split === undefined) return { ok: false, reason: "unparsable" };
    const parsed = parseTrajectoryText(split.trajectory.trim(), { strict: true });
    if (!parsed.ok) return { ok: false, reason: parsed.kind === "no_answer" || parsed.kind === "missing_observation" ? "no_answer" : "unparsable" };
    const steps = parsed.steps;
    if (steps[steps.length - 1]?.kind !== "answer") return { ok: false, reason: "no_answer" };
    const calls: ToolCall[] = steps.flatMap((s) => (s.kind === "action" ? [s.action] : []));
    if (calls.length > maxCalls) return { ok: false, reason: "too_many_calls" };

    const original: JsonValue[] = [];
    const grounded: ReActStep[] = [];
    for (const step of steps) {
      if (step.kind === "answer") {
        grounded.push(step);
        continue;
      }
      if (!tools.has(step.action.name)) return { ok: false, reason: "unknown_tool" };
      let observation: JsonValue;
      try {
        observation = await tools.execute(step.action, { seed: simSeed, signal: options.signal });
      } catch (error) {
        return { ok: false, reason: errorReason(error) };
      }
      original.push(step.observation);
      grounded.push({ ...step, observation });
    }
    if (!isConsistent(split.query, grounded, original)) return { ok: false, reason: "inconsistent" };

    const names = calls.map((c) => c.name);
    const category = names.length === 0 ? "abstention" : kind === "abstention" ? (names.length === 1 ? "single" : "chain") : names.length === 1 && kind !== "single" ? "single" : kind;
    const regrounded = original.some((o, i) => canonicalJson(o) !== canonicalJson((grounded.filter((s) => s.kind === "action")[i] as { observation: JsonValue }).observation));
    const example: TrainingExample = {
      id: `synth-${seed}-${index}`,
      query: split.query,
      expected_tools: names,
      min_steps: grounded.length,
      max_steps: grounded.length + 2,
      category,
      seed: simSeed,
      steps: grounded,
      messages: renderMessages({ query: split.query, steps: grounded }, { systemPrompt: agentPrompt }),
    };
    const pinned = calls.filter((c) => !["send_email", "search_web", "calculator"].includes(c.name));
    if (pinned.length > 0) example.expected_calls = pinned;
    Object.assign(example, { source: "synth", regrounded });
    return { ok: true, example };
  };

  const worker = async (): Promise<void> => {
    while (kept.length < options.n && next < maxAttempts && !options.signal?.aborted && !unreachable()) {
      const index = next++;
      const outcome = await attempt(index);
      if (!outcome.ok) dropped[outcome.reason]++;
      else {
        const key = dedupKey(outcome.example);
        if (seen.has(key)) dropped.duplicate++;
        else {
          seen.add(key);
          kept.push({ index, example: outcome.example });
        }
      }
      options.onProgress?.({ attempts: next, kept: kept.length });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  kept.sort((a, b) => a.index - b.index);
  return { examples: kept.slice(0, options.n).map((k) => k.example), dropped, attempts: next, ...(firstModelError === undefined ? {} : { firstModelError }) };
}
