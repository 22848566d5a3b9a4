import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dataShapeOptions } from "../../src/cli/data-build.js";
import { buildDataset } from "../../src/data/build.js";
import { DeckRng, Rng } from "../../src/data/random.js";
import { COMPANIES } from "../../src/data/slots.js";
import type { TrainingExample } from "../../src/data/task.js";
import { testTools } from "./tools.js";

const tools = await testTools();
/** The companies a query could name instead of the ticker (IBM and AMD are their own). */
const nameable = COMPANIES.filter((c) => c.name !== c.symbol);

/** Companies never asked for by name in an example that calls get_stock_price with their ticker. */
function neverNamed(examples: TrainingExample[]): string[] {
  return nameable
    .filter(
      (c) =>
        !examples.some(
          (e) =>
            e.query.toLowerCase().includes(c.name.toLowerCase()) &&
            (e.messages ?? []).some((m) => m.role === "assistant" && m.content.includes(`"name": "get_stock_price", "arguments": {"symbol": "${c.symbol}"}`)),
        ),
    )
    .map((c) => c.name);
}

describe("every company by name (everyCompany)", () => {
  it("DeckRng deals its lists once a round, each round a new order, and draws other lists as Rng does", () => {
    const list = ["a", "b", "c", "d", "e", "f", "g"];
    const deal = (seed: number) => {
      const rng = new DeckRng(seed, [list]);
      return Array.from({ length: 3 * list.length }, () => rng.pick(list));
    };
    const dealt = deal(5);
    const rounds = [0, 1, 2].map((r) => dealt.slice(r * list.length, (r + 1) * list.length));
    for (const round of rounds) assert.deepEqual([...round].sort(), list, `a round deals each once: ${round.join("")}`);
    assert.notDeepEqual(rounds[0], rounds[1], "the deck is shuffled again between rounds");
    assert.deepEqual(deal(5), dealt, "the same seed deals the same");
    const [plain, decked] = [new Rng(9), new DeckRng(9, [list])];
    const other = ["x", "y", "z"];
    assert.deepEqual(
      Array.from({ length: 20 }, () => decked.pick(other)),
      Array.from({ length: 20 }, () => plain.pick(other)),
      "a list it does not deal is an ordinary draw",
    );
    assert.throws(() => new DeckRng(0, [[]]).pick([]), RangeError);
  });

  it("at 250 samples every company is asked for by name, where plain draws leave some out", async () => {
    for (const morePhrasings of [false, true]) {
      for (const seed of [0, 1, 2]) {
        const examples = await buildDataset({ tools, samples: 250, seed, morePhrasings, everyCompany: true });
        assert.deepEqual(neverNamed(examples), [], `seed ${seed}, morePhrasings ${morePhrasings}`);
      }
    }
    const plain = neverNamed(await buildDataset({ tools, samples: 250, seed: 2 }));
    assert.ok(plain.length >= 2, `plain draws, seed 2, never named: ${plain.join(", ")}`);
  });

  it("is the same build twice for a seed, and leaves the eval split alone", async () => {
    const a = await buildDataset({ tools, samples: 60, seed: 3, everyCompany: true });
    assert.deepEqual(await buildDataset({ tools, samples: 60, seed: 3, everyCompany: true }), a);
    const evalPlain = await buildDataset({ tools, samples: 40, seed: 3, split: "eval" });
    assert.deepEqual(await buildDataset({ tools, samples: 40, seed: 3, split: "eval", everyCompany: true }), evalPlain);
  });

  it("--every-company sets the option; without it the option is left out", () => {
    assert.deepEqual(dataShapeOptions({ "every-company": true }), { everyCompany: true });
    assert.deepEqual(dataShapeOptions({}), {});
  });
});
