import type { Rng } from "./random.js";
import type { SlotValues, TaskTemplate } from "./template.js";

/*
 * Minimal pairs for the train split (BuildOptions.contrastPairs): two templates whose requests
 * differ in one cue that changes the tools, drawn one after the other with their shared slots
 * alike, so that the cue is the only difference the model can learn from. At 250 samples a
 * 135M model turns "the price of one share in CNY" into a calculator call for a share count, and
 * follows a plain quote with a conversion nobody asked for (results/smollm2-epochs-250).
 */

/** Each template's partner, both ways: the first of a pair's two requests lacks the second's cue. */
const PAIRS: readonly (readonly [string, string])[] = [
  ["single.stock", "chain.stock-convert"], // the price, or the price in another currency
  ["chain.stock-convert", "arithmetic.shares-cost"], // in another currency, or for n shares
  ["single.currency", "arithmetic.convert-split"], // a conversion, or a bill split n ways in the other currency
  ["single.weather", "chain.weather-restaurant"], // the weather, or the weather and a restaurant
  ["conditional.cold-restaurant", "conditional.hot-restaurant"], // the condition one way or the other
];

/** The partners of a template id (a template may sit in two pairs: one is picked). */
export function contrastPartners(id: string): string[] {
  return PAIRS.flatMap(([a, b]) => (a === id ? [b] : b === id ? [a] : []));
}

/**
 * The partner example to draw next after `drawn` with `slots`, or null when the template has
 * none among `templates`: a partner's own fresh slots, with every slot the two share taken from
 * the drawn example (the company and its ticker, the city, the amount and currencies).
 */
export function contrastPartner(drawn: TaskTemplate, slots: SlotValues, templates: readonly TaskTemplate[], rng: Rng): { template: TaskTemplate; slots: SlotValues } | null {
  const ids = contrastPartners(drawn.id);
  const candidates = templates.filter((t) => ids.includes(t.id));
  if (candidates.length === 0) return null;
  const template = rng.pick(candidates);
  const fresh: SlotValues = { ...template.slots(rng), v: rng.int(0, 999) };
  for (const key of Object.keys(fresh)) if (key !== "v" && key in slots) fresh[key] = slots[key];
  return { template, slots: fresh };
}
