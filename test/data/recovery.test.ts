import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ChatMessage } from "../../src/agent/chat-model.js";
import { runAgent } from "../../src/agent/run-agent.js";
import { ScriptedModel } from "../../src/agent/scripted-model.js";
import { parseFlags } from "../../src/cli/command.js";
import { createDataBuildCommand, dataShapeOptions } from "../../src/cli/data-build.js";
import { type BuildOptions, buildDataset } from "../../src/data/build.js";
import { candidateMistakes, checkedMistakes, withRecovery } from "../../src/data/recovery.js";
import { validateTrainingExample } from "../../src/data/schema.js";
import type { TrainingExample } from "../../src/data/task.js";
import { parseMessages } from "../../src/react/parse.js";
import type { ReActStep } from "../../src/react/types.js";
import type { ToolCall } from "../../src/tools/types.js";
import { chatmlTemplate, tokenizeMessages } from "../../src/train/tokenize.js";
import { byteTokenize } from "../train/fake-model.js";
import { testTools } from "./tools.js";

const tools = await testTools();
const schema = (name: string) => tools.list().find((t) => t.name === name)?.parameters;

const stock: ToolCall = { name: "get_stock_price", arguments: { symbol: "NVDA" } };
const currency: ToolCall = { name: "convert_currency", arguments: { amount: 750, from: "SGD", to: "MXN" } };
const event: ToolCall = { name: "create_calendar_event", arguments: { title: "Dentist", date: "2025-03-14", time: "09:30" } };

/** The recovery trajectories of a build: those with a weight-0 reply. */
const recoveredOf = (examples: readonly TrainingExample[]) => examples.filter((e) => e.messages?.some((m) => m.weight === 0));

/**
 * Whether an example's first call can be made wrong, as the option's doc states it (written out
 * here, not taken from the code it checks): a get_stock_price ticker whose company name differs,
 * convert_currency with from and to, or another tool with at least two required arguments given.
 */
function eligible(example: TrainingExample): boolean {
  if (example.format === "function_call") return false;
  const first = example.steps?.find((s) => s.kind === "action");
  if (first === undefined || first.kind !== "action") return false;
  const args = first.action.arguments;
  if (first.action.name === "get_stock_price") return ["AAPL", "MSFT", "NVDA", "TSLA", "GOOGL", "AMZN", "META", "NFLX", "INTC", "ORCL", "DIS", "KO", "NKE", "JPM", "WMT", "BA"].includes(String(args.symbol));
  if (first.action.name === "convert_currency") return "from" in args && "to" in args;
  const required = (schema(first.action.name)?.required ?? []) as string[];
  return required.filter((k) => k in args).length >= 2;
}

