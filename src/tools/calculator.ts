import { ToolExecutionError } from "./errors.js";

/**
 * The calculator's arithmetic: a recursive-descent parser and evaluator (no `eval`, no `Function`).
 *
 * Grammar (lowest precedence first):
 *   expr    := term (("+" | "-") term)*
 *   term    := unary (("*" | "/" | "%") unary)*
 *   unary   := ("-" | "+") unary | power
 *   power   := primary ("^" unary)?            right-associative: 2^3^2 = 2^9; -2^2 = -4; 2^-1 = 0.5
 *   primary := number | constant | name "(" expr ("," expr)* ")" | "(" expr ")"
 *
 * Accepted spellings models often write: `×` `·` `∗` for `*`, `÷` `∕` for `/`, `−` `–` for `-`,
 * `**` for `^`, `π` for pi. The letter `x` is never multiplication. `%` is the remainder
 * (JavaScript's sign convention), not "percent".
 *
 * Thousands separators: `1,200` and `12,345,678.5` read as numbers when each group after a
 * comma has exactly three digits and the comma is not inside a function's argument list;
 * inside `max(1,200)` the comma separates arguments. Anything else with a comma is an error.
 *
 * Positions in error messages count characters from 1.
 */

/** A syntax or arithmetic error in an expression, with the 1-based character position. */
export class CalculatorError extends ToolExecutionError {
  /** 1-based position of the offending character in the expression. */
  readonly position: number;
  constructor(message: string, position: number, hint?: string) {
    super(`${message} at position ${position}`, {
      tool: "calculator",
      hint: hint ?? "write plain arithmetic: numbers, + - * / % ^, parentheses, sqrt(), abs(), round(), min(), max()",
    });
    this.position = position;
  }
}

/** A parsed expression. `pos` is the 0-based offset of the node's first (or operator) character. */
export type ExprNode =
  | { kind: "num"; value: number; pos: number }
  | { kind: "neg"; arg: ExprNode; pos: number }
  | { kind: "bin"; op: "+" | "-" | "*" | "/" | "%" | "^"; left: ExprNode; right: ExprNode; pos: number }
  | { kind: "call"; name: string; args: ExprNode[]; pos: number };

const CONSTANTS: Record<string, number> = { pi: Math.PI, "π": Math.PI, e: Math.E, tau: 2 * Math.PI };

/** Functions and their arity [min, max]. */
const FUNCTIONS: Record<string, { arity: [number, number]; fn: (...a: number[]) => number }> = {
  sqrt: { arity: [1, 1], fn: Math.sqrt },
  abs: { arity: [1, 1], fn: Math.abs },
  round: { arity: [1, 2], fn: (x, digits = 0) => roundTo(x, digits) },
  floor: { arity: [1, 1], fn: Math.floor },
  ceil: { arity: [1, 1], fn: Math.ceil },
  min: { arity: [1, Number.POSITIVE_INFINITY], fn: Math.min },
  max: { arity: [1, Number.POSITIVE_INFINITY], fn: Math.max },
  pow: { arity: [2, 2], fn: Math.pow },
  exp: { arity: [1, 1], fn: Math.exp },
  ln: { arity: [1, 1], fn: Math.log },
  log: { arity: [1, 1], fn: Math.log10 },
};

/** Names the calculator knows: functions then constants. */
export const CALCULATOR_FUNCTIONS = Object.keys(FUNCTIONS);
export const CALCULATOR_CONSTANTS = ["pi", "e", "tau"];

function roundTo(x: number, digits: number): number {
  if (!Number.isInteger(digits) || digits < 0 || digits > 15) return Number.NaN;
  const f = 10 ** digits;
  // Math.round rounds half up; nudge by the number's own epsilon so 1.005 → 1.01 as written.
  return Math.round(x * f * (1 + Number.EPSILON)) / f;
}

/** Character normalisation; every replacement is one character for one, so positions stay true. */
const SYMBOLS: Record<string, string> = { "×": "*", "·": "*", "∗": "*", "÷": "/", "∕": "/", "−": "-", "–": "-" };

class Parser {
  private i = 0;
  /** One entry per open parenthesis: true when it opened a function's argument list. */
  private readonly parens: boolean[] = [];

  constructor(private readonly src: string) {}

  parse(): ExprNode {
    this.skipSpace();
    if (this.i >= this.src.length) throw new CalculatorError("empty expression", 1, "give an arithmetic expression such as 2 * (3 + 4)");
    const node = this.expr();
    this.skipSpace();
    if (this.i < this.src.length) {
      const c = this.src[this.i];
      if (c === ")") throw new CalculatorError(`unmatched ")"`, this.i + 1);
      throw new CalculatorError(`unexpected "${c}"`, this.i + 1, this.hintFor(c));
    }
    return node;
  }

