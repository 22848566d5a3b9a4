import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CalculatorError, evaluateExpression, evaluateTree, parseExpression } from "../../src/tools/calculator.js";

function errorOf(expression: string): CalculatorError {
  try {
    evaluateExpression(expression);
  } catch (error) {
    assert.ok(error instanceof CalculatorError, `expected a CalculatorError, got ${String(error)}`);
    return error;
  }
  assert.fail(`"${expression}" evaluated without an error`);
}

describe("calculator: arithmetic", () => {
  it("multiplication binds tighter than addition", () => {
    assert.equal(evaluateExpression("1 + 2 * 3"), 7);
    assert.equal(evaluateExpression("(1 + 2) * 3"), 9);
    assert.equal(evaluateExpression("10 - 4 - 3"), 3);
    assert.equal(evaluateExpression("100 / 10 / 5"), 2);
  });
  it("^ is right-associative and binds tighter than unary minus", () => {
    assert.equal(evaluateExpression("2^3^2"), 512);
    assert.equal(evaluateExpression("-2^2"), -4);
    assert.equal(evaluateExpression("(-2)^2"), 4);
    assert.equal(evaluateExpression("2^-1"), 0.5);
    assert.equal(evaluateExpression("2 ** 10"), 1024);
  });
  it("reads decimals, exponent notation and unary signs", () => {
    assert.equal(evaluateExpression("1.5e3 / 3"), 500);
    assert.equal(evaluateExpression(".5 + 2.25"), 2.75);
    assert.equal(evaluateExpression("- -3"), 3);
    assert.equal(evaluateExpression("2 * -3"), -6);
    assert.equal(evaluateExpression("+4"), 4);
  });
  it("% is the remainder", () => {
    assert.equal(evaluateExpression("17 % 5"), 2);
    assert.equal(evaluateExpression("2 + 17 % 5 * 2"), 6);
  });
  it("knows the functions and constants", () => {
    assert.equal(evaluateExpression("sqrt(16) + abs(-3)"), 7);
    assert.equal(evaluateExpression("round(2.5) + floor(2.7) + ceil(2.1)"), 8);
    assert.equal(evaluateExpression("round(3.14159, 2)"), 3.14);
    assert.equal(evaluateExpression("min(4, 2, 8) * max(1, 5)"), 10);
    assert.equal(evaluateExpression("round(pi * 100)"), 314);
    assert.equal(evaluateExpression("round(e * 1000)"), 2718);
    assert.equal(evaluateExpression("SQRT(9)"), 3);
  });
  it("tidies floating-point noise", () => {
    assert.equal(evaluateExpression("0.1 + 0.2"), 0.3);
    assert.equal(evaluateExpression("1.1 * 3"), 3.3);
  });
  it("accepts ×, ÷ and the minus sign models write", () => {
    assert.equal(evaluateExpression("6 ÷ 4 × 2"), 3);
    assert.equal(evaluateExpression("10 − 4"), 6);
  });
  it("reads thousands separators outside function arguments", () => {
    assert.equal(evaluateExpression("1,200 * 3"), 3600);
    assert.equal(evaluateExpression("12,345,678.5 - 0.5"), 12345678);
    assert.equal(evaluateExpression("max(1,200)"), 200);
    assert.equal(evaluateExpression("(1,200 + 800) / 2"), 1000);
  });
});

describe("calculator: errors name the position", () => {
  it("division by zero is an error at the operator", () => {
    const e = errorOf("5 / (3 - 3)");
    assert.equal(e.position, 3);
    assert.match(e.message, /division by zero at position 3/);
  });
  it("x is not multiplication", () => {
    const e = errorOf("2 x 3");
    assert.equal(e.position, 3);
    assert.match(e.hint ?? "", /use \*/);
  });
  it("an unclosed parenthesis points at the parenthesis", () => {
    assert.equal(errorOf("2 * (3 + 4").position, 5);
  });
  it("a dangling operator points past the end", () => {
    const e = errorOf("1 +");
    assert.equal(e.position, 4);
    assert.match(e.message, /ends too early/);
  });
  it("unknown names and functions are errors", () => {
    assert.match(errorOf("foo(2)").message, /unknown function "foo" at position 1/);
    assert.match(errorOf("3 * apples").message, /unknown name "apples" at position 5/);
    assert.match(errorOf("sqrt 4").message, /sqrt needs parentheses/);
  });
  it("a comma that is not a thousands separator is an error", () => {
    assert.equal(errorOf("1,20").position, 2);
  });
  it("implicit multiplication is an error", () => {
    assert.equal(errorOf("2(3)").position, 2);
  });
  it("non-finite results are errors", () => {
    assert.match(errorOf("10^400").message, /not a finite number/);
    assert.match(errorOf("sqrt(-4)").message, /sqrt of a negative number/);
    assert.match(errorOf("5 % 0").message, /remainder by zero/);
  });
  it("a number too large for a double is an error at the number, not Infinity", () => {
    const e = errorOf("1 + 2E900");
    assert.match(e.message, /the number 2E900 is too large at position 5/);
    assert.equal(e.position, 5);
    assert.equal(evaluateExpression("1e308"), 1e308);
  });
  it("arity is checked", () => {
    assert.match(errorOf("sqrt(1, 2)").message, /sqrt\(\) takes 1 argument, got 2/);
  });
  it("an empty expression is an error", () => {
    assert.match(errorOf("   ").message, /empty expression/);
  });
});

