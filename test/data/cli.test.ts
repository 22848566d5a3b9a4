import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { ChatModel } from "../../src/agent/chat-model.js";
import { createDataBuildCommand } from "../../src/cli/data-build.js";
import { dataStatsCommand } from "../../src/cli/data-stats.js";
import { createDataSynthCommand } from "../../src/cli/data-synth.js";
import { dataValidateCommand } from "../../src/cli/data-validate.js";
import { runCli } from "../../src/cli/main.js";
import { buildDataset } from "../../src/data/build.js";
import type { TrainingExample } from "../../src/data/task.js";
import { testTools } from "./tools.js";

const tools = await testTools();
const dir = await mkdtemp(join(tmpdir(), "agenttune-data-cli-"));
after(() => rm(dir, { recursive: true, force: true }));
const commands = [createDataBuildCommand({ loadTools: async () => tools }), dataValidateCommand, dataStatsCommand];

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), interactive: false } };
}

describe("agenttune data", () => {
  it("build writes a file that validate accepts, and the same seed gives the same bytes", async () => {
    const file = join(dir, "train.jsonl");
    const c = capture();
    assert.equal(await runCli(["data", "build", "--train_samples", "120", "--seed", "3", "--format", "mix", "--out", file], c.io, commands), 0, c.err.join(""));
    assert.match(c.out.join(""), /wrote 120 examples to/);
    const v = capture();
    assert.equal(await runCli(["data", "validate", file], v.io, commands), 0, v.out.join(""));
    assert.match(v.out.join(""), /120 record\(s\), valid/);
    const again = join(dir, "again.jsonl");
    await runCli(["data", "build", "--samples", "120", "--seed", "3", "--format", "mix", "--output", again], capture().io, commands);
    assert.equal(await readFile(again, "utf8"), await readFile(file, "utf8"));
  });

  it("build --mix weighs the categories and --restyle reaches the builder", async () => {
    const file = join(dir, "mix.jsonl");
    const c = capture();
    const args = ["data", "build", "--samples", "20", "--no-seeds", "--mix", "single=3,abstention=1", "--restyle", "0", "--out", file];
    assert.equal(await runCli(args, c.io, commands), 0, c.err.join(""));
    const rows = (await readFile(file, "utf8")).trim().split("\n").map((l) => JSON.parse(l) as { category: string; query: string });
    assert.deepEqual(
      [rows.filter((r) => r.category === "single").length, rows.filter((r) => r.category === "abstention").length],
      [15, 5],
    );
    const plain = await buildDataset({ samples: 20, seed: 0, tools, includeSeeds: false, mix: { single: 3, abstention: 1 }, restyle: 0, messages: false });
    assert.deepEqual(
      rows.map((r) => r.query),
      plain.map((e) => e.query),
    );
    for (const [flags, pattern] of [
      [["--mix", "single=1,flights=2"], /--mix: "flights=2" is not category=weight/],
      [["--mix", ","], /--mix names no category/],
      [["--restyle", "1.5"], /--restyle is a share and must lie in \[0, 1\], got 1.5/],
    ] as const) {
      const bad = capture();
      assert.equal(await runCli(["data", "build", "--samples", "10", ...flags, "--out", join(dir, "bad.jsonl")], bad.io, commands), 2);
      assert.match(bad.err.join(""), pattern);
    }
  });

  it("build --recovery writes recovery trajectories that validate accepts, and refuses a share outside 0..1", async () => {
    const file = join(dir, "recovery.jsonl");
    const c = capture();
    assert.equal(await runCli(["data", "build", "--samples", "40", "--seed", "0", "--name-arguments", "--recovery", "0.5", "--out", file], c.io, commands), 0, c.err.join(""));
    const rows = (await readFile(file, "utf8")).trim().split("\n").map((l) => JSON.parse(l) as TrainingExample);
    const recovered = rows.filter((r) => r.messages?.some((m) => m.weight === 0));
    assert.ok(recovered.length > 0 && recovered.length < rows.length, `${recovered.length} of ${rows.length}`);
    assert.deepEqual(rows, await buildDataset({ samples: 40, seed: 0, tools, nameArguments: true, recovery: 0.5 }));
    const v = capture();
    assert.equal(await runCli(["data", "validate", file], v.io, commands), 0, v.out.join(""));
    const bad = capture();
    assert.equal(await runCli(["data", "build", "--samples", "10", "--recovery", "2", "--out", join(dir, "bad.jsonl")], bad.io, commands), 2);
    assert.match(bad.err.join(""), /--recovery is a share and must lie in \[0, 1\], got 2/);
    const both = capture();
    assert.equal(await runCli(["data", "build", "--samples", "10", "--out", join(dir, "a.jsonl"), "--output-dir", dir], both.io, commands), 2);
    assert.match(both.err.join(""), /--out and --output-dir both name the output/);
  });

  it("build --no-seeds leaves the hand-written trajectories out", async () => {
    const file = join(dir, "no-seeds.jsonl");
    assert.equal(await runCli(["data", "build", "--samples", "12", "--no-seeds", "--out", file], capture().io, commands), 0);
    const ids = (await readFile(file, "utf8")).trim().split("\n").map((l) => (JSON.parse(l) as { id: string }).id);
    assert.equal(ids.filter((id) => id.startsWith("seed-")).length, 0);
    const withSeeds = join(dir, "with-seeds.jsonl");
    assert.equal(await runCli(["data", "build", "--samples", "12", "--out", withSeeds], capture().io, commands), 0);
    assert.ok((await readFile(withSeeds, "utf8")).includes('"id":"seed-'));
  });

  it("build --output-dir writes <dir>/<split>.jsonl", async () => {
    const c = capture();
    assert.equal(await runCli(["data", "build", "--samples", "30", "--split", "eval", "--output_dir", join(dir, "ev")], c.io, commands), 0, c.err.join(""));
    const lines = (await readFile(join(dir, "ev", "eval.jsonl"), "utf8")).trim().split("\n");
    assert.equal(lines.length, 30);
  });

  it("validate names every bad line and field, and exits 1", async () => {
    const file = join(dir, "bad.jsonl");
    await writeFile(
      file,
      [
        '{"id": "a", "query": "Hi", "expected_tools": []}',
        '{"id": "b", "query": "Weather?", "expected_tools": "get_weather"}',
        "{not json",
        "",
        '{"id": "a", "query": "Again", "expected_tools": [], "min_steps": 0}',
      ].join("\n"),
    );
    const c = capture();
    assert.equal(await runCli(["data", "validate", file], c.io, commands), 1);
    const out = c.out.join("");
    assert.match(out, /bad\.jsonl:2: expected_tools: must be a list of strings, got a string/);
    assert.match(out, /bad\.jsonl:3: not valid JSON/);
    assert.match(out, /bad\.jsonl:5: min_steps: must be a whole number of at least 1/);
    assert.match(out, /bad\.jsonl:5: id: "a" repeats the id of line 1/);
    assert.match(out, /4 problem\(s\)/);
  });

  it("validate without a file is a usage error", async () => {
    const c = capture();
    assert.equal(await runCli(["data", "validate"], c.io, commands), 2);
    assert.match(c.err.join(""), /name at least one file/);
  });

  it("stats counts categories and tools", async () => {
    const file = join(dir, "small.jsonl");
    await runCli(["data", "build", "--samples", "40", "--seed", "1", "--out", file], capture().io, commands);
    const c = capture();
    assert.equal(await runCli(["data", "stats", file, "--json"], c.io, commands), 0);
    const stats = JSON.parse(c.out.join(""));
    assert.equal(stats.records, 40);
    assert.equal(Object.values(stats.byCategory as Record<string, number>).reduce((a, b) => a + b, 0), 40);
    assert.ok(stats.toolCalls.get_weather > 0);
    const text = capture();
    await runCli(["data", "stats", file], text.io, commands);
    assert.match(text.out.join(""), /40 records\nby category:/);
  });

  it("stats says when a file is empty or holds lines that are not objects", async () => {
    const empty = join(dir, "empty.jsonl");
    await writeFile(empty, "\n\n");
    const e = capture();
    assert.equal(await runCli(["data", "stats", empty], e.io, commands), 0);
    assert.equal(e.out.join(""), `${empty}: no records\n`);
    const arrays = join(dir, "arrays.jsonl");
    await writeFile(arrays, '[]\n{"id": "a", "query": "q", "expected_tools": ["get_weather"]}\n');
    const a = capture();
    assert.equal(await runCli(["data", "stats", arrays, "--json"], a.io, commands), 0);
    const stats = JSON.parse(a.out.join(""));
    assert.equal(stats.records, 2);
    assert.equal(stats.notObjects, 1);
    assert.equal(stats.toolCalls.get_weather, 1);
    const t = capture();
    await runCli(["data", "stats", arrays], t.io, commands);
    assert.match(t.out.join(""), /2 records \(1 not a JSON object and left out of the counts below: `agenttune data validate .*arrays\.jsonl` names them\)/);
    const v = capture();
    assert.equal(await runCli(["data", "validate", arrays], v.io, commands), 1);
    assert.match(v.out.join(""), /arrays\.jsonl:1: must be a JSON object, got an array\n/);
  });

  it("synth writes the kept examples and reports the drops", async () => {
    const writer: ChatModel = {
      id: "fake",
      async generate() {
        return { text: "Query: What is the capital of Peru?\nThought: No tool is needed.\nAnswer: Lima is the capital of Peru.", finishReason: "stop" };
      },
      async *stream() {
        yield "";
      },
    };
    const synth = createDataSynthCommand({ openModel: async () => writer, tools: async () => tools });
    const out = join(dir, "synth.jsonl");
    const c = capture();
    assert.equal(await runCli(["data", "synth", "--base-url", "http://127.0.0.1:1/v1", "--model", "m", "--n", "3", "--max-attempts", "4", "--out", out], c.io, [synth]), 0, c.err.join(""));
    assert.match(c.out.join(""), /kept 1 of 4 responses/);
    assert.match(c.out.join(""), /dropped: duplicate 3/);
    assert.equal((await readFile(out, "utf8")).trim().split("\n").length, 1);
  });

  it("synth against a server that does not answer stops after a few requests, says why, and writes nothing", async () => {
    let calls = 0;
    const down: ChatModel = {
      id: "down",
      async generate() {
        calls++;
        throw new Error("connect ECONNREFUSED 127.0.0.1:9");
      },
      async *stream() {
        yield "";
      },
    };
    const synth = createDataSynthCommand({ openModel: async () => down, tools: async () => tools });
    const out = join(dir, "synth-down.jsonl");
    const c = capture();
    assert.equal(await runCli(["data", "synth", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--n", "5", "--concurrency", "1", "--out", out], c.io, [synth]), 1);
    assert.equal(calls, 3);
    assert.match(c.err.join(""), /kept none of 3 responses, so nothing was written; dropped: model_error 3; the first failed request: connect ECONNREFUSED/);
    assert.match(c.err.join(""), /hint: check that http:\/\/127\.0\.0\.1:9\/v1 answers/);
    assert.ok(!existsSync(out));
    for (const [flags, message] of [
      [["--base-url", "notaurl"], /--base-url is not an http\(s\) URL: "notaurl"/],
      [["--base-url", "http://h/v1", "--max-attempts", "0"], /--max-attempts must be a whole number ≥ 1, got 0/],
    ] as const) {
      const bad = capture();
      assert.equal(await runCli(["data", "synth", ...flags, "--model", "m", "--out", out], bad.io, [synth]), 2);
      assert.match(bad.err.join(""), message);
    }
  });
});
