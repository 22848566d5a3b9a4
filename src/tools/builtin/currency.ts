import { ToolExecutionError } from "../errors.js";
import { roundTo, SimRandom } from "../simulate.js";
import type { JsonValue } from "../types.js";
import type { BuiltinTool } from "./builtin-tool.js";

/**
 * Units of each currency per US dollar (mid-market, rounded; late 2025). The simulator
 * jitters each by up to ±3 % per seed.
 */
export const USD_RATES: Readonly<Record<string, number>> = {
  USD: 1, EUR: 0.86, GBP: 0.76, JPY: 155, CHF: 0.8, CAD: 1.4, AUD: 1.54, NZD: 1.77, CNY: 7.1, HKD: 7.78, INR: 88.5,
  KRW: 1460, SGD: 1.3, SEK: 9.5, NOK: 10.1, DKK: 6.45, PLN: 3.65, MXN: 18.4, BRL: 5.35, ZAR: 17.3, TRY: 42.3,
  THB: 32.5, AED: 3.6725,
};

/** Largest relative jitter of a rate. */
export const RATE_JITTER = 0.03;

function unitsPerUsd(code: string, seed: number): number {
  if (code === "USD") return 1;
  return USD_RATES[code] * (1 + SimRandom.of("convert_currency", code, seed).centered() * RATE_JITTER);
}

/** convert_currency: converts an amount between two currencies at a simulated market rate. */
export const convertCurrency: BuiltinTool = {
  name: "convert_currency",
  description: "Convert an amount of money from one currency to another (ISO 4217 codes such as USD, EUR, JPY) at the current rate.",
  parameters: {
    type: "object",
    properties: {
      amount: { type: "number", description: "Amount in the source currency" },
      from: { type: "string", pattern: "^[A-Za-z]{3}$", description: "Source currency code, e.g. USD" },
      to: { type: "string", pattern: "^[A-Za-z]{3}$", description: "Target currency code, e.g. EUR" },
    },
    required: ["amount", "from", "to"],
    additionalProperties: false,
  },
  examples: [{ amount: 100, from: "USD", to: "EUR" }, { amount: 2500.5, from: "jpy", to: "GBP" }],
  execute(args, { seed }): JsonValue {
    const amount = Number(args.amount);
    const from = String(args.from).toUpperCase();
    const to = String(args.to).toUpperCase();
    for (const code of [from, to]) {
      if (USD_RATES[code] === undefined) {
        throw new ToolExecutionError(`unknown currency code "${code}"`, {
          tool: "convert_currency",
          hint: `known codes: ${Object.keys(USD_RATES).join(", ")}`,
        });
      }
    }
    // Rounded to 6 significant digits, and `converted` uses that rounded rate so the two agree.
    const rate = from === to ? 1 : Number((unitsPerUsd(to, seed) / unitsPerUsd(from, seed)).toPrecision(6));
    return { amount, from, to, rate, converted: roundTo(amount * rate, 2) };
  },
};
