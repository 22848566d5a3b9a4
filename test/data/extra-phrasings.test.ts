import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dataShapeOptions } from "../../src/cli/data-build.js";
import { buildDataset, normalizeQuery } from "../../src/data/build.js";
import { EXTRA_PHRASINGS } from "../../src/data/extra-phrasings.js";
import { THIRD_PHRASINGS } from "../../src/data/third-phrasings.js";
import { Rng } from "../../src/data/random.js";
import type { TrainingExample } from "../../src/data/task.js";
import { fillPhrasing } from "../../src/data/template.js";
import type { TaskTemplate } from "../../src/data/template.js";
import { TEMPLATES } from "../../src/data/templates.js";
import { testTools } from "./tools.js";

const tools = await testTools();
const trainTemplates = TEMPLATES.filter((t) => t.split === "train");
const evalPhrasings = TEMPLATES.filter((t) => t.split === "eval").flatMap((t) => t.phrasings);

/** A phrasing's shape: placeholders as "_", normalised as the split checks compare queries. */
const shape = (p: string) => normalizeQuery(p.replace(/\{\w+\}/g, "_"));
/** Lower-cased words, a placeholder counting as one token. */
const tokens = (p: string) => new Set(p.toLowerCase().match(/\{\w+\}|[\p{L}\p{N}']+/gu) ?? []);
function jaccard(a: Set<string>, b: Set<string>): number {
  const shared = [...a].filter((t) => b.has(t)).length;
  return shared / (a.size + b.size - shared);
}
/** Whether a query is some filling of a phrasing. */
const fits = (query: string, phrasing: string) => new RegExp(`^${phrasing.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{\w+\\?\}/g, ".+")}$`).test(query);
const templateOf = (e: TrainingExample) => (e as TrainingExample & { template?: string }).template ?? "";

describe("extra phrasings (morePhrasings)", () => {
  it("every train template has at least 8, each filled completely by the template's slots; eval templates have none", () => {
    for (const t of trainTemplates) {
      const extra = t.extraPhrasings ?? [];
      assert.ok(extra.length >= 8, `${t.id}: ${extra.length} extra phrasings`);
      assert.equal(new Set(extra).size, extra.length, `${t.id}: a repeated extra phrasing`);
      for (let seed = 0; seed < 6; seed++) {
        const slots = t.slots(new Rng(seed));
        for (const p of extra) assert.doesNotMatch(fillPhrasing(p, slots), /\{\w*\}/, `${t.id}: "${p}" keeps a placeholder`);
      }
    }
    for (const t of TEMPLATES.filter((t) => t.split === "eval")) assert.equal(t.extraPhrasings, undefined, t.id);
    const trainIds = new Set(trainTemplates.map((t) => t.id));
    for (const id of Object.keys(EXTRA_PHRASINGS)) assert.ok(trainIds.has(id), `EXTRA_PHRASINGS names "${id}", no train template`);
  });

  it("no extra or third-set phrasing has an eval phrasing's shape or nearly copies one (token Jaccard < 0.7)", () => {
    const evalShapes = new Set(evalPhrasings.map(shape));
    const evalTokens = evalPhrasings.map((p) => ({ p, set: tokens(p) }));
    for (const t of trainTemplates) {
      for (const p of [...(t.extraPhrasings ?? []), ...(t.thirdPhrasings ?? [])]) {
        assert.ok(!evalShapes.has(shape(p)), `${t.id}: "${p}" has an eval phrasing's shape`);
        const own = tokens(p);
        for (const e of evalTokens) {
          const j = jaccard(own, e.set);
          assert.ok(j < 0.7, `${t.id}: "${p}" is close to the eval phrasing "${e.p}" (Jaccard ${j.toFixed(2)})`);
        }
      }
    }
  });

  it("morePhrasings draws train queries from the extra set too, and none equals an eval query", async () => {
    const built = await buildDataset({ samples: 300, seed: 3, tools, restyle: 0, includeSeeds: false, messages: false, morePhrasings: true });
    const byId = new Map(TEMPLATES.map((t) => [t.id, t]));
    const fromExtra = built.filter((e) => {
      const t = byId.get(templateOf(e));
      return t !== undefined && !t.phrasings.some((p) => fits(e.query, p)) && (t.extraPhrasings ?? []).some((p) => fits(e.query, p));
    });
    assert.ok(fromExtra.length > 300 * 0.2, `${fromExtra.length} of 300 queries from the extra phrasings`);
    const evalQueries = new Set((await buildDataset({ perCategory: 10, seed: 0, split: "eval", tools, messages: false })).map((e) => normalizeQuery(e.query)));
    for (const e of built) assert.ok(!evalQueries.has(normalizeQuery(e.query)), e.query);
  });

  it("leaves the default build and every eval build as they were", async () => {
    const options = { samples: 150, seed: 2, tools, format: "mix" as const };
    assert.deepEqual(await buildDataset({ ...options, morePhrasings: false }), await buildDataset(options));
    assert.notDeepEqual(await buildDataset({ ...options, morePhrasings: true }), await buildDataset(options));
    const evalOptions = { perCategory: 5, seed: 1, split: "eval" as const, tools };
    assert.deepEqual(await buildDataset({ ...evalOptions, morePhrasings: true }), await buildDataset(evalOptions));
  });

  it("--more-phrasings sets the option; without it the option is left out", () => {
    assert.deepEqual(dataShapeOptions({ "more-phrasings": true }), { morePhrasings: true });
    assert.deepEqual(dataShapeOptions({}), {});
  });
});

describe("third phrasings (thirdPhrasings)", () => {
  const third = (t: TaskTemplate) => t.thirdPhrasings ?? [];

  it("every train template has at least 8, new to it, each filled completely by its slots; eval templates have none", () => {
    for (const t of trainTemplates) {
      assert.ok(third(t).length >= 8, `${t.id}: ${third(t).length} third-set phrasings`);
      assert.equal(new Set(third(t)).size, third(t).length, `${t.id}: a repeated third-set phrasing`);
      const earlier = new Set([...t.phrasings, ...(t.extraPhrasings ?? [])].map(shape));
      for (const p of third(t)) assert.ok(!earlier.has(shape(p)), `${t.id}: "${p}" repeats a phrasing of the first two sets`);
      for (let seed = 0; seed < 6; seed++) {
        const slots = t.slots(new Rng(seed));
        for (const p of third(t)) assert.doesNotMatch(fillPhrasing(p, slots), /\{\w*\}/, `${t.id}: "${p}" keeps a placeholder`);
      }
    }
    for (const t of TEMPLATES.filter((t) => t.split === "eval")) assert.equal(t.thirdPhrasings, undefined, t.id);
    const trainIds = new Set(trainTemplates.map((t) => t.id));
    for (const id of Object.keys(THIRD_PHRASINGS)) assert.ok(trainIds.has(id), `THIRD_PHRASINGS names "${id}", no train template`);
  });

  it("thirdPhrasings draws train queries from the third set too, with or without morePhrasings, and none equals an eval query", async () => {
    const byId = new Map(TEMPLATES.map((t) => [t.id, t]));
    const evalQueries = new Set((await buildDataset({ perCategory: 10, seed: 0, split: "eval", tools, messages: false })).map((e) => normalizeQuery(e.query)));
    for (const morePhrasings of [false, true]) {
      const built = await buildDataset({ samples: 300, seed: 4, tools, restyle: 0, includeSeeds: false, messages: false, thirdPhrasings: true, morePhrasings });
      const fromThird = built.filter((e) => {
        const t = byId.get(templateOf(e));
        const before = [...(t?.phrasings ?? []), ...(t?.extraPhrasings ?? [])];
        return t !== undefined && !before.some((p) => fits(e.query, p)) && third(t).some((p) => fits(e.query, p));
      });
      // a third of a template's phrasings or less come from the set, so well over a tenth of draws
      assert.ok(fromThird.length > 300 * 0.1, `${fromThird.length} of 300 queries from the third set (morePhrasings ${morePhrasings})`);
      for (const e of built) assert.ok(!evalQueries.has(normalizeQuery(e.query)), e.query);
    }
  });

  it("leaves the default build, the morePhrasings build and every eval build as they were", async () => {
    const options = { samples: 150, seed: 2, tools, format: "mix" as const };
    assert.deepEqual(await buildDataset({ ...options, thirdPhrasings: false }), await buildDataset(options));
    assert.deepEqual(await buildDataset({ ...options, morePhrasings: true, thirdPhrasings: false }), await buildDataset({ ...options, morePhrasings: true }));
    assert.notDeepEqual(await buildDataset({ ...options, thirdPhrasings: true }), await buildDataset(options));
    const evalOptions = { perCategory: 5, seed: 1, split: "eval" as const, tools };
    assert.deepEqual(await buildDataset({ ...evalOptions, thirdPhrasings: true }), await buildDataset(evalOptions));
  });

  it("--third-phrasings sets the option", () => {
    assert.deepEqual(dataShapeOptions({ "third-phrasings": true }), { thirdPhrasings: true });
    assert.deepEqual(dataShapeOptions({ "more-phrasings": true, "third-phrasings": true }), { morePhrasings: true, thirdPhrasings: true });
  });
});
