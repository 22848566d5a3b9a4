// `agenttune experiment …` from the command line: the reference's spellings, progress and the
// resume note on stderr, the exact command in the report, usage errors with the flag's name.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type CommandSpec, defineCommand, formatCommandLine, parseFlags } from "../../src/cli/command.js";
import { DATA_SHAPE_FLAGS, dataShapeOptions } from "../../src/cli/data-build.js";
import { createExperimentCommands } from "../../src/cli/experiment.js";
import { runCli } from "../../src/cli/main.js";
import { writeTinyModel } from "../../src/experiment/tiny-model.js";
import { exportPeftAdapter } from "../../src/train/export-peft.js";
import { tinyAdapter } from "../train/tiny-adapter.js";
import { fakeFinetune, MACHINE, scriptedOpener, writeTasks } from "./helpers.js";

const root = mkdtempSync(join(tmpdir(), "agenttune-experiment-cli-"));
after(() => rmSync(root, { recursive: true, force: true }));
const model = writeTinyModel(join(root, "tiny-model"));
const tasks = writeTasks(join(root, "tasks.jsonl"));
const commands: CommandSpec[] = createExperimentCommands({ finetune: fakeFinetune(), openModel: scriptedOpener((r) => r.adapter !== undefined), machine: MACHINE });

async function cli(argv: string[]) {
  let out = "";
  let err = "";
  const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t), interactive: false }, commands);
  return { code, out, err };
}

