import type { AgentTools } from "../agent/tools.js";
import { AgentTuneError } from "../errors.js";
import type { ReActStep } from "../react/types.js";
import type { JsonValue, ToolCall } from "../tools/types.js";
import type { Rng } from "./random.js";
import type { Category } from "./schema.js";

/**
 * Task templates: a query with slots, several phrasings, and a plan — a function from the slot
 * values and the observations so far to the next step (a call with its Thought, or the Answer).
 * Running a plan against the simulators with some seed gives one trajectory whose Thoughts and
 * Answer quote that seed's observations; another seed gives another, equally consistent one.
 */

export type SlotValues = Record<string, string | number>;

/** What a plan sees: the slots, the calls made so far and their observations. */
export interface PlanState {
  slots: SlotValues;
  calls: ToolCall[];
  observations: JsonValue[];
}

/** A plan's next step. `contains` lists what a correct Answer must contain (answer_contains). */
export type PlanStep =
  | { kind: "call"; thought: string; call: ToolCall }
  | { kind: "answer"; thought: string; answer: string; contains: string[] };

export interface TaskTemplate {
  /** Stable id; the train/eval split is by id. */
  id: string;
  category: Category;
  /** Templates marked "eval" are held out of training. */
  split: "train" | "eval";
  /** Query phrasings with `{slot}` placeholders. */
  phrasings: readonly string[];
  /**
   * A second, more varied set of phrasings (terse, indirect, context first), drawn from beside
   * `phrasings` only when a train build asks for it (BuildOptions.morePhrasings). Eval templates
   * have none.
   */
  extraPhrasings?: readonly string[];
  /**
   * A third set (a need or a wish, a question inside a question, the topic first), drawn from
   * only when a train build asks for it (BuildOptions.thirdPhrasings). Eval templates have none.
   */
  thirdPhrasings?: readonly string[];
  /** Draws the slot values. */
  slots(rng: Rng): SlotValues;
  plan(state: PlanState): PlanStep;
  /**
   * Tools the plan may call on some branch (a conditional's second tool). A restricted tool
   * list always offers them, so "not offered" never stands in for "condition not met".
   */
  uses?: readonly string[];
  /** Tools that must not be offered (missing_tool: the tool the query needs). */
  withhold?: readonly string[];
  /** Offer exactly the full tool list, named in `tools` (missing_tool for capabilities no tool has). */
  offerAll?: boolean;
  /**
   * The sentence the first Thought ends with under BuildOptions.carryOperands: the number of the
   * request that a later step uses ("Then I'll divide it by 6."), said in the model's own first
   * reply so that the later step copies it from there instead of from the request.
   */
  laterOperand?(slots: SlotValues): string;
  /** Calls a plan makes at most (a guard against a plan that never answers). Default 4. */
  maxCalls?: number;
}

/** A plan that did not finish: a tool failed or the plan kept calling. */
export class PlanError extends AgentTuneError {
  readonly templateId: string;
  constructor(templateId: string, problem: string, cause?: unknown) {
    super(`template "${templateId}": ${problem}`, {
      cause,
      hint: "the builder skips this draw and tries other slot values; if it happens for every draw, the template or the tools are wrong",
    });
    this.templateId = templateId;
  }
}

/** Fills `{slot}` placeholders. A placeholder without a value is left visible, which tests catch. */
export function fillPhrasing(phrasing: string, slots: SlotValues): string {
  return phrasing.replace(/\{(\w+)\}/g, (whole, name: string) => (name in slots ? String(slots[name]) : whole));
}

/** The result of running a plan once. */
export interface PlanRun {
  steps: ReActStep[];
  calls: ToolCall[];
  answerContains: string[];
}

/**
 * Runs a template's plan against the tools with one simulator seed.
 *
 * @throws PlanError when a tool fails or the plan exceeds its call budget.
 */
export async function runPlan(template: TaskTemplate, slots: SlotValues, tools: AgentTools, seed: number): Promise<PlanRun> {
  const state: PlanState = { slots, calls: [], observations: [] };
  const steps: ReActStep[] = [];
  const maxCalls = template.maxCalls ?? 4;
  for (;;) {
    let next: PlanStep;
    try {
      next = template.plan(state);
    } catch (error) {
      throw new PlanError(template.id, `the plan cannot read the observations: ${error instanceof Error ? error.message : String(error)}`, error);
    }
    if (next.kind === "answer") {
      steps.push({ kind: "answer", thought: next.thought, answer: next.answer });
      return { steps, calls: state.calls, answerContains: next.contains.filter((c) => c.trim() !== "") };
    }
    if (state.calls.length >= maxCalls) throw new PlanError(template.id, `the plan made more than ${maxCalls} calls`);
    let observation: JsonValue;
    try {
      observation = await tools.execute(next.call, { seed });
    } catch (error) {
      throw new PlanError(template.id, `${next.call.name} failed: ${error instanceof Error ? error.message : String(error)}`, error);
    }
    state.calls.push(next.call);
    state.observations.push(observation);
    steps.push({ kind: "action", thought: next.thought, action: next.call, observation });
  }
}

/** Reads a field of an observation object (undefined when absent or not an object). */
export function field(observation: JsonValue | undefined, key: string): JsonValue | undefined {
  if (observation === null || typeof observation !== "object" || Array.isArray(observation)) return undefined;
  return observation[key];
}

/** A numeric field of an observation. @throws TypeError when absent (runPlan turns it into a PlanError). */
export function num(observation: JsonValue | undefined, key: string): number {
  const value = field(observation, key);
  if (typeof value !== "number") throw new TypeError(`the observation has no number "${key}": ${JSON.stringify(observation)}`);
  return value;
}

/** A string field of an observation. */
export function str(observation: JsonValue | undefined, key: string): string {
  const value = field(observation, key);
  if (typeof value !== "string") throw new TypeError(`the observation has no string "${key}": ${JSON.stringify(observation)}`);
  return value;
}