  private hintFor(c: string): string | undefined {
    if (c === "x" || c === "X") return `use * (or ×) for multiplication, not "${c}"`;
    if (c === ",") return "thousands separators need groups of exactly three digits (1,200); inside a function call a comma separates arguments";
    if (c === "=") return "give only the expression, without = or a result";
    if (/[A-Za-z(]/.test(c)) return "write multiplication explicitly: 2 * (3 + 4), 2 * pi";
    return undefined;
  }

  private ch(): string | undefined {
    const c = this.src[this.i];
    return c === undefined ? undefined : (SYMBOLS[c] ?? c);
  }

  private skipSpace(): void {
    while (this.i < this.src.length && /\s/.test(this.src[this.i])) this.i++;
  }

  /** The operator at the cursor (after spaces), `**` read as `^`; undefined at the end. */
  private peekOp(): { op: string; len: number } | undefined {
    this.skipSpace();
    const c = this.ch();
    if (c === undefined) return undefined;
    if (this.src[this.i] === "*" && this.src[this.i + 1] === "*") {
      return { op: "^", len: 2 };
    }
    return { op: c, len: 1 };
  }

  private expr(): ExprNode {
    let left = this.term();
    for (;;) {
      const p = this.peekOp();
      if (p === undefined || (p.op !== "+" && p.op !== "-")) return left;
      const pos = this.i;
      this.i += p.len;
      left = { kind: "bin", op: p.op, left, right: this.term(), pos };
    }
  }

  private term(): ExprNode {
    let left = this.unary();
    for (;;) {
      const p = this.peekOp();
      if (p === undefined || (p.op !== "*" && p.op !== "/" && p.op !== "%")) return left;
      const pos = this.i;
      this.i += p.len;
      left = { kind: "bin", op: p.op, left, right: this.unary(), pos };
    }
  }

  private unary(): ExprNode {
    const p = this.peekOp();
    if (p !== undefined && (p.op === "-" || p.op === "+") && p.len === 1) {
      const pos = this.i;
      this.i += 1;
      const arg = this.unary();
      return p.op === "-" ? { kind: "neg", arg, pos } : arg;
    }
    return this.power();
  }

  private power(): ExprNode {
    const base = this.primary();
    const p = this.peekOp();
    if (p === undefined || p.op !== "^") return base;
    const pos = this.i;
    this.i += p.len;
    return { kind: "bin", op: "^", left: base, right: this.unary(), pos };
  }

  private primary(): ExprNode {
    this.skipSpace();
    const start = this.i;
    const c = this.ch();
    if (c === undefined) throw new CalculatorError("expression ends too early: expected a number", this.src.length + 1);
    if (c === "(") {
      this.i++;
      this.parens.push(false);
      const inner = this.expr();
      this.expectClose(start);
      this.parens.pop();
      return inner;
    }
    if (/[0-9.]/.test(c)) return this.number();
    if (/[A-Za-zπ]/.test(c)) return this.name();
    if (c === ")") throw new CalculatorError(`unexpected ")": expected a number`, this.i + 1);
    throw new CalculatorError(`unexpected "${this.src[this.i]}"`, this.i + 1, this.hintFor(c));
  }

  private expectClose(openAt: number): void {
    this.skipSpace();
    if (this.ch() === ")") {
      this.i++;
      return;
    }
    if (this.i >= this.src.length) throw new CalculatorError(`"(" is never closed`, openAt + 1, "add the missing )");
    const c = this.src[this.i];
    throw new CalculatorError(`unexpected "${c}", expected ")"`, this.i + 1, this.hintFor(c));
  }

  private number(): ExprNode {
    const start = this.i;
    const s = this.src;
    const digits = () => {
      const from = this.i;
      while (this.i < s.length && s[this.i] >= "0" && s[this.i] <= "9") this.i++;
      return this.i - from;
    };
    let text = "";
    const intDigits = digits();
    text += s.slice(start, this.i);
    // Thousands groups: only outside a function's argument list, 1–3 leading digits, groups of exactly 3.
    const inArgs = this.parens.length > 0 && this.parens[this.parens.length - 1];
    if (!inArgs && intDigits >= 1 && intDigits <= 3) {
      while (s[this.i] === "," && /^[0-9]{3}(?![0-9])/.test(s.slice(this.i + 1, this.i + 5))) {
        text += s.slice(this.i + 1, this.i + 4);
        this.i += 4;
      }
    }
    let fracDigits = 0;
    if (s[this.i] === ".") {
      this.i++;
      const from = this.i;
      fracDigits = digits();
      text += `.${s.slice(from, this.i)}`;
    }
    if (intDigits === 0 && fracDigits === 0) throw new CalculatorError(`"." is not a number`, start + 1);
    if ((s[this.i] === "e" || s[this.i] === "E") && /^[eE][+-]?[0-9]/.test(s.slice(this.i, this.i + 3))) {
      const from = this.i;
      this.i++;
      if (s[this.i] === "+" || s[this.i] === "-") this.i++;
      digits();
      text += s.slice(from, this.i);
    }
    if (s[this.i] === ".") throw new CalculatorError(`unexpected "." in a number`, this.i + 1);
    const value = Number(text);
    // 2e900 reads as Infinity: refuse it here, as every operation refuses a non-finite result
    if (!Number.isFinite(value)) throw new CalculatorError(`the number ${text} is too large`, start + 1, "numbers must stay below about 1.8e308");
    return { kind: "num", value, pos: start };
  }

  private name(): ExprNode {
    const start = this.i;
    while (this.i < this.src.length && /[A-Za-z0-9_π]/.test(this.src[this.i])) this.i++;
    const raw = this.src.slice(start, this.i);
    const name = raw.toLowerCase();
    this.skipSpace();
    if (this.src[this.i] === "(") {
      const f = FUNCTIONS[name];
      if (f === undefined) {
        throw new CalculatorError(`unknown function "${raw}"`, start + 1, `the functions are ${CALCULATOR_FUNCTIONS.join(", ")}`);
      }
      const open = this.i;
      this.i++;
      this.parens.push(true);
      const args: ExprNode[] = [];
      this.skipSpace();
      if (this.src[this.i] !== ")") {
        args.push(this.expr());
        for (;;) {
          this.skipSpace();
          if (this.src[this.i] !== ",") break;
          this.i++;
          args.push(this.expr());
        }
      }
      this.expectClose(open);
      this.parens.pop();
      const [lo, hi] = f.arity;
      if (args.length < lo || args.length > hi) {
        const want = lo === hi ? `${lo}` : hi === Number.POSITIVE_INFINITY ? `at least ${lo}` : `${lo} or ${hi}`;
        throw new CalculatorError(`${name}() takes ${want} argument${want === "1" ? "" : "s"}, got ${args.length}`, start + 1);
      }
      return { kind: "call", name, args, pos: start };
    }
    const value = CONSTANTS[name];
    if (value === undefined) {
      if (FUNCTIONS[name] !== undefined) throw new CalculatorError(`${name} needs parentheses: ${name}(…)`, start + 1);
      throw new CalculatorError(`unknown name "${raw}"`, start + 1, `the constants are ${CALCULATOR_CONSTANTS.join(", ")}; the functions are ${CALCULATOR_FUNCTIONS.join(", ")}`);
    }
    return { kind: "num", value, pos: start };
  }
}

/** Parses an expression into a tree; throws CalculatorError with the position on bad syntax. */
export function parseExpression(expression: string): ExprNode {
  return new Parser(expression).parse();
}

/** Evaluates a parsed tree; division by zero and non-finite intermediate values are CalculatorErrors. */
export function evaluateTree(node: ExprNode): number {
  const check = (v: number, pos: number, what: string): number => {
    if (!Number.isFinite(v)) throw new CalculatorError(`${what} is not a finite number`, pos + 1, "the result is too large or undefined (e.g. sqrt of a negative number)");
    return v;
  };
  switch (node.kind) {
    case "num":
      return node.value;
    case "neg":
      return -evaluateTree(node.arg);
    case "call": {
      const args = node.args.map(evaluateTree);
      if (node.name === "sqrt" && args[0] < 0) throw new CalculatorError("sqrt of a negative number", node.pos + 1);
      if ((node.name === "ln" || node.name === "log") && args[0] <= 0) throw new CalculatorError(`${node.name} of a number that is not positive`, node.pos + 1);
      if (node.name === "round" && args.length === 2 && (!Number.isInteger(args[1]) || args[1] < 0 || args[1] > 15)) {
        throw new CalculatorError("round()'s second argument must be a whole number of digits from 0 to 15", node.pos + 1);
      }
      return check(FUNCTIONS[node.name].fn(...args), node.pos, `${node.name}(…)`);
    }
    case "bin": {
      const a = evaluateTree(node.left);
      const b = evaluateTree(node.right);
      switch (node.op) {
        case "+":
          return check(a + b, node.pos, "the sum");
        case "-":
          return check(a - b, node.pos, "the difference");
        case "*":
          return check(a * b, node.pos, "the product");
        case "/":
          if (b === 0) throw new CalculatorError("division by zero", node.pos + 1, "the divisor evaluates to 0");
          return check(a / b, node.pos, "the quotient");
        case "%":
          if (b === 0) throw new CalculatorError("remainder by zero", node.pos + 1, "the divisor evaluates to 0");
          return check(a % b, node.pos, "the remainder");
        case "^":
          return check(a ** b, node.pos, "the power");
      }
    }
  }
}

/**
 * Rounds away floating-point noise for display: 0.1 + 0.2 → 0.3. Safe integers stay exact;
 * other values keep 15 significant digits (what a double holds reliably).
 */
export function tidyNumber(value: number): number {
  if (Number.isSafeInteger(value)) return value;
  const tidy = Number(value.toPrecision(15));
  return Object.is(tidy, -0) ? 0 : tidy;
}

/** Parses and evaluates `expression`; the result is tidied (see tidyNumber). Throws CalculatorError. */
export function evaluateExpression(expression: string): number {
  return tidyNumber(evaluateTree(parseExpression(expression)));
}
