import fc from "fast-check";
import type { ReActStep, Trajectory } from "../../src/react/types.js";
import type { JsonValue, ToolCall } from "../../src/tools/types.js";

// Generators of well-formed trajectories for the render → parse properties. A thought or answer
// may be any unicode text except what the format itself reserves: the keywords followed by a
// colon, and carriage returns (the parser reads \r\n as \n). Both are trimmed, as parsed.
// fc.record builds null-prototype objects by default; the parser builds plain ones.
const NO_NULL_PROTO = { noNullPrototype: true } as const;

const KEYWORD = /(final\s+answer|thought|action|answer|observation)\**[ \t]*:/i;

export const freeText = (minLength: number): fc.Arbitrary<string> =>
  fc
    .string({ unit: "grapheme", minLength, maxLength: 60 })
    .map((s) => s.trim())
    .filter((s) => s.length >= minLength && !KEYWORD.test(s) && !s.includes("\r"));

/** JSON values as they survive a JSON round trip (no -0, no undefined). */
export const jsonValue: fc.Arbitrary<JsonValue> = fc
  .jsonValue({ maxDepth: 3 })
  .map((v) => JSON.parse(JSON.stringify(v)) as JsonValue);

export const toolCall: fc.Arbitrary<ToolCall> = fc.record({
  name: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim() !== ""),
  arguments: fc.dictionary(fc.string({ maxLength: 10 }), jsonValue, { maxKeys: 4 }).map(
    (v) => JSON.parse(JSON.stringify(v)) as Record<string, JsonValue>,
  ),
}, NO_NULL_PROTO);

export const actionStep: fc.Arbitrary<ReActStep> = fc.record({
  kind: fc.constant("action" as const),
  thought: freeText(0),
  action: toolCall,
  observation: jsonValue,
}, NO_NULL_PROTO);

export const answerStep: fc.Arbitrary<ReActStep> = fc.record({
  kind: fc.constant("answer" as const),
  thought: freeText(0),
  answer: freeText(1),
}, NO_NULL_PROTO);

export const trajectory: fc.Arbitrary<Trajectory> = fc.record({
  query: fc.string({ maxLength: 40 }),
  steps: fc.tuple(fc.array(actionStep, { maxLength: 4 }), answerStep).map(([a, b]) => [...a, b]),
}, NO_NULL_PROTO);
