import type { JsonValue } from "../tools/types.js";
import type { ReActStep } from "../react/types.js";

/**
 * Grounding checks: an Answer (or a later Thought or Action) may only quote numbers that the
 * user gave or an Observation returned. This is how generated and synthetic data are kept
 * honest: an answer quoting a temperature quotes the observed one.
 */

const NUMBER = /\d+(?:\.\d+)?/g;

/** The numbers written in a text (unsigned; `-3` reads as 3, `2026-11-24` as 2026, 11, 24). */
export function numbersIn(text: string): number[] {
  return (text.match(NUMBER) ?? []).map(Number);
}

/** Every number in a JSON value, from its numbers and inside its strings. */
export function numbersInJson(value: JsonValue): number[] {
  return numbersIn(JSON.stringify(value) ?? "");
}

/**
 * The numbers in `text` found neither in `query` nor in any of `observations` (compared by
 * value, so `8.50` matches `8.5`). An empty list means the text is grounded.
 */
export function ungroundedNumbers(text: string, query: string, observations: readonly JsonValue[]): number[] {
  const known = new Set<number>([...numbersIn(query), ...observations.flatMap(numbersInJson)]);
  return numbersIn(text).filter((n) => !known.has(n));
}

/** The ungrounded numbers of a trajectory's final Answer (none when it used no tool). */
export function ungroundedAnswerNumbers(query: string, steps: readonly ReActStep[]): number[] {
  const observations = steps.flatMap((s) => (s.kind === "action" ? [s.observation] : []));
  const last = steps[steps.length - 1];
  if (last === undefined || last.kind !== "answer" || observations.length === 0) return [];
  return ungroundedNumbers(last.answer, query, observations);
}
