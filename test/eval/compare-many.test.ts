import assert from "node:assert/strict";
import { test } from "node:test";
import { ScriptedModel } from "../../src/agent/scripted-model.js";
import { compareMany } from "../../src/eval/compare-many.js";
import { evaluate } from "../../src/eval/runner.js";
import { competentModel, tasks, testTools } from "./fixtures.js";

const lazy = () => new ScriptedModel({ id: "lazy", script: () => "Thought: easy.\nAnswer: Paris | maybe" });
const broken = () => new ScriptedModel({ id: "broken", script: () => "Action: {not json" });

test("many evaluations make one table: a row a run, the categories, the failures", async () => {
  const runs = await Promise.all([
    evaluate({ model: lazy(), tasks, tools: testTools }),
    evaluate({ model: competentModel("good"), tasks, tools: testTools }),
    evaluate({ model: broken(), tasks, tools: testTools, maxSteps: 2 }),
  ]);
  const md = compareMany(runs, { labels: ["lazy", "good", "broken"], title: "Three runs" });
  assert.match(md, /^# Three runs$/m);
  assert.match(md, /\| Run \| Tool selection \| Exact tool match \| Argument match/);
  assert.match(md, /\| lazy \| 0\/2 \(0\.0 %\) \| 0\/2 \(0\.0 %\) \|/);
  assert.match(md, /\| good \| 2\/2 \(100\.0 %\) \| 2\/2 \(100\.0 %\) \|/);
  // abstention is scored by abstention, the call categories by tool selection
  assert.match(md, /abstention \(abstention\)/);
  assert.match(md, /conditional \(tool selection\)/);
  assert.match(md, /\| broken \| 3\/3 \| 0\/3 \| 0\/3 \|/, "three malformed runs, nothing else");
  assert.doesNotMatch(md, /Mean over runs/, "no shared labels, no means");
  assert.doesNotMatch(md, /other tasks/);
});

test("runs sharing a label are averaged with their spread, and a differing task set is noted", async () => {
  const good = await evaluate({ model: competentModel("good"), tasks, tools: testTools });
  const lazyRun = await evaluate({ model: lazy(), tasks, tools: testTools });
  const fewer = await evaluate({ model: competentModel("good"), tasks: tasks.slice(0, 2), tools: testTools });
  const md = compareMany([good, lazyRun, fewer], { labels: ["setting@s0", "setting@s1", "other"] });
  assert.match(md, /\| setting \(s0\) \| 2\/2 \(100\.0 %\) \|/);
  assert.match(md, /\| setting \(s1\) \| 0\/2 \(0\.0 %\) \|/);
  // tool selection: 100 % and 0 % → mean 50, sample std √((50² + 50²) / 1) = 70.7
  assert.match(md, /\| setting \(2 runs\) \| 50\.0 ± 70\.7 \(0\.0–100\.0\) \|/);
  assert.match(md, /\| other \(1 run\) \| 100\.0 \|/);
  assert.match(md, /Note: other ran other tasks than setting/);
  assert.throws(() => compareMany([good], { labels: ["a", "b"] }), /2 labels for 1 results/);
});

test("the ± is the sample standard deviation (n − 1), as in scaling.json", async () => {
  const good = await evaluate({ model: competentModel("good"), tasks, tools: testTools });
  const lazyRun = await evaluate({ model: lazy(), tasks, tools: testTools });
  const md = compareMany([good, lazyRun, lazyRun], { labels: ["s@0", "s@1", "s@2"] });
  // tool selection 100, 0, 0 %: mean 33.3; squared deviations 66.7² + 33.3² + 33.3² = 6666.7;
  // ÷ (3 − 1) = 3333.3, √ = 57.7 (÷ 3 would give 47.1)
  assert.match(md, /\| s \(3 runs\) \| 33\.3 ± 57\.7 \(0\.0–100\.0\) \|/);
  assert.match(md, /mean ± sample standard deviation \(n − 1\)/);
});

test("the tasks missed in the most runs are listed with what those runs did", async () => {
  const good = await evaluate({ model: competentModel("good"), tasks, tools: testTools });
  const lazyRun = await evaluate({ model: lazy(), tasks, tools: testTools });
  const md = compareMany([lazyRun, good, lazyRun], { labels: ["s@0", "s@1", "s@2"] });
  const section = md.slice(md.indexOf("## Tasks missed most often"));
  assert.ok(md.includes("## Tasks missed most often"));
  // the lazy runs answer without a call: both tool tasks missed twice in three, the fact question never
  assert.match(section, /\| weather-oslo \| .* \| get_weather \| 2\/3 \| no call \(answered\) ×2 \|/);
  assert.match(section, /\| weather-ramen \| .* \| 2\/3 \| no call \(answered\) ×2 \|/);
  assert.doesNotMatch(section, /\| capital \|/, "a task no run missed is left out");
  assert.doesNotMatch(compareMany([good, good], { labels: ["a", "b"] }), /Tasks missed most often/, "nothing missed, no section");
  assert.doesNotMatch(compareMany([lazyRun]), /Tasks missed most often/, "one run: its own report lists its misses");
});