describe("agenttune experiment", () => {
  it("--help lists the flags with their defaults and the reference's spellings", async () => {
    const r = await cli(["experiment", "scaling", "--help"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /--sizes <list> +training-set sizes, comma-separated \(default: 50,100,250,500,1000\)/);
    assert.match(r.out, /--out <dir> .*also --output_dir/);
    assert.match(r.out, /Resumable/);
    const group = await cli(["experiment"]);
    assert.equal(group.code, 2);
    assert.match(group.err, /name a subcommand: experiment scaling, experiment compare, experiment parity/);
    const groupHelp = await cli(["experiment", "--help"]);
    assert.equal(groupHelp.code, 0);
    assert.match(groupHelp.out, /^Usage: agenttune experiment <subcommand> \[flags\]$/m);
    assert.match(groupHelp.out, /^ {2}experiment scaling {4}\S/m);
    assert.match(groupHelp.out, /^ {2}experiment parity /m);
  });

  it("scaling: runs the study, records the exact command, and on a second run says which runs it kept", async () => {
    const out = join(root, "study");
    const argv = ["experiment", "scaling", "--model_id", model, "--sizes", "3,6", "--seeds", "0", "--tasks", tasks, "--output_dir", out, "--num_train_epochs", "1", "--grad-accum", "1"];
    const r = await cli(argv);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /▸ \[1\/2\] train: 3 examples, 1 epoch\(s\) on the cpu/);
    assert.match(r.out, /^ {5}3 samples × 1 seed\(s\): tool selection 100\.0 %, final loss 0\.667/m);
    assert.match(r.out, /wrote .*scaling\.md/);
    const md = readFileSync(join(out, "scaling.md"), "utf8");
    assert.ok(
      md.includes(
        `agenttune experiment scaling --model ${model} --sizes 3,6 --seeds 0 --out ${out} --backend cpu --epochs 1 --lr 0.0002 --rank 16 --alpha 32 --dropout 0.05 --neftune-alpha 0 --batch-size 1 --grad-accum 1 --max-length 2048 --save-every 50 --jobs 1 --tasks ${tasks} --device cpu --eval-max-steps 8 --max-tokens 256 --concurrency 1`,
      ),
    );
    const again = await cli(argv);
    assert.equal(again.code, 0, again.err);
    assert.match(again.err, /▸ \[1\/2\] skip: 3-s0 is done \(.*eval\.json exists\); kept/);
    assert.match(again.err, /▸ \[2\/2\] skip: 6-s0 is done/);
    assert.doesNotMatch(again.err, /train:/);
  });

  it("scaling: the data flags reach the study's settings; a bad share or mix is a usage error", async () => {
    const out = join(root, "data-flags");
    const r = await cli(["experiment", "scaling", "--model", model, "--sizes", "12", "--seeds", "0", "--tasks", tasks, "--out", out, "--epochs", "1", "--grad-accum", "1", "--no-tool-check", "--mix", "single=1", "--restyle", "0", "--lora_dropout", "0.15", "--lora_r", "8", "--lora_alpha", "16"]);
    assert.equal(r.code, 0, r.err);
    const json = JSON.parse(readFileSync(join(out, "scaling.json"), "utf8")) as { settings: { data?: unknown; lora: { dropout: number; rank: number; alpha: number } } };
    assert.deepEqual(json.settings.data, { mix: { single: 1 }, restyle: 0 });
    assert.equal(json.settings.lora.dropout, 0.15);
    assert.deepEqual([json.settings.lora.rank, json.settings.lora.alpha], [8, 16]);
    const dropout = await cli(["experiment", "scaling", "--model", model, "--sizes", "12", "--seeds", "0", "--tasks", tasks, "--out", join(root, "d"), "--dropout", "1"]);
    assert.equal(dropout.code, 2);
    assert.match(dropout.err, /--dropout must be at least 0 and below 1, got 1/);
    assert.match(readFileSync(join(out, "scaling.md"), "utf8"), /--no-tool-check/);
    const share = await cli(["experiment", "scaling", "--model", model, "--sizes", "12", "--seeds", "0", "--tasks", tasks, "--out", join(root, "y"), "--restyle", "2"]);
    assert.equal(share.code, 2);
    assert.match(share.err, /--restyle is a share and must lie in \[0, 1\], got 2/);
    const mix = await cli(["experiment", "scaling", "--model", model, "--sizes", "12", "--seeds", "0", "--tasks", tasks, "--out", join(root, "z"), "--mix", "singel=1"]);
    assert.equal(mix.code, 2);
    assert.match(mix.err, /singel/);
  });

  it("scaling: every data flag reaches the settings the runs' data are built with", async () => {
    const spec = commands.find((c) => c.name === "experiment scaling")!;
    const flags = Object.entries(DATA_SHAPE_FLAGS).flatMap(([name, flag]) => (name === "no-tool-check" || name === "mix" ? [] : flag.type === "boolean" ? [`--${name}`] : [`--${name}`, "0.3"]));
    const expected = dataShapeOptions(parseFlags(spec, flags).flags);
    const out = join(root, "every-data-flag");
    const r = await cli(["experiment", "scaling", "--model", model, "--sizes", "12", "--seeds", "0", "--tasks", tasks, "--out", out, "--epochs", "1", "--grad-accum", "1", ...flags]);
    assert.equal(r.code, 0, r.err);
    const json = JSON.parse(readFileSync(join(out, "scaling.json"), "utf8")) as { settings: { data?: Record<string, unknown> } };
    assert.ok(Object.keys(expected).length >= 8, Object.keys(expected).join(", "));
    for (const [key, value] of Object.entries(expected)) assert.deepEqual(json.settings.data?.[key], value, `${key} is not in the study's data settings`);
  });

  it("a size list that is not whole numbers, or a missing tasks file, is a usage error naming it", async () => {
    const bad = await cli(["experiment", "scaling", "--model", model, "--sizes", "50,abc", "--out", join(root, "x")]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--sizes takes whole numbers separated by commas, got "50,abc"\n {2}hint: e\.g\. --sizes 50,100,250,500,1000/);
    const missing = join(root, "missing.jsonl");
    const noTasks = await cli(["experiment", "scaling", "--model", model, "--tasks", missing, "--out", join(root, "x")]);
    assert.equal(noTasks.code, 2);
    assert.ok(noTasks.err.includes(`the tasks file ${missing} does not exist`), noTasks.err);
    const noModel = await cli(["experiment", "scaling", "--out", join(root, "x")]);
    assert.equal(noModel.code, 2);
    assert.match(noModel.err, /--model is required/);
    const engine = await cli(["experiment", "compare", "--model", model, "--adapter", "a", "--out", join(root, "x"), "--engine", "openai"]);
    assert.equal(engine.code, 2);
    assert.match(engine.err, /--engine must be own or llama/);
  });

  it("the recorded command line spells out every flag in order and quotes what the shell would split", () => {
    const spec = defineCommand({
      name: "experiment demo",
      summary: "",
      flags: { out: { type: "string", description: "" }, sizes: { type: "string", description: "" }, fast: { type: "boolean", description: "" }, slow: { type: "boolean", description: "" }, n: { type: "number", description: "" } },
      run: () => 0,
    });
    assert.equal(formatCommandLine(spec, { out: "my results/it's", sizes: "50,100", fast: true, slow: false, n: 3 }), "agenttune experiment demo --out 'my results/it'\\''s' --sizes 50,100 --fast --n 3");
  });

  it("compare: prints each metric with its change and writes compare.md", async () => {
    const adapter = join(root, "adapter");
    exportPeftAdapter(adapter, tinyAdapter());
    const out = join(root, "compare");
    const r = await cli(["experiment", "compare", "--model", model, "--adapter_path", adapter, "--tasks", tasks, "--out", out]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Task success +0\.0 % → +100\.0 % +\+100\.0 pts/);
    assert.match(r.err, /▸ zero-shot: /);
    assert.match(readFileSync(join(out, "compare.md"), "utf8"), /agenttune experiment compare --model .* --adapter .* --out /);
  });
});
