import type { ReActStep } from "../react/types.js";

/**
 * The restated request: every Thought that follows an observation opens by copying the user's
 * request —
 *
 *   Thought: This needs get_time, which I have. I need today's date in Nairobi first. I'll call get_time.
 *   Action: {"name": "get_time", "arguments": {"city": "Nairobi"}}
 *   Observation: {"local_time": "09:12", "date": "2026-11-13", …}
 *   Thought: The request: I'm in Nairobi. Book "Dinner with Alice" for today at 09:00, using the local date there. Today in Nairobi is 2026-11-13. I'll call create_calendar_event.
 *
 * Why: SmolLM2-135M, trained on 250 samples, stops a chain after its first observation with the
 * single-call reply that observation resembles ("I have the local time."), and repeats a finished
 * call: the choice between another call and the answer is made right after a tool's output, far
 * from the request that decides it. The first Thought, made right after the request, picks the
 * first tool well. Copying the request is what small models do reliably, and it puts the request
 * next to every later choice, as it is next to the first.
 */
export function withRestatedRequest(steps: readonly ReActStep[], query: string): ReActStep[] {
  return steps.map((step, i) => (i === 0 ? step : { ...step, thought: `${restatement(query)} ${step.thought}`.trim() }));
}

/** "The request: " and the query with its spaces folded, closed by a full stop when it has no end mark of its own. */
export function restatement(query: string): string {
  const request = query.trim().replace(/\s+/g, " ");
  return `The request: ${request}${/[.!?"']$/.test(request) ? "" : "."}`;
}
