// The examples run as a user runs them (`npx tsx examples/<file>.ts --tiny`), on the tiny random
// model: every stage for real — data, QLoRA training, evaluation on our engine, export.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, describe, it } from "node:test";
import type { ScalingResult } from "../../src/experiment/scaling-summary.js";
import { openGguf } from "../../src/model/gguf.js";
import { parseXml } from "../experiment/xml.js";

const run = promisify(execFile);
const repo = join(import.meta.dirname, "..", "..");
const root = mkdtempSync(join(tmpdir(), "agenttune-examples-"));
after(() => rmSync(root, { recursive: true, force: true }));

function example(file: string, out: string) {
  return run(process.execPath, ["--import", "tsx", join(repo, "examples", file), "--tiny", "--out", out], { cwd: repo, timeout: 120_000, env: { ...process.env, NODE_NO_WARNINGS: "1" } });
}

// The two run side by side: each is mostly process start-up and model loading.
describe("examples, tiny configuration", { concurrency: true }, () => {
  it("pipeline.ts: builds data, evaluates, trains, exports PEFT and GGUF LoRA, evaluates the adapter, compares", async () => {
    const out = join(root, "pipeline");
    const { stdout } = await example("pipeline.ts", out);
    assert.match(stdout, /data: 4 trajectories/);
    assert.match(stdout, /train step 2\/\d+: loss \d/);
    assert.match(stdout, /final training loss \d+\.\d+ after 2 steps/);
    for (const f of ["train.jsonl", "zero-shot/eval.json", "train/train_log.jsonl", "train/adapter/adapter_model.safetensors", "adapter-peft/adapter_config.json", "fine-tuned/eval.json", "comparison.md"]) assert.ok(existsSync(join(out, f)), f);
    const gguf = openGguf(join(out, "adapter.gguf"));
    assert.equal(gguf.metadata["adapter.type"], "lora");
    gguf.close();
    const tuned = JSON.parse(readFileSync(join(out, "fine-tuned", "eval.json"), "utf8"));
    assert.equal(tuned.adapter, join(out, "adapter.gguf"));
    assert.equal(tuned.records.length, 2);
  });

  it("scaling.ts: two sizes × two seeds, the table, the JSON and both charts; a second run keeps them", async () => {
    const out = join(root, "scaling");
    await example("scaling.ts", out);
    const result = JSON.parse(readFileSync(join(out, "scaling.json"), "utf8")) as ScalingResult;
    assert.deepEqual(
      result.runs.map((r) => r.id),
      ["2-s0", "2-s1", "4-s0", "4-s1"],
    );
    assert.ok(result.runs.every((r) => r.steps === 1 && r.finalLoss !== null && r.finalLoss > 0));
    assert.deepEqual(
      result.bySize.map((g) => [g.size, g.seeds]),
      [
        [2, [0, 1]],
        [4, [0, 1]],
      ],
    );
    assert.match(readFileSync(join(out, "scaling.md"), "utf8"), /\| Samples \| Runs \| Tool selection \(%\)/);
    for (const chart of ["loss-curves.svg", "metrics-vs-samples.svg"]) assert.doesNotThrow(() => parseXml(readFileSync(join(out, chart), "utf8")), chart);
    const { stdout } = await example("scaling.ts", out);
    assert.match(stdout, /\[4\/4\] skip: 4-s1 is done/);
  });
});
