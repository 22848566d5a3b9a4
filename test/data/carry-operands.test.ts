import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dataShapeOptions } from "../../src/cli/data-build.js";
import { buildDataset } from "../../src/data/build.js";
import type { TrainingExample } from "../../src/data/task.js";
import { testTools } from "./tools.js";

const tools = await testTools();
const templateOf = (e: TrainingExample) => (e as TrainingExample & { template?: string }).template ?? "";
/** The number the trajectory's calculator call divides or multiplies by: the expression's last operand. */
const operandOf = (e: TrainingExample) => {
  const calc = e.steps?.find((s) => s.kind === "action" && s.action.name === "calculator");
  const expression = calc?.kind === "action" ? String(calc.action.arguments.expression) : "";
  return /[*/]\s*([0-9.]+)\)?(?:,\s*2\))?$/.exec(expression)?.[1];
};

describe("the carried operand (carryOperands)", () => {
  const options = { samples: 400, seed: 5, tools, mix: { arithmetic: 1, single: 1 } };

  it("ends the first Thought of a bill split and a share total with the number the calculator uses, and changes nothing else", async () => {
    const plain = await buildDataset(options);
    const carried = await buildDataset({ ...options, carryOperands: true });
    assert.equal(carried.length, plain.length);
    let changed = 0;
    for (const [i, e] of carried.entries()) {
      const p = plain[i]!;
      assert.equal(e.query, p.query, "the same draws");
      const template = templateOf(e);
      const verb = template === "arithmetic.convert-split" ? "divide" : template === "arithmetic.shares-cost" ? "multiply" : undefined;
      if (verb === undefined) {
        assert.deepEqual(e, p, `${template}: unchanged`);
        continue;
      }
      changed++;
      const n = operandOf(e);
      assert.ok(n !== undefined, `${template}: a calculator call by a number`);
      const sentence = `Then I'll ${verb} it by ${n}.`;
      assert.equal(e.steps?.[0]?.thought, `${p.steps?.[0]?.thought} ${sentence}`);
      assert.deepEqual(e.steps?.slice(1), p.steps?.slice(1), "later steps as they were");
      assert.ok(e.messages?.some((m) => m.role === "assistant" && m.content.includes(sentence)), "the rendered first reply has it");
    }
    assert.ok(changed > 20, `${changed} bill splits and share totals`);
  });

  it("leaves the default build as it was, and --carry-operands sets the option", async () => {
    const small = { samples: 120, seed: 1, tools };
    assert.deepEqual(await buildDataset({ ...small, carryOperands: false }), await buildDataset(small));
    assert.deepEqual(dataShapeOptions({ "carry-operands": true }), { carryOperands: true });
  });
});
