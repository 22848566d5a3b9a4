import { hashOf, lookupKey, SimRandom } from "../simulate.js";

/**
 * The cities the simulators know, with the facts that keep their values plausible: the IANA
 * time zone and the average daily high in January and July (°C, rounded climate normals).
 */

/** A climate family: decides which weather conditions are likely and the humidity band. */
export type Climate =
  | "oceanic"
  | "continental"
  | "subarctic"
  | "mediterranean"
  | "humid-subtropical"
  | "desert"
  | "tropical"
  | "highland";

export interface City {
  name: string;
  country: string;
  timezone: string;
  /** Average daily high in January and in July, °C. */
  janHigh: number;
  julHigh: number;
  climate: Climate;
  aliases?: readonly string[];
}

// name, country, IANA zone, Jan high, Jul high, climate, aliases
type Row = [string, string, string, number, number, Climate, string[]?];
const ROWS: Row[] = [
  ["Tokyo", "Japan", "Asia/Tokyo", 10, 29, "humid-subtropical"],
  ["Osaka", "Japan", "Asia/Tokyo", 9, 32, "humid-subtropical"],
  ["Seoul", "South Korea", "Asia/Seoul", 2, 29, "continental"],
  ["Beijing", "China", "Asia/Shanghai", 2, 31, "continental", ["Peking"]],
  ["Shanghai", "China", "Asia/Shanghai", 8, 32, "humid-subtropical"],
  ["Hong Kong", "China", "Asia/Hong_Kong", 19, 32, "humid-subtropical"],
  ["Taipei", "Taiwan", "Asia/Taipei", 19, 34, "humid-subtropical"],
  ["Singapore", "Singapore", "Asia/Singapore", 30, 31, "tropical"],
  ["Bangkok", "Thailand", "Asia/Bangkok", 32, 33, "tropical"],
  ["Kuala Lumpur", "Malaysia", "Asia/Kuala_Lumpur", 32, 32, "tropical", ["KL"]],
  ["Jakarta", "Indonesia", "Asia/Jakarta", 30, 32, "tropical"],
  ["Manila", "Philippines", "Asia/Manila", 30, 31, "tropical"],
  ["Mumbai", "India", "Asia/Kolkata", 31, 31, "tropical", ["Bombay"]],
  ["Delhi", "India", "Asia/Kolkata", 20, 35, "humid-subtropical", ["New Delhi"]],
  ["Karachi", "Pakistan", "Asia/Karachi", 26, 33, "desert"],
  ["Dubai", "United Arab Emirates", "Asia/Dubai", 24, 41, "desert"],
  ["Riyadh", "Saudi Arabia", "Asia/Riyadh", 21, 43, "desert"],
  ["Istanbul", "Turkey", "Europe/Istanbul", 9, 28, "mediterranean"],
  ["Cairo", "Egypt", "Africa/Cairo", 19, 35, "desert"],
  ["Lagos", "Nigeria", "Africa/Lagos", 32, 28, "tropical"],
  ["Nairobi", "Kenya", "Africa/Nairobi", 26, 22, "highland"],
  ["Johannesburg", "South Africa", "Africa/Johannesburg", 26, 17, "highland"],
  ["Cape Town", "South Africa", "Africa/Johannesburg", 26, 18, "mediterranean"],
  ["Moscow", "Russia", "Europe/Moscow", -4, 24, "continental"],
  ["London", "United Kingdom", "Europe/London", 8, 23, "oceanic"],
  ["Edinburgh", "United Kingdom", "Europe/London", 7, 19, "oceanic"],
  ["Dublin", "Ireland", "Europe/Dublin", 8, 20, "oceanic"],
  ["Paris", "France", "Europe/Paris", 7, 25, "oceanic"],
  ["Amsterdam", "Netherlands", "Europe/Amsterdam", 6, 22, "oceanic"],
  ["Berlin", "Germany", "Europe/Berlin", 3, 24, "continental"],
  ["Vienna", "Austria", "Europe/Vienna", 3, 26, "continental", ["Wien"]],
  ["Prague", "Czechia", "Europe/Prague", 1, 24, "continental", ["Praha"]],
  ["Warsaw", "Poland", "Europe/Warsaw", 1, 24, "continental"],
  ["Zurich", "Switzerland", "Europe/Zurich", 3, 24, "oceanic", ["Zürich"]],
  ["Madrid", "Spain", "Europe/Madrid", 10, 32, "mediterranean"],
  ["Barcelona", "Spain", "Europe/Madrid", 14, 28, "mediterranean"],
  ["Lisbon", "Portugal", "Europe/Lisbon", 15, 28, "mediterranean", ["Lisboa"]],
  ["Rome", "Italy", "Europe/Rome", 12, 31, "mediterranean", ["Roma"]],
  ["Athens", "Greece", "Europe/Athens", 13, 33, "mediterranean"],
  ["Copenhagen", "Denmark", "Europe/Copenhagen", 3, 21, "oceanic"],
  ["Oslo", "Norway", "Europe/Oslo", -1, 22, "continental"],
  ["Stockholm", "Sweden", "Europe/Stockholm", 0, 23, "continental"],
  ["Helsinki", "Finland", "Europe/Helsinki", -3, 22, "continental"],
  ["Reykjavik", "Iceland", "Atlantic/Reykjavik", 3, 14, "subarctic", ["Reykjavík"]],
  ["New York", "United States", "America/New_York", 4, 29, "humid-subtropical", ["New York City", "NYC", "NY", "Manhattan"]],
  ["Boston", "United States", "America/New_York", 2, 28, "continental"],
  ["Washington", "United States", "America/New_York", 7, 31, "humid-subtropical", ["Washington DC", "Washington D.C."]],
  ["Miami", "United States", "America/New_York", 24, 33, "tropical"],
  ["Chicago", "United States", "America/Chicago", 0, 29, "continental"],
  ["Los Angeles", "United States", "America/Los_Angeles", 20, 29, "mediterranean", ["LA", "L.A."]],
  ["San Francisco", "United States", "America/Los_Angeles", 14, 22, "mediterranean", ["SF"]],
  ["Seattle", "United States", "America/Los_Angeles", 8, 26, "oceanic"],
  ["Honolulu", "United States", "Pacific/Honolulu", 27, 31, "tropical"],
  ["Anchorage", "United States", "America/Anchorage", -5, 19, "subarctic"],
  ["Toronto", "Canada", "America/Toronto", -1, 27, "continental"],
  ["Montreal", "Canada", "America/Toronto", -5, 26, "continental", ["Montréal"]],
  ["Vancouver", "Canada", "America/Vancouver", 7, 22, "oceanic"],
  ["Mexico City", "Mexico", "America/Mexico_City", 22, 23, "highland", ["CDMX", "Ciudad de Mexico"]],
  ["Bogota", "Colombia", "America/Bogota", 20, 19, "highland", ["Bogotá"]],
  ["Lima", "Peru", "America/Lima", 25, 19, "desert"],
  ["Santiago", "Chile", "America/Santiago", 30, 15, "mediterranean"],
  ["Buenos Aires", "Argentina", "America/Argentina/Buenos_Aires", 30, 15, "humid-subtropical"],
  ["Sao Paulo", "Brazil", "America/Sao_Paulo", 28, 22, "humid-subtropical", ["São Paulo"]],
  ["Rio de Janeiro", "Brazil", "America/Sao_Paulo", 30, 25, "tropical", ["Rio"]],
  ["Sydney", "Australia", "Australia/Sydney", 26, 17, "humid-subtropical"],
  ["Melbourne", "Australia", "Australia/Melbourne", 26, 14, "oceanic"],
  ["Auckland", "New Zealand", "Pacific/Auckland", 24, 15, "oceanic"],
];