describe("recovery trajectories", () => {
  it("the three mistakes: a company name for the ticker, from_currency/to_currency, a required argument left out", () => {
    assert.deepEqual(candidateMistakes(stock, schema("get_stock_price")), [
      { kind: "company_name", call: { name: "get_stock_price", arguments: { symbol: "Nvidia" } }, correction: "The symbol must be a ticker: Nvidia is NVDA." },
    ]);
    assert.deepEqual(candidateMistakes(currency, schema("convert_currency")), [
      { kind: "currency_keys", call: { name: "convert_currency", arguments: { amount: 750, from_currency: "SGD", to_currency: "MXN" } }, correction: "convert_currency takes amount, from and to." },
    ]);
    assert.deepEqual(
      candidateMistakes(event, schema("create_calendar_event")).map((m) => [JSON.stringify(m.call.arguments), m.correction]),
      [
        ['{"date":"2025-03-14","time":"09:30"}', "I left out title."],
        ['{"title":"Dentist","time":"09:30"}', "I left out date."],
        ['{"title":"Dentist","date":"2025-03-14"}', "I left out time."],
      ],
    );
  });

  it("no mistake for a ticker that is its company's name, or a tool with one required argument", () => {
    assert.deepEqual(candidateMistakes({ name: "get_stock_price", arguments: { symbol: "IBM" } }, schema("get_stock_price")), []);
    assert.deepEqual(candidateMistakes({ name: "get_weather", arguments: { city: "Oslo", unit: "celsius" } }, schema("get_weather")), []);
    assert.deepEqual(candidateMistakes({ name: "calculator", arguments: { expression: "1 + 1" } }, schema("calculator")), []);
  });

  it("the Observation is the runtime's own error for the mistaken arguments", async () => {
    const [mistake] = await checkedMistakes(stock, tools, 7);
    assert.deepEqual(mistake?.observation, { error: 'invalid arguments for get_stock_price: /symbol: must match pattern "^[A-Z]{1,5}$"' });
    const time = (await checkedMistakes(event, tools, 7)).find((m) => m.correction === "I left out time.");
    assert.deepEqual(time?.observation, { error: "invalid arguments for create_calendar_event: /time: is required" });
    // The same arguments through the agent runtime, as an evaluation runs them.
    for (const m of [mistake, time, ...(await checkedMistakes(currency, tools, 7))]) {
      assert.ok(m);
      const model = new ScriptedModel([`Action: ${JSON.stringify(m.call)}`, "Answer: done"]);
      const run = await runAgent({ model, tools, query: "q", seed: 7 });
      assert.deepEqual(run.trajectory.steps[0], { kind: "action", thought: "", action: m.call, observation: m.observation });
      assert.equal(run.failures[0]?.kind, "invalid_arguments");
    }
  });

  it("inserts the mistaken reply (weight 0) before the first call and opens the corrected Thought with the correction", async () => {
    const steps: ReActStep[] = [
      { kind: "action", thought: "This needs convert_currency, which I have. Its arguments: amount, from and to.", action: currency, observation: { converted: 10_000 } },
      { kind: "answer", thought: "I have it.", answer: "About 10,000 MXN." },
    ];
    const [mistake] = await checkedMistakes(currency, tools, 0);
    assert.ok(mistake);
    assert.deepEqual(withRecovery(steps, mistake), [
      { kind: "action", thought: "This needs convert_currency, which I have. Its arguments: amount, from_currency and to_currency.", action: mistake.call, observation: mistake.observation, weight: 0 },
      { ...steps[0], thought: "convert_currency takes amount, from and to. This needs convert_currency, which I have. Its arguments: amount, from and to." },
      steps[1],
    ]);
    assert.equal(steps.length, 2, "the input is not changed");
  });

  it("recovery 0 (or absent) and an eval build give the same examples as before", async () => {
    const plain = await buildDataset({ samples: 120, seed: 1, nameArguments: true });
    assert.deepEqual(await buildDataset({ samples: 120, seed: 1, nameArguments: true, recovery: 0 }), plain);
    assert.deepEqual(await buildDataset({ samples: 60, seed: 1, split: "eval", recovery: 1 }), await buildDataset({ samples: 60, seed: 1, split: "eval" }));
    await assert.rejects(buildDataset({ samples: 10, recovery: 1.5 }), /--recovery is a share and must lie in \[0, 1\], got 1.5/);
  });

  it("recovery 1 transforms every eligible example and nothing else; the rest of the build is unchanged", async () => {
    const options: BuildOptions = { samples: 300, seed: 0, format: "mix" };
    const plain = await buildDataset(options);
    const all = await buildDataset({ ...options, recovery: 1 });
    assert.deepEqual(
      all.map((e) => e.id),
      plain.map((e) => e.id),
    );
    for (const [i, e] of all.entries()) {
      const before = plain[i] as TrainingExample;
      if (!eligible(before)) {
        assert.deepEqual(e, before, `${e.id} is not eligible`);
        continue;
      }
      const steps = e.steps ?? [];
      assert.equal(steps.length, (before.steps ?? []).length + 1, e.id);
      const at = steps.findIndex((s) => s.weight === 0);
      assert.deepEqual([...steps.slice(0, at), ...steps.slice(at + 2)], [...(before.steps ?? []).slice(0, at), ...(before.steps ?? []).slice(at + 1)], e.id);
      assert.equal((steps[at + 1] as ReActStep).thought.endsWith(` ${before.steps?.[at]?.thought}`), true, e.id);
      assert.deepEqual({ ...e, steps: undefined, messages: undefined }, { ...before, steps: undefined, messages: undefined }, `${e.id}: the task fields are unchanged`);
    }
    const recovered = recoveredOf(all);
    assert.equal(recovered.length, plain.filter(eligible).length);
    assert.ok(recovered.length > 50, `${recovered.length} recovered`);
    const openings = new Set(
      recovered.map((e) => {
        const steps = e.steps ?? [];
        return steps[steps.findIndex((s) => s.weight === 0) + 1]?.thought.split(" ")[0];
      }),
    );
    for (const opening of ["The", "convert_currency", "I"]) assert.ok(openings.has(opening), `a "${opening} …" correction is among them`);
  });

  it("--recovery 0.3 transforms about 30 % of the eligible examples", async () => {
    let eligibleCount = 0;
    let recoveredCount = 0;
    for (const seed of [0, 1, 2]) {
      eligibleCount += (await buildDataset({ samples: 300, seed })).filter(eligible).length;
      recoveredCount += recoveredOf(await buildDataset({ samples: 300, seed, recovery: 0.3 })).length;
    }
    const share = recoveredCount / eligibleCount;
    // Three builds of about 95 eligible each: 0.3 ± 0.08 is three standard deviations.
    assert.ok(share > 0.22 && share < 0.38, `${recoveredCount} of ${eligibleCount} (${share.toFixed(3)})`);
  });

  it("every recovery trajectory is valid, replays through the agent runtime as written, and has no loss on the mistaken reply", async () => {
    const examples = recoveredOf(await buildDataset({ samples: 200, seed: 4, nameArguments: true, recovery: 0.5 }));
    assert.ok(examples.length > 10, `${examples.length} recovered`);
    for (const e of examples) {
      assert.deepEqual(validateTrainingExample(e), [], e.id);
      const messages = e.messages as ChatMessage[];
      const parsed = parseMessages(messages, { strict: true });
      assert.ok(parsed.ok, e.id);
      assert.deepEqual(parsed.trajectory.steps, e.steps, `${e.id}: the messages carry the weight of the steps`);
      const replies = messages.filter((m) => m.role === "assistant");
      const model = new ScriptedModel(replies.map((m) => m.content));
      const run = await runAgent({ model, tools, query: e.query, seed: e.seed, systemPrompt: messages[0]?.content });
      assert.deepEqual(
        run.failures.map((f) => f.kind),
        ["invalid_arguments"],
        e.id,
      );
      // A hand-written seed's observations are its own (it has no simulator seed): only its error is replayed.
      if (e.seed === undefined) assert.deepEqual(run.messages.slice(0, 4), messages.slice(0, 4).map(({ weight: _, ...m }) => m), e.id);
      else assert.deepEqual(run.messages, messages.map(({ weight: _, ...m }) => m), `${e.id}: the runtime shows the same conversation`);
      const mistaken = replies.find((m) => m.weight === 0) as ChatMessage;
      const tokenized = tokenizeMessages(messages, { tokenize: byteTokenize, template: chatmlTemplate, maxLength: 1 << 20 });
      assert.ok(tokenized, e.id);
      const text = Buffer.from(tokenized.ids).toString("utf8");
      const start = Buffer.byteLength(text.slice(0, text.indexOf(mistaken.content)));
      const end = start + Buffer.byteLength(mistaken.content) + Buffer.byteLength("<|im_end|>");
      assert.ok(tokenized.mask.slice(start, end).every((b) => b === 0), `${e.id}: no loss on the mistaken reply`);
      const corrected = replies[replies.indexOf(mistaken) + 1] as ChatMessage;
      const from = Buffer.byteLength(text.slice(0, text.indexOf(corrected.content)));
      assert.ok(tokenized.mask.slice(from, from + Buffer.byteLength(corrected.content)).every((b) => b === 1), `${e.id}: loss on the correction`);
    }
  });

  it("--recovery sets the option; without it the option is left out", () => {
    const command = createDataBuildCommand();
    assert.deepEqual(dataShapeOptions(parseFlags(command, ["--recovery", "0.3"]).flags), { recovery: 0.3 });
    assert.deepEqual(dataShapeOptions(parseFlags(command, ["--name-arguments", "--recovery", "0"]).flags), { nameArguments: true, recovery: 0 });
    assert.deepEqual(dataShapeOptions(parseFlags(command, []).flags), {});
  });
});
