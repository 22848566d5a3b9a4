import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { FileFormatError } from "../../src/errors.js";
import { readEvalResult, writeEvalResult } from "../../src/eval/files.js";
import { evaluate } from "../../src/eval/runner.js";
import { readTrainLog } from "../../src/eval/train-log.js";
import { existsMaybeGzipped } from "../../src/gzip-file.js";
import { competentModel, tasks, testTools } from "./fixtures.js";

const root = mkdtempSync(join(tmpdir(), "agenttune-gz-"));
after(() => rm(root, { recursive: true, force: true }));

describe("results kept gzipped", () => {
  it("an evaluation reads the same from eval.json, eval.json.gz, the .gz named directly and its folder", async () => {
    const result = await evaluate({ model: competentModel("good"), tasks, tools: testTools });
    const { json } = await writeEvalResult(join(root, "plain"), result);
    const want = await readEvalResult(json);
    const packed = join(root, "packed");
    await writeEvalResult(packed, result);
    writeFileSync(join(packed, "eval.json.gz"), gzipSync(readFileSync(join(packed, "eval.json"))));
    await rm(join(packed, "eval.json"));
    assert.ok(existsMaybeGzipped(join(packed, "eval.json")));
    assert.ok(!existsMaybeGzipped(join(packed, "nothing.json")));
    assert.deepEqual(await readEvalResult(packed), want, "the folder");
    assert.deepEqual(await readEvalResult(join(packed, "eval.json")), want, "the plain name, kept as .gz");
    assert.deepEqual(await readEvalResult(join(packed, "eval.json.gz")), want, "the .gz itself");
  });

  it("a gzip file cut short is a FileFormatError naming it; neither file is 'no such file' for the plain name", async () => {
    const cut = join(root, "cut");
    const result = await evaluate({ model: competentModel("good"), tasks, tools: testTools });
    await writeEvalResult(cut, result);
    const gz = gzipSync(readFileSync(join(cut, "eval.json")));
    writeFileSync(join(cut, "eval.json.gz"), gz.subarray(0, Math.floor(gz.length / 2)));
    await rm(join(cut, "eval.json"));
    await assert.rejects(readEvalResult(cut), (e: unknown) => e instanceof FileFormatError && e.message.includes("eval.json.gz") && /gzip/.test(e.message));
    await assert.rejects(readEvalResult(join(root, "absent")), (e: unknown) => e instanceof FileFormatError && /absent.*no such file/.test(e.message));
  });

  it("a training log reads the same gzipped, and its errors name the .gz and the line", async () => {
    const log = join(root, "train_log.jsonl");
    writeFileSync(log, '{"step": 1, "loss": 2.5}\n{"step": 2, "loss": 2.25}\n');
    const want = await readTrainLog(log);
    const packed = join(root, "packed_log");
    writeFileSync(`${packed}.gz`, gzipSync(readFileSync(log)));
    assert.deepEqual(await readTrainLog(packed), want);
    writeFileSync(join(root, "bad.jsonl.gz"), gzipSync('{"step": 1}\nnot json\n'));
    await assert.rejects(readTrainLog(join(root, "bad.jsonl")), (e: unknown) => e instanceof FileFormatError && /bad\.jsonl\.gz/.test(e.message) && /line 2/.test(e.message));
  });
});
