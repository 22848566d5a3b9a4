import type { Rng } from "./random.js";

/**
 * Surface variation for training queries: a greeting or a "please" around the request, lower
 * case, a missing full stop — the ways people actually type. A small model trained on tidy
 * sentences only treats "hey, weather in oslo pls" as a different task; with a share of
 * restyled queries it learns that the wrapping does not change the tool. Only the train split
 * is restyled, so the held-out evaluation set keeps its exact phrasings.
 */

const PREFIXES = ["Hey, ", "Hi! ", "Quick question: ", "Hello. ", "Please, ", "Could you help? ", "I was wondering: ", "Ok, "] as const;
const SUFFIXES = [" Thanks!", " Thank you.", " Please.", " Thanks in advance.", " Cheers."] as const;

/** Share of training queries that get restyled. */
export const RESTYLE_SHARE = 0.3;

/** One restyled variant of `query`, drawn from `rng`; always differs from the input. */
export function restyleQuery(query: string, rng: Rng): string {
  let text = query;
  const prefix = rng.chance(0.5);
  const suffix = rng.chance(0.4);
  const lower = rng.chance(0.35);
  const bare = rng.chance(0.3);
  if (bare) text = text.replace(/[.!]$/, "");
  if (lower) text = text.charAt(0).toLowerCase() + text.slice(1);
  if (prefix) text = rng.pick(PREFIXES) + (lower ? text : text.charAt(0).toLowerCase() + text.slice(1));
  if (suffix) text += rng.pick(SUFFIXES);
  // Nothing drawn (or nothing that shows): at least the greeting.
  return text === query ? `${rng.pick(PREFIXES)}${query.charAt(0).toLowerCase()}${query.slice(1)}` : text;
}
