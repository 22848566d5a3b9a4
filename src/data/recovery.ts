import type { AgentTools } from "../agent/tools.js";
import { callTool, observationOf } from "../agent/run-agent.js";
import type { ReActStep } from "../react/types.js";
import type { JsonSchema, JsonValue, ToolCall } from "../tools/types.js";
import { argumentNamesSentence, writtenKeys } from "./argument-names.js";
import type { Rng } from "./random.js";
import { COMPANIES } from "./slots.js";
import { listNames } from "./tool-check.js";

/**
 * Recovery trajectories: the first call is made with a typical mistake, the tool answers with the
 * runtime's own validation error, and the next reply corrects the call —
 *
 *   Thought: This needs get_stock_price, which I have. …                          (weight 0)
 *   Action: {"name": "get_stock_price", "arguments": {"symbol": "Nvidia"}}
 *   Observation: {"error": "invalid arguments for get_stock_price: /symbol: must match pattern \"^[A-Z]{1,5}$\""}
 *   Thought: The symbol must be a ticker: Nvidia is NVDA. This needs get_stock_price, which I have. …
 *   Action: {"name": "get_stock_price", "arguments": {"symbol": "NVDA"}}
 *
 * The mistaken reply has `weight: 0`: it is context, with no loss on it, so the model learns the
 * correction and not the mistake. Why: SmolLM2-135M trained on 250 samples (built with
 * --name-arguments) calls get_stock_price with a company name, convert_currency with
 * from_currency/to_currency, create_calendar_event without its time; on the error observation it
 * repeats the same call, and no training trajectory showed an error followed by a corrected call.
 */

/** A first call made wrong, and the sentence that opens the corrected reply's Thought. */
export interface RecoveryMistake {
  kind: "company_name" | "currency_keys" | "missing_argument";
  call: ToolCall;
  /** "The symbol must be a ticker: Nvidia is NVDA.", "convert_currency takes amount, from and to.", "I left out time." */
  correction: string;
}

/** A mistake the runtime rejects, with the Observation it answers. */
export interface CheckedMistake extends RecoveryMistake {
  observation: JsonValue;
}

const STOCK_TOOL = "get_stock_price";
const CURRENCY_TOOL = "convert_currency";
/** The keys convert_currency is mistakenly called with. */
const CURRENCY_MISNAMES: Readonly<Record<string, string>> = { from: "from_currency", to: "to_currency" };

/**
 * The mistakes `call` could be made with, whether or not the runtime rejects them:
 * get_stock_price with the company's name for its ticker (from the Company list, whatever the
 * query said); convert_currency with from_currency/to_currency for from/to; any other tool
 * with one of its required arguments left out, when it has at least two in the call (so the
 * mistaken call still has arguments). Empty when none applies.
 */
export function candidateMistakes(call: ToolCall, parameters: JsonSchema | undefined): RecoveryMistake[] {
  const args = call.arguments;
  if (call.name === STOCK_TOOL) {
    const company = COMPANIES.find((c) => c.symbol === args.symbol);
    if (company === undefined || company.name === company.symbol) return [];
    return [{ kind: "company_name", call: { name: call.name, arguments: { ...args, symbol: company.name } }, correction: `The symbol must be a ticker: ${company.name} is ${company.symbol}.` }];
  }
  if (call.name === CURRENCY_TOOL) {
    if (!Object.keys(CURRENCY_MISNAMES).every((key) => args[key] !== undefined)) return [];
    const renamed = Object.fromEntries(Object.entries(args).map(([key, value]) => [CURRENCY_MISNAMES[key] ?? key, value]));
    return [{ kind: "currency_keys", call: { name: call.name, arguments: renamed as ToolCall["arguments"] }, correction: `${call.name} takes ${listNames(writtenKeys(args))}.` }];
  }
  const required = Array.isArray(parameters?.required) ? (parameters.required as unknown[]).filter((k): k is string => typeof k === "string") : [];
  const present = required.filter((key) => args[key] !== undefined);
  if (present.length < 2) return [];
  return present.map((left) => ({
    kind: "missing_argument" as const,
    call: { name: call.name, arguments: Object.fromEntries(Object.entries(args).filter(([key]) => key !== left)) as ToolCall["arguments"] },
    correction: `I left out ${left}.`,
  }));
}

/**
 * The candidate mistakes for `call` that the tools reject as invalid arguments, each with the
 * Observation the agent runtime shows for it (`callTool` and `observationOf`, the code path of an
 * evaluation run, so the error text is exactly what the model will see).
 */
export async function checkedMistakes(call: ToolCall, tools: AgentTools, seed: number): Promise<CheckedMistake[]> {
  if (!tools.has(call.name)) return [];
  const parameters = tools.list().find((t) => t.name === call.name)?.parameters;
  const out: CheckedMistake[] = [];
  for (const mistake of candidateMistakes(call, parameters)) {
    const outcome = await callTool(tools, mistake.call, { seed, signal: undefined, timeoutMs: undefined });
    // The builder keeps a plan only when every call succeeds (runPlan); the mistaken call is the
    // one exception, and must fail by design: a mistake the tool accepts is not used.
    if (outcome.kind === "failed" && outcome.failure === "invalid_arguments") out.push({ ...mistake, observation: observationOf(outcome) });
  }
  return out;
}

/**
 * The steps with the mistaken call inserted before the first call: a weight-0 step (the first
 * Thought, its argument-names sentence, if any, naming the mistaken keys) with the error
 * Observation, then the first call's step with its Thought opened by the correction.
 */
export function withRecovery(steps: readonly ReActStep[], mistake: CheckedMistake): ReActStep[] {
  const at = steps.findIndex((s) => s.kind === "action");
  const first = steps[at];
  if (first === undefined || first.kind !== "action") return [...steps];
  const named = argumentNamesSentence(first.action.arguments);
  const thought = named !== "" && first.thought.endsWith(named) ? `${first.thought.slice(0, -named.length)}${argumentNamesSentence(mistake.call.arguments)}`.trim() : first.thought;
  const mistaken: ReActStep = { kind: "action", thought, action: mistake.call, observation: mistake.observation, weight: 0 };
  const corrected: ReActStep = { ...first, thought: `${mistake.correction} ${first.thought}`.trim() };
  return [...steps.slice(0, at), mistaken, corrected, ...steps.slice(at + 1)];
}

/**
 * With probability `share`, a recovery trajectory of `steps` when their first call has a mistake
 * the tools reject (one drawn from `rng`); otherwise the steps unchanged. Draws from `rng` only
 * for such steps: one draw for whether, one for which mistake.
 */
export async function drawRecovery(steps: readonly ReActStep[], tools: AgentTools, seed: number, rng: Rng, share: number): Promise<ReActStep[]> {
  const first = steps.find((s) => s.kind === "action");
  if (first === undefined || first.kind !== "action" || share <= 0) return [...steps];
  const mistakes = await checkedMistakes(first.action, tools, seed);
  if (mistakes.length === 0 || !rng.chance(share)) return [...steps];
  return withRecovery(steps, rng.pick(mistakes));
}
