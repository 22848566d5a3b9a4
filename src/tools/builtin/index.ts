import type { BuiltinTool } from "./builtin-tool.js";
import { calculator } from "./calculator.js";
import { createCalendarEvent } from "./calendar.js";
import { convertCurrency } from "./currency.js";
import { sendEmail } from "./email.js";
import { searchRestaurant } from "./search-restaurant.js";
import { searchWeb } from "./search-web.js";
import { getStockPrice } from "./stocks.js";
import { getTime } from "./time.js";
import { translate } from "./translate.js";
import { getWeather } from "./weather.js";

export type { BuiltinTool } from "./builtin-tool.js";
export { calculator, convertCurrency, createCalendarEvent, getStockPrice, getTime, getWeather, searchRestaurant, searchWeb, sendEmail, translate };

/** The ten built-in tools of SPECS §2, in the order prompts list them. */
export const BUILTIN_TOOLS: readonly BuiltinTool[] = [
  getWeather,
  searchRestaurant,
  calculator,
  convertCurrency,
  getTime,
  searchWeb,
  getStockPrice,
  translate,
  sendEmail,
  createCalendarEvent,
];
