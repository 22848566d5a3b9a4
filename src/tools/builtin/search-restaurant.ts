import { roundTo, SimRandom, lookupKey } from "../simulate.js";
import type { JsonValue } from "../types.js";
import type { BuiltinTool } from "./builtin-tool.js";
import { findCity } from "./cities.js";
import { COMMON_STREETS, CUISINES, type Cuisine, findCuisine, POPULAR_CUISINES, STREETS } from "./restaurants.js";

/** The rating band of the top match (one decimal). */
export const RATING_RANGE: readonly [number, number] = [3.5, 4.9];
const PRICE = ["$", "$$", "$$$", "$$$$"];

function titleCase(text: string): string {
  return text.replace(/\S+/g, (w) => w[0].toUpperCase() + w.slice(1));
}

/** Names for a cuisine the table does not have, built from its own name. */
function inventedCuisine(text: string): Cuisine {
  const t = titleCase(text.trim().replace(/\s+/g, " "));
  return { names: [`${t} House`, `The ${t} Kitchen`, `${t} Corner`, `Little ${t}`, `${t} & Co.`, `Casa ${t}`], price: [1, 3] };
}

/** search_restaurant: the top restaurant match for a location and cuisine. */
export const searchRestaurant: BuiltinTool = {
  name: "search_restaurant",
  description: "Find the best-rated restaurant in a location, optionally of a given cuisine. Returns its name, rating, price range and address.",
  parameters: {
    type: "object",
    properties: {
      location: { type: "string", minLength: 1, description: "City or neighbourhood, e.g. Tokyo" },
      cuisine: { type: "string", minLength: 1, description: "Kind of food, e.g. ramen, Italian, vegan" },
    },
    required: ["location"],
    additionalProperties: false,
  },
  examples: [{ location: "Tokyo", cuisine: "ramen" }, { location: "Paris" }],
  execute(args, { seed }): JsonValue {
    const location = String(args.location).trim();
    const city = findCity(location);
    const place = city?.name ?? location;
    const rng = SimRandom.of("search_restaurant", lookupKey(place), args.cuisine === undefined ? "" : lookupKey(String(args.cuisine)), seed);
    const requested = args.cuisine === undefined ? undefined : String(args.cuisine).trim();
    const cuisineName = requested ?? rng.pick(POPULAR_CUISINES);
    const cuisine = findCuisine(cuisineName)?.cuisine ?? (CUISINES[cuisineName] ?? inventedCuisine(cuisineName));
    const name = rng.pick(cuisine.names);
    // Ratings cluster around 4.2 like a top search result's; the mean of two uniforms keeps them central.
    const rating = roundTo(4.2 + rng.centered() * 0.7, 1);
    const price = PRICE[rng.int(cuisine.price[0], cuisine.price[1]) - 1];
    const street = rng.pick(STREETS[place] ?? COMMON_STREETS).replace("{n}", String(rng.int(1, 240)));
    return { name, cuisine: cuisineName, location, rating, price_range: price, address: `${street}, ${place}` };
  },
};
