// The scaling study's plumbing with a stand-in fine-tuning and scripted models: the files of each
// run and of the study, the aggregation over seeds, resuming, and refusing bad input.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { describeError, FileFormatError, InvalidInputError } from "../../src/errors.js";
import { runScalingStudy, type ScalingOptions, type ScalingStageEvent } from "../../src/experiment/scaling.js";
import type { ScalingResult } from "../../src/experiment/scaling-summary.js";
import { writeTinyModel } from "../../src/experiment/tiny-model.js";
import type { ModelRequest } from "../../src/infer/resolve.js";
import type { FinetuneOptions } from "../../src/train/finetune.js";
import { fakeFinetune, MACHINE, scriptedOpener, TASKS } from "./helpers.js";

const root = mkdtempSync(join(tmpdir(), "agenttune-scaling-"));
after(() => rmSync(root, { recursive: true, force: true }));
const model = writeTinyModel(join(root, "tiny-model"));

/** Seed 1's adapters solve the tasks, seed 0's do not. */
const skilled = (r: ModelRequest) => r.adapter?.includes("-s1") === true;

function study(outputDir: string, extra: Partial<ScalingOptions> = {}) {
  const calls: FinetuneOptions[] = [];
  const opened: ModelRequest[] = [];
  const stages: ScalingStageEvent[] = [];
  const options: ScalingOptions = {
    model,
    sizes: [6, 3],
    seeds: [1, 0],
    outputDir,
    tasks: TASKS,
    tasksFile: "tasks.jsonl",
    epochs: 2,
    gradAccum: 2,
    machine: MACHINE,
    finetune: fakeFinetune(calls),
    openModel: scriptedOpener(skilled, opened),
    onStage: (e) => stages.push(e),
    ...extra,
  };
  return { run: () => runScalingStudy(options), calls, opened, stages };
}

