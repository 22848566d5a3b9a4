import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { FileFormatError } from "../../src/errors.js";
import { openSafetensors, openSafetensorsModel, UnsupportedDtypeError, writeSafetensors } from "../../src/model/safetensors.js";

const dir = mkdtempSync(join(tmpdir(), "agenttune-st-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const fixture = new URL("../fixtures/model/small.safetensors", import.meta.url).pathname;
const expected = JSON.parse(readFileSync(`${fixture}.json`, "utf8")).tensors as Record<string, { shape: number[]; values: number[] }>;

/** Builds a safetensors file from a header object and a data section. */
function rawFile(name: string, header: unknown, data: Uint8Array | number = 0, pad = ""): string {
  const json = Buffer.from(JSON.stringify(header) + pad, "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const body = typeof data === "number" ? new Uint8Array(data) : data;
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([len, json, body]));
  return path;
}

function formatError(fn: () => unknown, location: RegExp | string, problem?: RegExp): FileFormatError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof FileFormatError, `expected FileFormatError, got ${String(error)}`);
    if (typeof location === "string") assert.equal(error.location, location);
    else assert.match(error.location ?? "", location);
    if (problem) assert.match(error.message, problem);
    assert.ok(error.hint);
    return error;
  }
  assert.fail("no error thrown");
}