// An independent evaluator over generated trees: the parser must give the same number for the tree's minimal-parenthesis rendering.
type Tree = { t: "num"; v: number } | { t: "neg"; a: Tree } | { t: "bin"; op: "+" | "-" | "*" | "/" | "^"; l: Tree; r: Tree };

const PREC = { "+": 1, "-": 1, "*": 2, "/": 2, neg: 3, "^": 4, num: 5 } as const;
const precOf = (tree: Tree): number => (tree.t === "num" ? PREC.num : tree.t === "neg" ? PREC.neg : PREC[tree.op]);

function render(tree: Tree): string {
  const wrap = (s: string, yes: boolean) => (yes ? `(${s})` : s);
  if (tree.t === "num") return String(tree.v);
  if (tree.t === "neg") return `-${wrap(render(tree.a), precOf(tree.a) < PREC.neg)}`;
  const p = PREC[tree.op];
  if (tree.op === "^") return `${wrap(render(tree.l), precOf(tree.l) <= p)} ^ ${wrap(render(tree.r), precOf(tree.r) < PREC.neg)}`;
  // Left-associative: equal precedence on the right keeps its parentheses (float sums are not associative).
  return `${wrap(render(tree.l), precOf(tree.l) < p)} ${tree.op} ${wrap(render(tree.r), precOf(tree.r) <= p)}`;
}

class Undefined extends Error {}
function reference(tree: Tree): number {
  const finite = (v: number) => {
    if (!Number.isFinite(v)) throw new Undefined();
    return v;
  };
  if (tree.t === "num") return tree.v;
  if (tree.t === "neg") return -reference(tree.a);
  const a = reference(tree.l);
  const b = reference(tree.r);
  if (tree.op === "+") return finite(a + b);
  if (tree.op === "-") return finite(a - b);
  if (tree.op === "*") return finite(a * b);
  if (b === 0 && tree.op === "/") throw new Undefined();
  if (tree.op === "/") return finite(a / b);
  return finite(a ** b);
}

const leaf = fc.oneof(
  fc.integer({ min: 0, max: 1000 }),
  fc.integer({ min: 0, max: 10000 }).map((n) => n / 100),
  fc.double({ min: 0, max: 1e6, noNaN: true, noDefaultInfinity: true }),
).map((v): Tree => ({ t: "num", v }));
const treeArb: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    tie("tree").map((a): Tree => ({ t: "neg", a })),
    fc.record({ op: fc.constantFrom("+", "-", "*", "/", "^"), l: tie("tree"), r: tie("tree") }).map((n): Tree => ({ t: "bin", op: n.op as "+", l: n.l, r: n.r })),
  ),
})).tree;

describe("calculator: property tests", () => {
  it("evaluates generated expression trees like an independent evaluator", () => {
    fc.assert(
      fc.property(treeArb, (tree) => {
        const text = render(tree);
        let expected: number | undefined;
        try {
          expected = reference(tree);
        } catch (error) {
          if (!(error instanceof Undefined)) throw error;
        }
        if (expected === undefined) {
          assert.throws(() => evaluateTree(parseExpression(text)), CalculatorError, text);
        } else {
          assert.equal(evaluateTree(parseExpression(text)), expected, text);
        }
      }),
      { numRuns: 2000 },
    );
  });
  it("never throws anything but a CalculatorError on arbitrary text", () => {
    const alphabet = fc.constantFrom(..."0123456789+-*/%^()., eE×÷xpisqrtabminx".split(""));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(alphabet, { maxLength: 30 }).map((a) => a.join(""))), (text) => {
        try {
          const v = evaluateExpression(text);
          assert.ok(Number.isFinite(v));
        } catch (error) {
          assert.ok(error instanceof CalculatorError, `${JSON.stringify(text)}: ${String(error)}`);
          assert.ok(error.position >= 1 && error.position <= text.length + 1, `position ${error.position} for ${JSON.stringify(text)}`);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
