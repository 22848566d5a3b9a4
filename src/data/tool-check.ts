import type { ReActStep } from "../react/types.js";

/**
 * The "tool check" Thought: the first reply names the tool the request needs and then says
 * whether the tool list has it, before anything else —
 *
 *   Thought: This needs get_time, which I have. I need the local time in Tokyo. I'll call get_time.
 *   Thought: This needs get_time, which I don't have.
 *
 * Why: in the plain format a request the model can serve and the same request with its tool
 * withheld part at the Thought's first word ("I need…" against "I would need a tool…"), so the
 * model must decide whether the tool is offered before it has named it, and small models end up
 * guessing from the wording instead of reading the list. Here both replies agree up to the tool's
 * name, and the decision follows it: whether that name occurs in the system prompt's list, which
 * even a small model can look up. A capability no tool has gets a descriptive name
 * ("order food" → order_food) for the same look-up.
 */

/** The tool name a capability would have: "send text messages" → send_text_messages. */
export function capabilityToolName(what: string): string {
  return (
    what
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "_")
      .replace(/^_+|_+$/g, "") || "unknown_tool"
  );
}

/** What the first reply must check: the tool the request needs, and whether the list has it. */
export type ToolNeed = { tool: string; offered: boolean };

/** "a", "a and b", "a, b and c". */
export function listNames(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

/**
 * The distinct tools of a trajectory's calls, in the order of their first call — what a chain's
 * first Thought names with `plan` (a conditional's second call depends on an observation, so
 * callers pass only unconditional plans).
 */
export function plannedTools(steps: readonly ReActStep[]): string[] {
  return [...new Set(steps.flatMap((s) => (s.kind === "action" ? [s.action.name] : [])))];
}

/** Every call of a trajectory in order, repeats included: the plan that progress Thoughts count through. */
export function plannedCalls(steps: readonly ReActStep[]): string[] {
  return steps.flatMap((s) => (s.kind === "action" ? [s.action.name] : []));
}

/**
 * The steps with a progress check opening every Thought that follows an observation —
 *
 *   Thought: This needs get_time and create_calendar_event, which I have. …   (the plan, see withToolCheck)
 *   Thought: Call 1 of 2 done. Next: create_calendar_event. Today in Nairobi is …
 *   Thought: Call 2 of 2 done. Next: the answer. The event is created.
 *
 * Why: a chain that stops after its first observation continues with the single-call reply it
 * resembles ("I have the local time."); the choice between another call and the answer is made
 * at the Thought's first word, from the wording of the request. Here every such Thought first
 * counts the calls made against the plan in the first Thought and copies the next name from it,
 * so the choice is a look-up in the model's own earlier reply. Only for plans known before the
 * first observation (not conditionals, whose second call depends on it).
 */
export function withProgress(steps: readonly ReActStep[]): ReActStep[] {
  const calls = plannedCalls(steps);
  let done = 0;
  return steps.map((step, i) => {
    if (i === 0 || steps[i - 1]?.kind !== "action") return step;
    done++;
    const next = calls[done] ?? "the answer";
    return { ...step, thought: `Call ${done} of ${calls.length} done. Next: ${next}. ${step.thought}`.trim() };
  });
}

/**
 * The steps with the tool check in their first Thought. `need` says which tool the request
 * needs when the first step does not call it (a missing tool); a first step that calls a tool
 * checks that tool, offered, or every tool of `plan` (which must start with it). Steps of a
 * request that needs no tool are returned as they are.
 */
export function withToolCheck(steps: readonly ReActStep[], need?: ToolNeed, plan?: readonly string[]): ReActStep[] {
  const [first, ...rest] = steps;
  if (first === undefined) return [];
  if (first.kind === "action") {
    // With a plan the first Thought names every tool the task will call ("This needs
    // get_stock_price and calculator, which I have."), so the later calls are announced.
    const names = plan !== undefined && plan[0] === first.action.name ? plan : [first.action.name];
    return [{ ...first, thought: `This needs ${listNames(names)}, which I have. ${first.thought}`.trim() }, ...rest];
  }
  if (need === undefined) return [first, ...rest];
  const check = need.offered ? `This needs ${need.tool}, which I have.` : `This needs ${need.tool}, which I don't have.`;
  return [{ ...first, thought: check }, ...rest];
}
