import { ToolExecutionError } from "../errors.js";
import { roundTo, SimRandom } from "../simulate.js";
import type { JsonValue } from "../types.js";
import type { BuiltinTool } from "./builtin-tool.js";

/** Base share prices in USD (rounded; late 2025). The simulator jitters them by up to ±4 % per seed. */
export const STOCK_PRICES: Readonly<Record<string, { name: string; price: number }>> = {
  AAPL: { name: "Apple", price: 270 },
  MSFT: { name: "Microsoft", price: 500 },
  GOOGL: { name: "Alphabet", price: 290 },
  AMZN: { name: "Amazon", price: 230 },
  TSLA: { name: "Tesla", price: 420 },
  NVDA: { name: "Nvidia", price: 185 },
  META: { name: "Meta", price: 600 },
  NFLX: { name: "Netflix", price: 110 },
  IBM: { name: "IBM", price: 300 },
  INTC: { name: "Intel", price: 36 },
  AMD: { name: "AMD", price: 240 },
  ORCL: { name: "Oracle", price: 220 },
  DIS: { name: "Disney", price: 110 },
  KO: { name: "Coca-Cola", price: 70 },
  NKE: { name: "Nike", price: 63 },
  JPM: { name: "JPMorgan Chase", price: 305 },
  WMT: { name: "Walmart", price: 102 },
  BA: { name: "Boeing", price: 195 },
  V: { name: "Visa", price: 335 },
  MA: { name: "Mastercard", price: 560 },
  PEP: { name: "PepsiCo", price: 145 },
  CSCO: { name: "Cisco", price: 72 },
  ADBE: { name: "Adobe", price: 340 },
  CRM: { name: "Salesforce", price: 240 },
  UBER: { name: "Uber", price: 90 },
  SBUX: { name: "Starbucks", price: 85 },
  XOM: { name: "Exxon Mobil", price: 118 },
  PFE: { name: "Pfizer", price: 25 },
};

/** Largest relative distance of a simulated price from its base, and largest daily change in percent. */
export const PRICE_JITTER = 0.04;
export const MAX_CHANGE_PERCENT = 3.5;

/** get_stock_price: the current share price of a listed symbol. */
export const getStockPrice: BuiltinTool = {
  name: "get_stock_price",
  description: "Get the current share price (USD) and today's change in percent for a stock ticker symbol such as AAPL.",
  parameters: {
    type: "object",
    properties: {
      symbol: { type: "string", pattern: "^[A-Z]{1,5}$", description: "Ticker symbol in capitals, e.g. AAPL" },
    },
    required: ["symbol"],
    additionalProperties: false,
  },
  examples: [{ symbol: "AAPL" }, { symbol: "KO" }],
  execute(args, { seed }): JsonValue {
    const symbol = String(args.symbol);
    const base = STOCK_PRICES[symbol];
    if (base === undefined) {
      throw new ToolExecutionError(`unknown stock symbol "${symbol}"`, {
        tool: "get_stock_price",
        hint: `known symbols: ${Object.keys(STOCK_PRICES).join(", ")}`,
      });
    }
    const rng = SimRandom.of("get_stock_price", symbol, seed);
    const price = roundTo(base.price * (1 + rng.centered() * PRICE_JITTER), 2);
    const change = roundTo(rng.uniform(-MAX_CHANGE_PERCENT, MAX_CHANGE_PERCENT), 2);
    return { symbol, price, currency: "USD", change_percent: change === 0 ? 0 : change };
  },
};