describe("reading safetensors", () => {
  test("a file written by the reference library reads back its values, dtypes and metadata", () => {
    const f = openSafetensors(fixture);
    try {
      assert.deepEqual(f.metadata, { format: "pt", note: "fixture" });
      for (const name of ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight", "scalar"]) {
        const info = f.tensor(name);
        assert.deepEqual(info?.shape, expected[name].shape);
        assert.deepEqual(Array.from(f.readTensor(name)), expected[name].values, name);
      }
      assert.equal(f.tensor("model.norm.weight")?.dtype, "F16");
      assert.equal(f.tensor("lm_head.weight")?.dtype, "BF16");
      const ids = f.readTensorRaw("position_ids");
      assert.deepEqual(Array.from(new BigInt64Array(ids.buffer, ids.byteOffset, 6), Number), expected.position_ids.values);
      assert.throws(() => f.readTensor("position_ids"), UnsupportedDtypeError);
    } finally {
      f.close();
    }
  });

  test("the writer's output reads back identically and pads the header to 8 bytes with spaces", () => {
    const path = join(dir, "written.safetensors");
    const a = Float32Array.from({ length: 6 }, (_, i) => i * 0.25 - 0.5);
    writeSafetensors(path, { "b.weight": { dtype: "F16", shape: [3], data: Float32Array.of(1, -2, 0.5) }, "a.weight": { dtype: "F32", shape: [2, 3], data: a } }, { format: "pt" });
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal(n % 8, 0);
    const header = bytes.subarray(8, 8 + n).toString("utf8");
    assert.match(header, /^\{"__metadata__":\{"format":"pt"\},"a\.weight":\{"dtype":"F32","shape":\[2,3\],"data_offsets":\[0,24\]\},"b\.weight"/);
    assert.match(header, / *$/);
    const f = openSafetensors(path);
    assert.deepEqual(Array.from(f.readTensor("a.weight")), Array.from(a));
    assert.deepEqual(Array.from(f.readTensor("b.weight")), [1, -2, 0.5]);
    f.close();
  });

  test("a sharded model reads through its index as one set of tensors", () => {
    const shardDir = mkdtempSync(join(dir, "sharded-"));
    writeSafetensors(join(shardDir, "model-00001-of-00002.safetensors"), { x: { dtype: "F32", shape: [2], data: Float32Array.of(1, 2) } });
    writeSafetensors(join(shardDir, "model-00002-of-00002.safetensors"), { y: { dtype: "BF16", shape: [1], data: Float32Array.of(3) } });
    writeFileSync(
      join(shardDir, "model.safetensors.index.json"),
      JSON.stringify({ metadata: { total_size: 10 }, weight_map: { x: "model-00001-of-00002.safetensors", y: "model-00002-of-00002.safetensors" } }),
    );
    const m = openSafetensorsModel(shardDir);
    assert.deepEqual(m.tensors.map((t) => t.name).sort(), ["x", "y"]);
    assert.deepEqual(Array.from(m.readTensor("y")), [3]);
    assert.deepEqual(Array.from(m.readTensor("x")), [1, 2]);
    assert.equal(m.metadata.total_size, "10");
    m.close();
  });

  test("an index that names the wrong shard is refused naming the weight_map entry", () => {
    const shardDir = mkdtempSync(join(dir, "badidx-"));
    writeSafetensors(join(shardDir, "a.safetensors"), { x: { dtype: "F32", shape: [1], data: Float32Array.of(1) } });
    writeSafetensors(join(shardDir, "b.safetensors"), { y: { dtype: "F32", shape: [1], data: Float32Array.of(1) } });
    writeFileSync(join(shardDir, "model.safetensors.index.json"), JSON.stringify({ weight_map: { x: "b.safetensors", y: "b.safetensors" } }));
    formatError(() => openSafetensorsModel(shardDir), 'weight_map["x"]');
  });
});

describe("bad safetensors headers name the file and the field", () => {
  const ok = { t: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
  test("a header length past the end of the file", () => {
    const path = join(dir, "hugelen.safetensors");
    const b = Buffer.alloc(16);
    b.writeBigUInt64LE(2n ** 60n);
    writeFileSync(path, b);
    const e = formatError(() => openSafetensors(path), "header length", /claims/);
    assert.equal(e.file, path);
  });
  test("a header length over the 100 MB cap in a multi-gigabyte file fails before reading it", () => {
    const path = join(dir, "sparse.safetensors");
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(4n * 2n ** 30n);
    writeFileSync(path, b);
    truncateSync(path, 8 * 2 ** 30);
    formatError(() => openSafetensors(path), "header length", /more than the 100000000 allowed/);
  });
  test("a file shorter than 8 bytes", () => {
    const path = join(dir, "tiny.safetensors");
    writeFileSync(path, Buffer.from([1, 2]));
    formatError(() => openSafetensors(path), "header length");
  });
  test("a header that is not JSON", () => {
    const path = join(dir, "notjson.safetensors");
    const b = Buffer.alloc(12);
    b.writeBigUInt64LE(4n);
    b.write("{abc", 8);
    writeFileSync(path, b);
    formatError(() => openSafetensors(path), "header", /JSON/);
  });
  test("an unknown dtype", () => {
    formatError(() => openSafetensors(rawFile("dtype.safetensors", { t: { dtype: "Q4", shape: [2], data_offsets: [0, 8] } }, 8)), 'tensors["t"].dtype', /Q4/);
  });
  test("a negative or fractional dimension", () => {
    formatError(() => openSafetensors(rawFile("shape.safetensors", { t: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, 8)), 'tensors["t"].shape');
    formatError(() => openSafetensors(rawFile("shape2.safetensors", { t: { dtype: "F32", shape: [1.5], data_offsets: [0, 8] } }, 8)), 'tensors["t"].shape');
  });
  test("offsets whose span does not match the shape", () => {
    formatError(() => openSafetensors(rawFile("span.safetensors", { t: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, 8)), 'tensors["t"].data_offsets', /needs 12/);
  });
  test("offsets past the end of the data", () => {
    formatError(() => openSafetensors(rawFile("past.safetensors", ok, 4)), 'tensors["t"].data_offsets', /past its end/);
  });
  test("overlapping tensors", () => {
    const h = { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } };
    formatError(() => openSafetensors(rawFile("overlap.safetensors", h, 12)), 'tensors["b"].data_offsets', /inside the previous tensor/);
  });
  test("a gap between tensors or trailing bytes", () => {
    const h = { a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, b: { dtype: "F32", shape: [1], data_offsets: [8, 12] } };
    formatError(() => openSafetensors(rawFile("gap.safetensors", h, 12)), 'tensors["b"].data_offsets', /gap/);
    formatError(() => openSafetensors(rawFile("trail.safetensors", ok, 12)), "data", /cover 8 bytes/);
  });
  test("non-string metadata", () => {
    formatError(() => openSafetensors(rawFile("meta.safetensors", { __metadata__: { n: 3 }, ...ok }, 8)), '__metadata__["n"]');
  });
  test("a header padded with trailing spaces is accepted", () => {
    const f = openSafetensors(rawFile("padded.safetensors", ok, 8, "     "));
    assert.equal(f.tensors.length, 1);
    f.close();
  });
});
