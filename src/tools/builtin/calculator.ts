import { evaluateExpression } from "../calculator.js";
import type { JsonValue } from "../types.js";
import type { BuiltinTool } from "./builtin-tool.js";

/** calculator: evaluates arithmetic with the project's own parser (src/tools/calculator.ts). */
export const calculator: BuiltinTool = {
  name: "calculator",
  description:
    "Evaluate an arithmetic expression: + - * / % ^, parentheses, unary minus, decimals, sqrt(), abs(), round(), floor(), ceil(), min(), max(), pi, e.",
  parameters: {
    type: "object",
    properties: {
      expression: { type: "string", minLength: 1, description: "Arithmetic expression, e.g. (12.5 + 7) * 3" },
    },
    required: ["expression"],
    additionalProperties: false,
  },
  examples: [{ expression: "2 + 3 * 4" }, { expression: "sqrt(144) / (1.5 - 0.5)" }],
  execute(args): JsonValue {
    const expression = String(args.expression);
    return { expression, result: evaluateExpression(expression) };
  },
};
