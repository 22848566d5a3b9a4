import type { JsonValue } from "../types.js";
import type { BuiltinTool } from "./builtin-tool.js";
import { findLanguage, lookupPhrase } from "./phrasebook.js";

/** translate: common phrases from a phrasebook; anything else comes back marked with the language. */
export const translate: BuiltinTool = {
  name: "translate",
  description: "Translate a short text into another language (e.g. Spanish, French, German, Italian, Japanese, Portuguese, Chinese, Korean).",
  parameters: {
    type: "object",
    properties: {
      text: { type: "string", minLength: 1, description: "Text to translate" },
      target_language: { type: "string", minLength: 1, description: "Language to translate into, e.g. Spanish" },
    },
    required: ["text", "target_language"],
    additionalProperties: false,
  },
  examples: [{ text: "Thank you", target_language: "Japanese" }, { text: "Where is the train station?", target_language: "es" }],
  execute(args): JsonValue {
    const text = String(args.text);
    const target = String(args.target_language).trim();
    const language = findLanguage(target);
    const known = language === undefined ? undefined : lookupPhrase(text, language);
    // Outside the phrasebook the text comes back tagged with the language, so it is never mistaken for a real translation.
    const translation = known ?? `[${language ?? target}] ${text.trim()}`;
    return { text, target_language: target, translation };
  },
};
