import type { ReActStep } from "../react/types.js";
import { listNames } from "./tool-check.js";

/**
 * The argument-names Thought: every Thought that precedes an Action ends by naming the keys of
 * that call's arguments, in the order the Action's JSON writes them —
 *
 *   Thought: This needs convert_currency, which I have. First I'll convert 750 SGD to MXN. I'll call convert_currency. Its arguments: amount, from and to.
 *   Action: {"name": "convert_currency", "arguments": {"amount": 750, "from": "SGD", "to": "MXN"}}
 *
 * Why: SmolLM2-135M trained on 250 samples writes malformed actions such as
 * `{"arguments": {"750"}}` and `{"AAPL"}` — a value where a key belongs. Stated in words right
 * before the JSON, each key becomes a copy from the model's own Thought.
 */

/** A call's argument keys that the Action's JSON writes (formatJson leaves out an undefined value), in order. */
export function writtenKeys(args: Readonly<Record<string, unknown>>): string[] {
  return Object.entries(args).flatMap(([key, value]) => (value === undefined ? [] : [key]));
}

/** The sentence naming a call's argument keys: "Its argument: expression.", "Its arguments: a and b."; "" for none. */
export function argumentNamesSentence(args: Readonly<Record<string, unknown>>): string {
  const keys = writtenKeys(args);
  if (keys.length === 0) return "";
  return `Its argument${keys.length === 1 ? "" : "s"}: ${listNames(keys)}.`;
}

/** The steps with every Action's Thought ending in its argument names; answers and calls without arguments are left alone. */
export function withArgumentNames(steps: readonly ReActStep[]): ReActStep[] {
  return steps.map((step) => {
    if (step.kind !== "action") return step;
    const sentence = argumentNamesSentence(step.action.arguments);
    return sentence === "" ? step : { ...step, thought: `${step.thought} ${sentence}`.trim() };
  });
}