/** Every known city. */
export const CITIES: readonly City[] = ROWS.map(([name, country, timezone, janHigh, julHigh, climate, aliases]) => ({
  name,
  country,
  timezone,
  janHigh,
  julHigh,
  climate,
  ...(aliases === undefined ? {} : { aliases }),
}));

const BY_KEY = new Map<string, City>();
for (const city of CITIES) {
  BY_KEY.set(lookupKey(city.name), city);
  for (const alias of city.aliases ?? []) BY_KEY.set(lookupKey(alias), city);
}

/**
 * Finds a known city in free text: "Tokyo", "tokyo", "Tokyo, Japan", "São Paulo", "NYC",
 * "downtown Chicago". Undefined when none matches.
 */
export function findCity(text: string): City | undefined {
  const key = lookupKey(text);
  const exact = BY_KEY.get(key);
  if (exact !== undefined) return exact;
  const head = BY_KEY.get(lookupKey(text.split(",")[0]));
  if (head !== undefined) return head;
  // A known name as a whole word inside the text; the longest wins ("New York" before "York").
  let best: City | undefined;
  let bestLength = 0;
  for (const [k, city] of BY_KEY) {
    if (k.length > bestLength && k.length >= 3 && new RegExp(`(^|[^a-z])${k.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^a-z])`).test(key)) {
      best = city;
      bestLength = k.length;
    }
  }
  return best;
}

const FALLBACK_ZONES = [
  "Europe/Berlin", "Europe/London", "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
  "Asia/Tokyo", "Asia/Shanghai", "Asia/Kolkata", "Australia/Sydney", "America/Sao_Paulo", "Africa/Johannesburg",
];
const FALLBACK_CLIMATES: Climate[] = ["oceanic", "continental", "mediterranean", "humid-subtropical", "tropical", "highland"];

/**
 * A known city, or for an unknown name a plausible made-up one derived from a hash of the name
 * (same name → same climate and zone; a northern-hemisphere temperate climate most often).
 */
export function resolveCity(text: string): { city: City; known: boolean } {
  const known = findCity(text);
  if (known !== undefined) return { city: known, known: true };
  const rng = new SimRandom(hashOf("city", lookupKey(text)));
  const climate = rng.pick(FALLBACK_CLIMATES);
  const mid = climate === "tropical" ? rng.uniform(26, 31) : climate === "highland" ? rng.uniform(14, 22) : rng.uniform(8, 20);
  const amp = climate === "tropical" ? rng.uniform(0, 2) : rng.uniform(4, 12);
  const name = text.trim().replace(/\s+/g, " ");
  return {
    city: { name, country: "", timezone: rng.pick(FALLBACK_ZONES), janHigh: Math.round(mid - amp), julHigh: Math.round(mid + amp), climate },
    known: false,
  };
}

/**
 * The climate-normal daily high (°C) on a date: a cosine through the January and July
 * normals, coldest mid-January and warmest mid-July (reversed in the southern hemisphere,
 * where the July normal is the lower one).
 */
export function normalHigh(city: City, date: Date): number {
  const startOfYear = Date.UTC(date.getUTCFullYear(), 0, 1);
  const month = ((date.getTime() - startOfYear) / 86_400_000 / 365.25) * 12; // 0 = 1 January, fractional
  const mid = (city.janHigh + city.julHigh) / 2;
  const amp = (city.julHigh - city.janHigh) / 2;
  return mid - amp * Math.cos((2 * Math.PI * (month - 0.5)) / 12);
}
