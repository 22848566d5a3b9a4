import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseFlags } from "../../src/cli/command.js";
import { createDataBuildCommand, dataShapeOptions } from "../../src/cli/data-build.js";
import { argumentNamesSentence, withArgumentNames } from "../../src/data/argument-names.js";
import { type BuildOptions, buildDataset } from "../../src/data/build.js";
import type { TrainingExample } from "../../src/data/task.js";
import type { ReActStep } from "../../src/react/types.js";

/** The sentence as the option's doc states it, written out here so the test does not lean on the code it checks. */
function expectedSentence(keys: readonly string[]): string {
  if (keys.length === 0) return "";
  if (keys.length === 1) return `Its argument: ${keys[0]}.`;
  return `Its arguments: ${keys.slice(0, -1).join(", ")} and ${keys.at(-1)}.`;
}

/** An example with every argument-names sentence taken out again, from its steps and its rendered messages. */
function stripped(example: TrainingExample): TrainingExample {
  const out = { ...example };
  if (example.steps) out.steps = example.steps.map((s) => ({ ...s, thought: s.thought.replace(/ ?Its arguments?: [\w, ]+\.$/, "") }));
  if (example.messages) out.messages = example.messages.map((m) => (m.role === "assistant" ? { ...m, content: m.content.replace(/ ?Its arguments?: [\w, ]+\.(?=\nAction: )/, "") } : m));
  return out;
}

const call = (thought: string, args: Record<string, number | string>): ReActStep => ({ kind: "action", thought, action: { name: "tool", arguments: args }, observation: {} });

describe("the argument-names Thought (nameArguments)", () => {
  it("ends an Action's Thought with its argument keys, in the order of the arguments object", () => {
    const steps: ReActStep[] = [
      call("I'll call get_time.", {}),
      call("I'll call calculator.", { expression: "2 + 2" }),
      call("I'll call get_weather.", { city: "Oslo", units: "celsius" }),
      call("First I'll convert 750 SGD to MXN. I'll call convert_currency.", { amount: 750, from: "SGD", to: "MXN" }),
      { kind: "answer", thought: "I have the rate.", answer: "About 10,000 MXN." },
    ];
    assert.deepEqual(
      withArgumentNames(steps).map((s) => s.thought),
      [
        "I'll call get_time.",
        "I'll call calculator. Its argument: expression.",
        "I'll call get_weather. Its arguments: city and units.",
        "First I'll convert 750 SGD to MXN. I'll call convert_currency. Its arguments: amount, from and to.",
        "I have the rate.",
      ],
    );
    assert.equal(steps[1]?.thought, "I'll call calculator.", "the input is not changed");
    assert.equal(withArgumentNames(steps)[4], steps[4], "an answer step is returned as it is");
    assert.equal(withArgumentNames([call("", { query: "x" })])[0]?.thought, "Its argument: query.", "an empty Thought gets the sentence alone");
    assert.deepEqual(withArgumentNames([]), []);
  });

  it("names the keys the Action's JSON writes: one given as undefined is left out, as formatJson leaves it out", () => {
    assert.equal(argumentNamesSentence({ to: "a@b.c", cc: undefined, subject: "Hi" }), "Its arguments: to and subject.");
    assert.equal(argumentNamesSentence({}), "");
  });

  for (const [label, options] of [
    ["the default build (seeds included)", { samples: 300, seed: 0 }],
    ["plain Thoughts", { samples: 120, seed: 2, toolCheck: false }],
    ["progress and the function-call mix", { samples: 120, seed: 3, progress: true, format: "mix" }],
  ] as [string, BuildOptions][]) {
    it(`a build with it differs from one without only by the sentences: ${label}`, async () => {
      const plain = await buildDataset(options);
      const named = await buildDataset({ ...options, nameArguments: true });
      assert.equal(named.length, plain.length);
      let sentences = 0;
      for (const [i, e] of named.entries()) {
        for (const [j, step] of (e.steps ?? []).entries()) {
          const before = plain[i]?.steps?.[j]?.thought ?? "";
          if (step.kind !== "action") {
            assert.equal(step.thought, before, `${e.id} step ${j}: an answer is untouched`);
            continue;
          }
          const sentence = expectedSentence(Object.keys(step.action.arguments));
          assert.equal(step.thought, sentence === "" ? before : `${before} ${sentence}`.trim(), `${e.id} step ${j}`);
          if (sentence !== "") sentences++;
        }
      }
      assert.ok(sentences > (options.samples ?? 0) / 2, `${sentences} sentences`);
      assert.deepEqual(named.map(stripped), plain);
      if (options.samples === 300) assert.ok(named.some((e) => e.id.startsWith("seed-") && e.steps?.some((s) => / Its arguments?: /.test(s.thought))), "the seeds are named too");
    });
  }

  it("the rendered replies carry the sentence right before the Action", async () => {
    const [chain] = (await buildDataset({ perCategory: 1, seed: 0, mix: { chain: 1 }, nameArguments: true })) as TrainingExample[];
    const replies = chain?.messages?.filter((m) => m.role === "assistant").map((m) => m.content) ?? [];
    const actions = chain?.steps?.filter((s) => s.kind === "action") ?? [];
    assert.ok(actions.length >= 2, chain?.id);
    for (const [i, step] of actions.entries()) {
      if (step.kind !== "action") continue;
      assert.ok(replies[i]?.includes(`${expectedSentence(Object.keys(step.action.arguments))}\nAction: {"name": "${step.action.name}"`), replies[i]);
    }
  });

  it("--name-arguments (and --name_arguments) sets the option; without it the option is left out", () => {
    const command = createDataBuildCommand();
    assert.deepEqual(dataShapeOptions(parseFlags(command, ["--name-arguments"]).flags), { nameArguments: true });
    assert.deepEqual(dataShapeOptions(parseFlags(command, ["--name_arguments"]).flags), { nameArguments: true });
    assert.deepEqual(dataShapeOptions(parseFlags(command, []).flags), {});
  });
});
