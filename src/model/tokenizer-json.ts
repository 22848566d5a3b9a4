// Rewrites the parts of a tokenizer.json that @huggingface/tokenizers 0.2 reads differently from
// the Rust `tokenizers` crate into equivalent forms it reads the same way. Today that is the
// Split pre-tokenizer's MergedWithPrevious / MergedWithNext / Contiguous behaviours, which it
// treats as Isolated: each becomes a Split whose regex matches the wanted pieces themselves
// (invert: true), which it handles exactly. The input is not modified.

type Json = Record<string, unknown>;

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");

/** The regex (Oniguruma source) whose matches are the pieces a Split with `behavior` keeps. */
function piecesRegex(pattern: string, behavior: string): string | undefined {
  const p = `(?:${pattern})`;
  const other = `(?:(?!${p})[\\s\\S])`; // one character where no match of the pattern starts
  switch (behavior) {
    case "MergedWithPrevious": // "a b c" split on " " → "a ", "b ", "c"
      return `${other}*${p}|${other}+`;
    case "MergedWithNext": // → "a", " b", " c"
      return `${p}${other}*|${other}+`;
    case "Contiguous": // runs of matches kept together: "a  b" → "a", "  ", "b"
      return `${p}+|${other}+`;
    default:
      return undefined;
  }
}

function adaptPreTokenizer(pt: unknown): unknown {
  if (pt === null || typeof pt !== "object") return pt;
  const o = pt as Json;
  if (o.type === "Sequence" && Array.isArray(o.pretokenizers)) return { ...o, pretokenizers: o.pretokenizers.map(adaptPreTokenizer) };
  if (o.type !== "Split" || o.invert === true || typeof o.behavior !== "string") return pt;
  const pattern = o.pattern as { String?: unknown; Regex?: unknown } | undefined;
  const source = typeof pattern?.String === "string" ? escapeRegex(pattern.String) : typeof pattern?.Regex === "string" ? pattern.Regex : undefined;
  const regex = source === undefined ? undefined : piecesRegex(source, o.behavior);
  return regex === undefined ? pt : { ...o, pattern: { Regex: regex }, behavior: "Removed", invert: true };
}

/** A copy of the tokenizer.json object with the rewrites above applied (shallow where unchanged). */
export function adaptTokenizerJson(json: Json): Json {
  const out: Json = { ...json };
  for (const key of ["normalizer", "pre_tokenizer", "post_processor", "decoder"]) if (!(key in out)) out[key] = null;
  if (!Array.isArray(out.added_tokens)) out.added_tokens = [];
  out.pre_tokenizer = adaptPreTokenizer(out.pre_tokenizer);
  return out;
}