describe("the scaling study", () => {
  const out = join(root, "study");
  let first: ScalingResult;

  it("trains and evaluates every size × seed, smallest first, and writes each run's files", async () => {
    const s = study(out);
    const { result, files } = await s.run();
    first = result;
    assert.deepEqual(
      result.runs.map((r) => r.id),
      ["3-s0", "3-s1", "6-s0", "6-s1"],
    );
    assert.deepEqual(
      s.calls.map((c) => [c.examples.length, c.lora?.seed, c.epochs, c.gradAccum, c.resume]),
      [
        [3, 0, 2, 2, false],
        [3, 1, 2, 2, false],
        [6, 0, 2, 2, false],
        [6, 1, 2, 2, false],
      ],
    );
    for (const id of ["3-s0", "3-s1", "6-s0", "6-s1"]) {
      for (const f of ["train_log.jsonl", "eval.json", "eval.md", "run.json", "train.jsonl", "adapter/adapter_config.json"]) assert.ok(existsSync(join(out, "runs", id, f)), `${id}/${f}`);
      assert.equal(existsSync(join(out, "runs", id, "checkpoint")), false, "the checkpoint goes once the adapter is written");
    }
    // a folder base: our engine evaluates the PEFT adapter
    assert.deepEqual(s.opened[0], { model, engine: "own", adapter: join(out, "runs", "3-s0", "adapter"), device: "cpu" });
    for (const f of Object.values(files)) assert.ok(existsSync(f), f);
    const json = JSON.parse(readFileSync(files.json, "utf8")) as ScalingResult;
    assert.equal(json.kind, "scaling");
    assert.deepEqual(json.sizes, [3, 6]);
    assert.equal(json.settings.evalEngine, "own");
    assert.equal(json.machine.cpu, "Test CPU 9000");
    assert.doesNotMatch(readFileSync(files.markdown, "utf8"), /Runs trained on/, "trained where reported: one Machine line");
  });

  it("records each run's training figures from its log", () => {
    const run = first.runs.find((r) => r.id === "6-s1");
    // 6 examples, accumulation 2, 2 epochs: 6 steps of 200 tokens at 1000 tokens/s
    assert.deepEqual([run?.steps, run?.totalSteps, run?.tokens], [6, 6, 1200]);
    assert.ok(Math.abs((run?.stepS ?? 0) - 1.2) < 1e-9);
    assert.equal(run?.tokensPerS, 1000);
    assert.ok(Math.abs((run?.finalLoss ?? 0) - (2 / 6 + 0.1)) < 1e-9);
    assert.equal(run?.metrics.taskSuccess.numerator, 2);
  });

  it("summarises each size over its seeds: mean, spread, min and max", () => {
    const three = first.bySize.find((g) => g.size === 3);
    assert.deepEqual(three?.seeds, [0, 1]);
    // seed 0 solves neither task, seed 1 both
    assert.deepEqual(three?.metrics.taskSuccess, { mean: 0.5, std: Math.SQRT1_2, min: 0, max: 1, n: 2 });
    assert.deepEqual(three?.metrics.toolSelection, { mean: 0.5, std: Math.SQRT1_2, min: 0, max: 1, n: 2 });
    const loss = three?.finalLoss;
    // 3 examples / 2 → 2 steps an epoch, 4 steps: 2/4 + 0.1 · seed
    assert.ok(loss !== null && loss !== undefined && Math.abs(loss.mean - 0.55) < 1e-9 && Math.abs(loss.min - 0.5) < 1e-9 && Math.abs(loss.max - 0.6) < 1e-9);
  });

  it("a second invocation keeps the finished runs, says so, and trains nothing", async () => {
    const s = study(out);
    const { result } = await s.run();
    assert.equal(s.calls.length, 0);
    assert.equal(s.opened.length, 0);
    const skips = s.stages.filter((e) => e.stage === "skip");
    assert.equal(skips.length, 4);
    assert.match(skips[0]?.detail ?? "", /3-s0 is done .*eval\.json exists/);
    assert.deepEqual(
      result.runs.map((r) => [r.id, r.metrics.taskSuccess.numerator]),
      first.runs.map((r) => [r.id, r.metrics.taskSuccess.numerator]),
    );
  });

  it("a run trained but not evaluated is only evaluated; an interrupted training continues from its checkpoint", async () => {
    rmSync(join(out, "runs", "6-s1", "eval.json"));
    rmSync(join(out, "runs", "6-s0"), { recursive: true });
    mkdirSync(join(out, "runs", "6-s0", "checkpoint"), { recursive: true });
    const s = study(out);
    await s.run();
    assert.deepEqual(
      s.calls.map((c) => [c.outputDir, c.resume]),
      [[join(out, "runs", "6-s0"), true]],
    );
    assert.deepEqual(
      s.opened.map((r) => r.adapter),
      [join(out, "runs", "6-s0", "adapter"), join(out, "runs", "6-s1", "adapter")],
    );
    assert.match(s.stages.find((e) => e.run === "6-s1")?.detail ?? "", /is trained .*evaluating it/);
  });

  it("with reportOnly trains and evaluates nothing, reports the finished runs and names the others", async () => {
    const partial = join(root, "partial");
    await study(partial, { sizes: [3], seeds: [0] }).run();
    const s = study(partial, { reportOnly: true });
    const { result, files } = await s.run();
    assert.equal(s.calls.length, 0);
    assert.equal(s.opened.length, 0);
    assert.deepEqual(
      result.runs.map((r) => r.id),
      ["3-s0"],
    );
    assert.match(readFileSync(files.markdown, "utf8"), /Runs finished: 1 of 4; not run: 3-s1, 6-s0, 6-s1/);
    assert.equal(s.stages.filter((e) => e.stage === "skip" && /not run \(report only\)/.test(e.detail)).length, 3);
  });

  it("a damaged run.json is named, with what to do", async () => {
    const damaged = join(root, "damaged");
    await study(damaged, { sizes: [3], seeds: [0] }).run();
    const file = join(damaged, "runs", "3-s0", "run.json");
    writeFileSync(file, readFileSync(file, "utf8").slice(0, 40));
    await assert.rejects(study(damaged, { reportOnly: true }).run(), (e: unknown) => e instanceof FileFormatError && e.file === file && /delete that run's folder/.test(describeError(e)));
  });

  it("with trainOnly trains every run and evaluates none; the same study without it then only evaluates, and its report says where the runs were trained", async () => {
    const split = join(root, "split");
    const gpuMachine = { ...MACHINE, cpu: "Test GPU host", cores: 16, gpu: "Test GPU" };
    const gpu = study(split, { trainOnly: true, machine: gpuMachine });
    await gpu.run();
    assert.equal(gpu.calls.length, 4);
    assert.equal(gpu.opened.length, 0);
    for (const id of ["3-s0", "3-s1", "6-s0", "6-s1"]) {
      assert.ok(existsSync(join(split, "runs", id, "run.json")), id);
      assert.ok(!existsSync(join(split, "runs", id, "eval.json")), id);
    }
    const cpu = study(split);
    const { result } = await cpu.run();
    assert.equal(cpu.calls.length, 0);
    assert.equal(cpu.opened.length, 4);
    assert.equal(result.runs.length, 4);
    assert.deepEqual(result.runs[0].trainedOn, gpuMachine);
    const md = readFileSync(join(split, "scaling.md"), "utf8");
    assert.match(md, /^- Machine: Test CPU 9000 /m);
    assert.match(md, /^- Runs trained on: Test GPU host \(16 cores, 8 GiB\).*GPU Test GPU \(\d{4}-\d\d-\d\dT.* to \d{4}-/m);
    await assert.rejects(study(split, { trainOnly: true, reportOnly: true }).run(), (e: unknown) => e instanceof InvalidInputError && /exclude each other/.test(e.message));
  });

  it("evaluates with the tasks in flight it is given, which a resumed study may change", async () => {
    const dir = join(root, "concurrency");
    await study(dir, { sizes: [3], seeds: [0], evalConcurrency: 3 }).run();
    const evalOf = (id: string) => JSON.parse(readFileSync(join(dir, "runs", id, "eval.json"), "utf8")) as { settings: { concurrency: number } };
    assert.equal(evalOf("3-s0").settings.concurrency, 3);
    // not a setting of the study: the finished run is kept, the new one evaluates one task at a time
    const again = study(dir, { sizes: [3], seeds: [0, 1] });
    const { result } = await again.run();
    assert.deepEqual(result.runs.map((r) => r.id), ["3-s0", "3-s1"]);
    assert.deepEqual(again.calls.map((c) => c.lora?.seed), [1]);
    assert.equal(evalOf("3-s0").settings.concurrency, 3);
    assert.equal(evalOf("3-s1").settings.concurrency, 1);
  });

  it("refuses to mix runs made with other settings", async () => {
    const s = study(out, { epochs: 3 });
    await assert.rejects(s.run(), (e: unknown) => e instanceof InvalidInputError && /run 3-s0 .* other settings: epochs 2 then, 3 now/.test(e.message));
  });

  it("builds every run's training set with the data options, records them, and refuses a resume with others", async () => {
    const dir = join(root, "data-options");
    const s = study(dir, { sizes: [20], seeds: [0], data: { mix: { single: 1, missing_tool: 1 } } });
    const { result } = await s.run();
    assert.deepEqual(result.settings.data, { mix: { single: 1, missing_tool: 1 }, toolCheck: true });
    const all = s.calls[0]?.examples ?? [];
    assert.equal(all.length, 20);
    const examples = all.filter((e) => !e.id.startsWith("seed-")); // the hand-written seeds come first, whatever the mix
    assert.ok(examples.length > 0 && examples.every((e) => e.category === "single" || e.category === "missing_tool"), "the mix reached the builder");
    const firstReplies = examples.map((e) => e.messages?.find((m) => m.role === "assistant")?.content ?? "");
    assert.ok(firstReplies.every((r) => r.startsWith("Thought: This needs ")), "the tool check (the default) reached the builder");
    await assert.rejects(study(dir, { sizes: [20], seeds: [0] }).run(), (e: unknown) => e instanceof InvalidInputError && /other settings: data /.test(e.message));
    // the default data are recorded as the tool check, so runs made before it (no data key) are not taken for it
    assert.deepEqual(first.settings.data, { toolCheck: true });
    const plain = study(join(root, "plain"), { sizes: [20], seeds: [0], data: { toolCheck: false } });
    const { result: plainResult } = await plain.run();
    assert.equal(plainResult.settings.data, undefined, "plain Thoughts are the settings of the runs made before the option");
    const plainReplies = (plain.calls[0]?.examples ?? []).map((e) => e.messages?.find((m) => m.role === "assistant")?.content ?? "");
    assert.ok(plainReplies.every((r) => !r.startsWith("Thought: This needs ")), "toolCheck false reached the builder");
    const { result: planned } = await study(join(root, "planned"), { sizes: [20], seeds: [0], data: { planTools: true, recovery: 0 } }).run();
    assert.deepEqual(planned.settings.data, { toolCheck: true, planTools: true }, "recovery 0 is the default, recorded as nothing");
    const shaped = study(join(root, "shaped"), { sizes: [20], seeds: [0], data: { progress: true, morePhrasings: true, nameArguments: true, everyCompany: true, recovery: 1 } });
    const { result: shapedResult } = await shaped.run();
    assert.deepEqual(shapedResult.settings.data, { toolCheck: true, progress: true, morePhrasings: true, nameArguments: true, everyCompany: true, recovery: 1 });
    assert.ok((shaped.calls[0]?.examples ?? []).some((e) => e.messages?.some((m) => m.weight === 0)), "recovery reached the builder");
    const shapedReplies = (shaped.calls[0]?.examples ?? []).flatMap((e) => e.messages?.filter((m) => m.role === "assistant").map((m) => m.content) ?? []);
    assert.ok(shapedReplies.some((r) => /^Thought: Call \d+ of \d+ done\./.test(r)), "progress reached the builder");
    assert.ok(shapedReplies.some((r) => /^Thought: .* Its arguments?: [^\n]+\.\nAction: /.test(r)), "nameArguments reached the builder");
    await assert.rejects(
      study(join(root, "plain"), { sizes: [20], seeds: [0] }).run(),
      (e: unknown) => e instanceof InvalidInputError && /add --no-tool-check to use it/.test(e.hint ?? ""),
    );
  });

  it("refuses an empty, repeated or fractional size list and a missing tasks file, naming the flag or file", async () => {
    const expectField = (field: string, pattern: RegExp) => (e: unknown) => e instanceof InvalidInputError && e.field === field && pattern.test(e.message);
    await assert.rejects(study(join(root, "bad"), { sizes: [] }).run(), expectField("sizes", /--sizes names no value/));
    await assert.rejects(study(join(root, "bad"), { sizes: [50, 50] }).run(), expectField("sizes", /--sizes names 50 twice/));
    await assert.rejects(study(join(root, "bad"), { sizes: [2.5] }).run(), expectField("sizes", /whole numbers ≥ 1, got 2\.5/));
    await assert.rejects(study(join(root, "bad"), { seeds: [-1] }).run(), expectField("seeds", /whole numbers ≥ 0/));
    const missing = join(root, "nope.jsonl");
    await assert.rejects(study(join(root, "bad"), { tasks: undefined, tasksFile: missing }).run(), expectField("tasks", new RegExp(`tasks file ${missing.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} does not exist`)));
    assert.equal(existsSync(join(root, "bad")), false, "nothing is written for bad input");
  });
});
