import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseFlags } from "../../src/cli/command.js";
import { createDataBuildCommand, dataShapeOptions } from "../../src/cli/data-build.js";
import { type BuildOptions, buildDataset } from "../../src/data/build.js";
import { withRestatedRequest } from "../../src/data/restate.js";
import type { TrainingExample } from "../../src/data/task.js";
import type { ReActStep } from "../../src/react/types.js";

const call = (thought: string): ReActStep => ({ kind: "action", thought, action: { name: "tool", arguments: {} }, observation: {} });

/** The restatement as the option's doc states it, written out here so the test does not lean on the code it checks. */
function expectedRestatement(query: string): string {
  const folded = query.trim().split(/\s+/).join(" ");
  return `The request: ${folded}${[".", "!", "?", '"', "'"].includes(folded.at(-1) ?? "") ? "" : "."}`;
}

/** The example with every restatement taken out again, from its steps and its rendered replies. */
function stripped(example: TrainingExample): TrainingExample {
  const prefix = `${expectedRestatement(example.query)} `;
  const out = { ...example };
  if (example.steps) out.steps = example.steps.map((s) => ({ ...s, thought: s.thought.startsWith(prefix) ? s.thought.slice(prefix.length) : s.thought }));
  if (example.messages) out.messages = example.messages.map((m) => (m.role === "assistant" ? { ...m, content: m.content.replace(`Thought: ${prefix}`, "Thought: ") } : m));
  return out;
}

describe("the restated request (restateRequest)", () => {
  it("opens every Thought after the first with the request, spaces folded; the first is left alone", () => {
    const steps: ReActStep[] = [call("This needs get_time, which I have."), call("Today is 2026-11-13. I'll call create_calendar_event."), { kind: "answer", thought: "The event exists.", answer: "Booked." }];
    assert.deepEqual(
      withRestatedRequest(steps, ' Book  "Lunch" today.\n').map((s) => s.thought),
      ["This needs get_time, which I have.", 'The request: Book "Lunch" today. Today is 2026-11-13. I\'ll call create_calendar_event.', 'The request: Book "Lunch" today. The event exists.'],
    );
    assert.equal(steps[1]?.thought, "Today is 2026-11-13. I'll call create_calendar_event.", "the input is not changed");
    assert.deepEqual(withRestatedRequest([], "q"), []);
    assert.equal(withRestatedRequest([call("a"), call("I have the local time.")], "time in New York")[1]?.thought, "The request: time in New York. I have the local time.", "a full stop closes a request without an end mark");
  });

  for (const [label, options] of [
    ["the default build (seeds included)", { samples: 300, seed: 0 }],
    ["plain Thoughts with argument names", { samples: 120, seed: 2, toolCheck: false, nameArguments: true }],
  ] as [string, BuildOptions][]) {
    it(`a build with it differs from one without only by the restatements: ${label}`, async () => {
      const plain = await buildDataset(options);
      const restated = await buildDataset({ ...options, restateRequest: true });
      assert.equal(restated.length, plain.length);
      let later = 0;
      for (const e of restated) {
        for (const [j, step] of (e.steps ?? []).entries()) {
          const opens = step.thought.startsWith(`${expectedRestatement(e.query)} `);
          assert.equal(opens, j > 0, `${e.id} step ${j}: ${step.thought}`);
          if (j > 0) later++;
        }
      }
      assert.ok(later > (options.samples ?? 0) / 2, `${later} restated Thoughts`);
      assert.deepEqual(restated.map(stripped), plain);
      if (options.samples === 300) assert.ok(restated.some((e) => e.id.startsWith("seed-") && e.steps?.some((s) => s.thought.startsWith("The request: "))), "the seeds are restated too");
    });
  }

  it("with recovery, the corrected reply after the rejected call opens with the request too", async () => {
    const built = await buildDataset({ samples: 120, seed: 4, recovery: 1, restateRequest: true });
    const recovered = built.filter((e) => e.steps?.[0]?.weight === 0);
    assert.ok(recovered.length > 10, `${recovered.length} recovery trajectories`);
    for (const e of recovered) {
      const steps = e.steps ?? [];
      assert.ok(!steps[0]!.thought.startsWith("The request: "), `${e.id}: the mistaken first reply follows the request itself`);
      for (const step of steps.slice(1)) assert.ok(step.thought.startsWith(`${expectedRestatement(e.query)} `), `${e.id}: ${step.thought}`);
    }
  });

  it("--restate-request (and --restate_request) sets the option; without it the option is left out", () => {
    const command = createDataBuildCommand();
    assert.deepEqual(dataShapeOptions(parseFlags(command, ["--restate-request"]).flags), { restateRequest: true });
    assert.deepEqual(dataShapeOptions(parseFlags(command, ["--restate_request"]).flags), { restateRequest: true });
  });
});
