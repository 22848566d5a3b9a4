import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { apportion, BUILD_CATEGORIES, buildDataset, buildDatasetWithReport, DEFAULT_MIX, dedupKey, normalizeQuery } from "../../src/data/build.js";
import { ungroundedAnswerNumbers } from "../../src/data/grounding.js";
import { Rng } from "../../src/data/random.js";
import { restyleQuery } from "../../src/data/restyle.js";
import { validateTrainingExample } from "../../src/data/schema.js";
import { SEED_TRAJECTORIES } from "../../src/data/seeds.js";
import type { TrainingExample } from "../../src/data/task.js";
import { TEMPLATES } from "../../src/data/templates.js";
import { testTools } from "./tools.js";

const tools = await testTools();
const train = await buildDataset({ samples: 400, seed: 0, tools, format: "mix" });
const evalSet = await buildDataset({ perCategory: 10, seed: 0, split: "eval", tools });

function templateOf(e: TrainingExample): string {
  return (e as TrainingExample & { template?: string }).template ?? "";
}

describe("buildDataset", () => {
  it("is deterministic by seed and differs with another seed", async () => {
    const again = await buildDataset({ samples: 400, seed: 0, tools, format: "mix" });
    assert.deepEqual(again, train);
    const other = await buildDataset({ samples: 400, seed: 1, tools, format: "mix" });
    assert.notDeepEqual(
      other.map((e) => e.query),
      train.map((e) => e.query),
    );
  });

  it("gives exactly the samples asked, each one valid", () => {
    assert.equal(train.length, 400);
    for (const example of train) assert.deepEqual(validateTrainingExample(example), [], `${example.id}: ${example.query}`);
    for (const example of evalSet) assert.deepEqual(validateTrainingExample(example), [], `${example.id}: ${example.query}`);
  });

  it("starts a train build with the ten hand-written seeds", () => {
    assert.deepEqual(
      train.slice(0, 10).map((e) => e.id),
      SEED_TRAJECTORIES.map((e) => e.id),
    );
  });

  it("has no duplicate query for the same tools and format", () => {
    const keys = train.map(dedupKey);
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(new Set(train.map((e) => e.id)).size, train.length);
  });

  it("covers every category, and the function-call format in a mix", () => {
    const categories = new Set(train.map((e) => e.category));
    for (const c of ["single", "chain", "conditional", "arithmetic", "abstention", "missing_tool", "function_call"]) assert.ok(categories.has(c), c);
    const fc = train.filter((e) => e.format === "function_call");
    assert.ok(fc.length > 30 && fc.length < 140, `${fc.length} function-call examples`);
    for (const e of fc) {
      assert.equal(e.messages?.length, 3);
      assert.equal(e.messages?.[2].content, JSON.stringify({ name: e.expected_calls?.[0].name, arguments: e.expected_calls?.[0].arguments }).replace(/":/g, '": ').replace(/,"/g, ', "'));
    }
  });

  it("quotes only observed numbers in every answer (every generated example)", () => {
    let checked = 0;
    for (const example of [...train, ...evalSet]) {
      if (example.steps === undefined) continue;
      assert.deepEqual(ungroundedAnswerNumbers(example.query, example.steps), [], `${example.id}: ${JSON.stringify(example.steps.at(-1))}`);
      checked++;
    }
    assert.ok(checked > 300);
  });

  it("quotes the observed temperature, which changes with the simulator seed", async () => {
    const singles = await buildDataset({ samples: 150, seed: 0, tools, mix: { single: 1 }, includeSeeds: false });
    const weather = singles.filter((e) => templateOf(e) === "single.weather");
    assert.ok(weather.length >= 5);
    const temps = new Set<number>();
    for (const e of weather) {
      const obs = e.steps?.[0].kind === "action" ? (e.steps[0].observation as { temperature: number; unit: string }) : undefined;
      const last = e.steps?.at(-1);
      assert.ok(obs && last?.kind === "answer");
      assert.ok(last.answer.includes(`${obs.temperature}°C`), `${last.answer} vs ${obs.temperature}`);
      assert.ok(e.answer_contains?.includes(String(obs.temperature)));
      temps.add(obs.temperature);
    }
    assert.ok(temps.size > 1);
  });

  it("takes the conditional branch the observation calls for", () => {
    const cold = train.filter((e) => templateOf(e) === "conditional.cold-restaurant");
    let taken = 0;
    let skipped = 0;
    for (const e of cold) {
      const w = e.steps?.[0].kind === "action" ? (e.steps[0].observation as { temperature: number; unit: string }) : undefined;
      assert.ok(w);
      const limit = w.unit === "fahrenheit" ? 59 : 15;
      if (w.temperature < limit) {
        assert.deepEqual(e.expected_tools, ["get_weather", "search_restaurant"]);
        taken++;
      } else {
        assert.deepEqual(e.expected_tools, ["get_weather"]);
        skipped++;
      }
    }
    assert.ok(taken > 0 && skipped > 0, `${taken} taken, ${skipped} skipped`);
  });

  it("a restricted tool list offers every tool a conditional may call, taken or not", () => {
    const restricted = train.filter((e) => e.category === "conditional" && e.tools !== undefined);
    assert.ok(restricted.length > 0);
    for (const e of restricted) {
      const uses = TEMPLATES.find((t) => t.id === templateOf(e))?.uses ?? [];
      assert.ok(uses.length === 2);
      for (const name of uses) assert.ok(e.tools?.includes(name), `${e.id} lacks ${name}`);
    }
  });

  it("uses a chained observation in the next call", () => {
    const chains = train.filter((e) => templateOf(e) === "chain.stock-convert");
    assert.ok(chains.length > 0);
    for (const e of chains) {
      const [first, second] = e.steps ?? [];
      assert.ok(first.kind === "action" && second.kind === "action");
      assert.equal(second.action.arguments.amount, (first.observation as { price: number }).price);
    }
  });

  it("writes abstention answers with no Action, and missing-tool answers that call nothing with the offered tools listed", () => {
    const abst = train.filter((e) => e.category === "abstention");
    const missing = train.filter((e) => e.category === "missing_tool");
    assert.ok(abst.length > 20 && missing.length > 20);
    for (const e of [...abst, ...missing]) {
      assert.deepEqual(e.expected_tools, []);
      assert.equal(e.steps?.length, 1);
      assert.equal(e.steps?.[0].kind, "answer");
      assert.ok(!e.messages?.some((m) => m.role === "assistant" && m.content.includes("Action:")));
    }
    for (const e of missing) {
      assert.ok(Array.isArray(e.tools) && e.tools.length > 0);
      const system = e.messages?.[0].content ?? "";
      for (const name of e.tools) assert.ok(system.includes(`- ${name}(`), name);
      const template = TEMPLATES.find((t) => t.id === templateOf(e));
      for (const withheld of template?.withhold ?? []) {
        assert.ok(!e.tools.includes(withheld));
        assert.ok(!system.includes(`- ${withheld}(`));
      }
    }
  });

  it("splits by template: no eval template or query appears in training", () => {
    const trainTemplates = new Set(train.map(templateOf));
    const trainQueries = new Set(train.map((e) => e.query.toLowerCase()));
    assert.ok(evalSet.length >= 60);
    for (const e of evalSet) {
      assert.ok(templateOf(e).length > 0);
      assert.ok(!trainTemplates.has(templateOf(e)), templateOf(e));
      assert.ok(!trainQueries.has(e.query.toLowerCase()), e.query);
    }
    const evalPhrasings = new Set(TEMPLATES.filter((t) => t.split === "eval").flatMap((t) => t.phrasings));
    for (const t of TEMPLATES.filter((t) => t.split === "train")) {
      for (const p of t.phrasings) if (p !== "{q}") assert.ok(!evalPhrasings.has(p), p);
    }
  });

  it("keeps train phrasings apart from eval ones even after normalising case and punctuation", () => {
    const shape = (p: string) => normalizeQuery(p.replace(/\{\w+\}/g, "_"));
    const evalShapes = new Set(TEMPLATES.filter((t) => t.split === "eval").flatMap((t) => t.phrasings.filter((p) => p !== "{q}").map(shape)));
    for (const t of TEMPLATES.filter((t) => t.split === "train")) {
      for (const p of t.phrasings) assert.ok(!evalShapes.has(shape(p)), `${t.id}: "${p}" is an eval phrasing`);
    }
  });

  it("restyles a share of train queries, never eval ones, and a call's Thought names its tool", async () => {
    const built = await buildDataset({ samples: 300, seed: 4, tools, includeSeeds: false, messages: false });
    const phrasingOf = (e: TrainingExample) => TEMPLATES.find((t) => t.id === templateOf(e))?.phrasings ?? [];
    // A restyled query matches none of its template's phrasings with the slots filled in any way.
    const fits = (query: string, phrasings: readonly string[]) =>
      phrasings.some((p) => new RegExp(`^${p.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{\w+\\?\}/g, ".+")}$`).test(query));
    const restyled = built.filter((e) => !fits(e.query, phrasingOf(e)));
    assert.ok(restyled.length > 300 * 0.15 && restyled.length < 300 * 0.45, `${restyled.length} restyled`);
    for (const e of evalSet) assert.ok(fits(e.query, phrasingOf(e)), e.query);
    for (const e of built) {
      for (const step of e.steps ?? []) if (step.kind === "action") assert.ok(step.thought.includes(step.action.name), step.thought);
    }
    assert.equal((await buildDataset({ samples: 100, seed: 4, tools, includeSeeds: false, messages: false, restyle: 0 })).filter((e) => !fits(e.query, phrasingOf(e))).length, 0);
  });

  it("restyleQuery always changes the text and keeps the request", () => {
    const rng = new Rng(9);
    for (let i = 0; i < 200; i++) {
      const out = restyleQuery("What's the weather in Oslo?", rng);
      assert.notEqual(out, "What's the weather in Oslo?");
      assert.match(out, /weather in Oslo/i);
    }
  });

  it("gives the asked number per category", () => {
    const counts = new Map<string, number>();
    for (const e of evalSet) counts.set(e.category ?? "", (counts.get(e.category ?? "") ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(counts), { single: 10, chain: 10, conditional: 10, arithmetic: 10, abstention: 10, missing_tool: 10 });
  });

  it("gives each category its share of the samples (the seeds counting toward theirs)", async () => {
    const built = await buildDataset({ samples: 500, seed: 0, tools, messages: false });
    const counts: Record<string, number> = {};
    for (const e of built) counts[e.category ?? ""] = (counts[e.category ?? ""] ?? 0) + 1;
    // 500 × DEFAULT_MIX: abstention has fewer distinct queries than most, and still gets its 75.
    assert.deepEqual(counts, { conditional: 85, chain: 90, arithmetic: 65, single: 125, abstention: 75, missing_tool: 60 });
    const mixed = await buildDataset({ samples: 400, seed: 0, tools, format: "mix", functionCallRatio: 0.25, includeSeeds: false, messages: false });
    assert.equal(mixed.filter((e) => e.format === "function_call").length, 100);
    assert.equal(mixed.filter((e) => e.category === "single").length, Math.round(300 * DEFAULT_MIX.single));
    // The function-call format is single-turn calls only: no ReAct seed trajectories in it.
    const calls = await buildDataset({ samples: 50, seed: 0, tools, format: "function_call", messages: false });
    assert.deepEqual([...new Set(calls.map((e) => e.format))], ["function_call"]);
  });

  it("gives up a category whose draws keep repeating, and fills its place with the others", async () => {
    // 600 abstention examples are more than the abstention templates can phrase distinctly
    // (without restyling, which would give every question many surfaces).
    const report = await buildDatasetWithReport({ samples: 800, seed: 2, tools, mix: { abstention: 3, single: 1 }, includeSeeds: false, messages: false, restyle: 0 });
    assert.equal(report.examples.length, 800);
    const abstention = report.examples.filter((e) => e.category === "abstention").length;
    assert.ok(abstention > 40 && abstention < 600, `${abstention} abstention examples`);
    assert.equal(report.examples.filter((e) => e.category === "single").length, 800 - abstention);
    assert.ok(report.duplicates >= 200);
  });

  it("apportion splits a whole number in proportion, by largest remainder", () => {
    assert.deepEqual(Object.fromEntries(apportion(10, [["a", 1], ["b", 1], ["c", 1]])), { a: 4, b: 3, c: 3 });
    assert.deepEqual(Object.fromEntries(apportion(500, BUILD_CATEGORIES.map((c) => [c, DEFAULT_MIX[c]]))), { single: 125, chain: 90, conditional: 85, arithmetic: 65, abstention: 75, missing_tool: 60 });
    assert.deepEqual(Object.fromEntries(apportion(7, [["a", 0.5], ["b", 0.3], ["c", 0.2]])), { a: 4, b: 2, c: 1 });
    assert.deepEqual(Object.fromEntries(apportion(0, [["a", 1]])), { a: 0 });
  });

  it("splits money to the cent: a convert-and-split answer quotes a two-decimal share the calculator returned", () => {
    const splits = [...train, ...evalSet].filter((e) => templateOf(e).startsWith("arithmetic.convert-split"));
    assert.ok(splits.length >= 5);
    for (const e of splits) {
      const calc = e.steps?.[1];
      assert.ok(calc?.kind === "action" && calc.action.name === "calculator");
      assert.match(String(calc.action.arguments.expression), /^round\([\d.]+ \/ \d+, 2\)$/);
      const share = (calc.observation as { result: number }).result;
      assert.equal(share, Math.round(share * 100) / 100);
      assert.deepEqual(e.answer_contains, [String(share)]);
    }
  });

  it("reports duplicates and fails clearly when too few distinct tasks exist", async () => {
    const report = await buildDatasetWithReport({ samples: 60, seed: 3, tools, mix: { abstention: 1 }, includeSeeds: false, restyle: 0 });
    assert.equal(report.examples.length, 60);
    assert.ok(report.duplicates > 0);
    await assert.rejects(buildDataset({ samples: 300, seed: 3, tools, mix: { abstention: 1 }, restyle: 0 }), (error: Error) => {
      assert.equal(error.name, "InvalidInputError");
      assert.match(error.message, /only \d+ distinct examples could be drawn of the 300 asked/);
      return true;
    });
  });
});
