import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { type JsonlIssue, readJsonl, readJsonlChunks, readJsonlFile, writeJsonl } from "../../src/data/jsonl.js";
import { AgentTuneError, FileFormatError } from "../../src/errors.js";

const dir = await mkdtemp(join(tmpdir(), "agenttune-jsonl-"));
after(() => rm(dir, { recursive: true, force: true }));

async function collect(chunks: (string | Uint8Array)[], lenient = false) {
  const records: unknown[] = [];
  const issues: JsonlIssue[] = [];
  for await (const r of readJsonlChunks(chunks, "mem.jsonl", { lenient, onIssue: (i) => issues.push(i) })) records.push(r);
  return { records, issues };
}

describe("JSONL reader", () => {
  it("reads objects line by line with 1-based line numbers, skipping blank lines and CRLF", async () => {
    const { records } = await collect(['{"a": 1}\r\n\n  \n{"b"', ': 2}\n[3]\n']);
    assert.deepEqual(records, [
      { line: 1, value: { a: 1 } },
      { line: 4, value: { b: 2 } },
      { line: 5, value: [3] },
    ]);
  });

  it("decodes a UTF-8 character split across chunks and drops a byte-order mark", async () => {
    const bytes = Buffer.from('\ufeff{"t": "ありがとう"}\n', "utf8");
    const { records } = await collect([bytes.subarray(0, 9), bytes.subarray(9, 10), bytes.subarray(10)]);
    assert.deepEqual(records, [{ line: 1, value: { t: "ありがとう" } }]);
  });

  it("accepts a last line without newline when it is complete", async () => {
    const { records } = await collect(['{"a": 1}\n{"b": 2}']);
    assert.equal(records.length, 2);
  });

  it("names the file and line of a malformed line", async () => {
    await assert.rejects(collect(['{"a": 1}\n{"b": \n']), (error: FileFormatError) => {
      assert.ok(error instanceof FileFormatError);
      assert.equal(error.file, "mem.jsonl");
      assert.equal(error.location, "line 2");
      assert.match(error.message, /mem\.jsonl \(line 2\): not valid JSON/);
      return true;
    });
  });

  it("detects a truncated last line", async () => {
    const { issues, records } = await collect(['{"a": 1}\n{"b": [1, 2'], true);
    assert.equal(records.length, 1);
    assert.equal(issues.length, 1);
    assert.equal(issues[0].line, 2);
    assert.match(issues[0].problem, /cut short/);
  });

  it("collects every bad line in lenient mode and keeps reading", async () => {
    const { issues, records } = await collect(["nope\n{\"ok\": true}\n{]\n\n{\"ok\": 2}\n"], true);
    assert.deepEqual(
      issues.map((i) => i.line),
      [1, 3],
    );
    assert.equal(records.length, 2);
  });

  it("reports an over-long line instead of growing without bound", async () => {
    const records: unknown[] = [];
    const issues: JsonlIssue[] = [];
    const chunks = [`{"x": "${"a".repeat(50)}`, `${"a".repeat(50)}"}\n{"y": 1}\n`];
    for await (const r of readJsonlChunks(chunks, "mem", { lenient: true, maxLineChars: 40, onIssue: (i) => issues.push(i) })) records.push(r);
    assert.equal(issues.length, 1);
    assert.equal(issues[0].line, 1);
    assert.deepEqual(records, [{ line: 2, value: { y: 1 } }]);
  });

  it("reads a file from disk, and a missing file is an InvalidInputError", async () => {
    const file = join(dir, "a.jsonl");
    await writeFile(file, '{"id": "x"}\n{bad\n');
    const { records, issues } = await readJsonlFile(file);
    assert.equal(records.length, 1);
    assert.equal(issues[0].line, 2);
    await assert.rejects(async () => {
      for await (const _ of readJsonl(join(dir, "missing.jsonl"))) void _;
    }, /no such file/);
  });

  it("never throws an untyped error on random bytes, split anywhere (fuzz)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 5 }), fc.boolean(), async (bytes, cuts, lenient) => {
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let at = 0;
        for (const p of [...points, bytes.length]) {
          chunks.push(bytes.subarray(at, p));
          at = p;
        }
        try {
          for await (const r of readJsonlChunks(chunks, "fuzz.jsonl", { lenient, onIssue: () => undefined })) assert.ok(r.line >= 1);
        } catch (error) {
          assert.ok(error instanceof AgentTuneError, String(error));
        }
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it("never throws an untyped error on truncations of valid JSONL (fuzz)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue(), { minLength: 1, maxLength: 6 }), fc.nat(), async (values, cut) => {
        const text = values.map((v) => JSON.stringify(v)).join("\n");
        const truncated = text.slice(0, cut % (text.length + 1));
        const issues: JsonlIssue[] = [];
        let count = 0;
        for await (const _ of readJsonlChunks([truncated], "t.jsonl", { lenient: true, onIssue: (i) => issues.push(i) })) count++;
        const complete = truncated === text;
        if (complete) assert.equal(count, values.length);
        assert.ok(count + issues.length <= values.length);
      }),
      { numRuns: 300, seed: 11 },
    );
  });
});

describe("JSONL writer", () => {
  it("writes one JSON value a line and reads back the same values", async () => {
    const file = join(dir, "sub", "out.jsonl");
    const values = [{ a: 1 }, { text: "line\nbreak" }, [1, 2]];
    assert.equal(await writeJsonl(file, values), 3);
    assert.equal(await readFile(file, "utf8"), '{"a":1}\n{"text":"line\\nbreak"}\n[1,2]\n');
    const back: unknown[] = [];
    for await (const r of readJsonl(file)) back.push(r.value);
    assert.deepEqual(back, values);
  });

  it("leaves the old file intact and no temp file when writing fails", async () => {
    const file = join(dir, "keep.jsonl");
    await writeFile(file, '{"old": true}\n');
    async function* failing() {
      yield { new: 1 };
      throw new Error("source broke");
    }
    await assert.rejects(writeJsonl(file, failing()), /source broke/);
    assert.equal(await readFile(file, "utf8"), '{"old": true}\n');
    assert.deepEqual((await readdir(dir)).filter((n) => n.includes("keep.jsonl") && n.endsWith(".tmp")), []);
  });
});
