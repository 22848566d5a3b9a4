import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { FileFormatError } from "../../src/errors.js";
import { UnsupportedModelError } from "../../src/model/config.js";
import { GgufValueType, openGguf } from "../../src/model/gguf.js";
import { ggufPermutesQK, permuteQK, unpermuteQK } from "../../src/model/gguf-permute.js";
import { writeGguf } from "../../src/model/gguf-writer.js";
import { GgmlType } from "../../src/quant/gguf-blocks.js";
import { GEMMA3_GGUF, SKIP_NO_GEMMA3, SKIP_NO_SMOLLM2, SMOLLM2_GGUF } from "../helpers/real-models.js";

const dir = mkdtempSync(join(tmpdir(), "agenttune-gguf-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A small valid GGUF: two F32 tensors, some metadata. Returns its bytes. */
function smallGguf(name = "small.gguf"): { path: string; bytes: Buffer } {
  const path = join(dir, name);
  writeGguf(path, {
    metadata: { "general.architecture": "llama", "general.name": "tiny" },
    tensors: [
      { name: "a.weight", shape: [2, 32], type: "F32", data: new Float32Array(64).fill(1) },
      { name: "b.weight", shape: [32], type: "F32", data: new Float32Array(32).fill(2) },
    ],
  });
  return { path, bytes: readFileSync(path) };
}

/** Byte offset just after the tensor name `name` in the tensor infos. */
function afterName(bytes: Buffer, name: string): number {
  const i = bytes.indexOf(Buffer.from(name, "utf8"), 24);
  assert.ok(i > 0);
  return i + name.length;
}

function expectFormatError(path: string, location: RegExp, problem?: RegExp): void {
  try {
    openGguf(path).close();
  } catch (error) {
    assert.ok(error instanceof FileFormatError, `expected FileFormatError, got ${String(error)}`);
    assert.equal(error.file, path);
    assert.match(error.location ?? "", location);
    if (problem) assert.match(error.message, problem);
    return;
  }
  assert.fail("no error thrown");
}

describe("GGUF writer ↔ reader round trip", () => {
  test("metadata of every value type and F32/F16/BF16/Q8_0 tensors read back as written", () => {
    const path = join(dir, "roundtrip.gguf");
    const tokens = Array.from({ length: 5000 }, (_, i) => `tok${i}·é`);
    tokens[1] = "\uFEFF\uFEFF"; // a leading byte-order mark is part of the token, not stripped
    const q8 = new Uint8Array(34 * 2);
    q8[0] = 0x00;
    q8[1] = 0x3c; // d = 1.0
    for (let i = 0; i < 32; i++) q8[2 + i] = (i - 16) & 0xff;
    q8[34 + 1] = 0x38; // d = 0.5
    q8[36] = 4;
    const f = Float32Array.from({ length: 12 }, (_, i) => i / 8 - 0.75);
    writeGguf(path, {
      metadata: {
        "general.architecture": "qwen2",
        "general.alignment": 64,
        u8: 200,
        i8: -5,
        u16: 60000,
        i16: -300,
        u32: 4000000000,
        i32: -7,
        f32: 0.5,
        flag: true,
        big: 2n ** 60n,
        neg64: -(2n ** 40n),
        f64: 1.25,
        "tokenizer.ggml.tokens": tokens,
        scores: [0.5, -1.5],
        nested: [
          [1, 2],
          [3, 4, 5],
        ],
      },
      metadataTypes: {
        u8: { type: GgufValueType.UINT8 },
        i8: { type: GgufValueType.INT8 },
        u16: { type: GgufValueType.UINT16 },
        i16: { type: GgufValueType.INT16 },
        i32: { type: GgufValueType.INT32 },
        neg64: { type: GgufValueType.INT64 },
        f64: { type: GgufValueType.FLOAT64 },
        nested: { type: GgufValueType.ARRAY, elementType: GgufValueType.ARRAY, elements: { type: GgufValueType.ARRAY, elementType: GgufValueType.INT32 } },
      },
      tensors: [
        { name: "w32", shape: [3, 4], type: "F32", data: f },
        { name: "w16", shape: [3, 4], type: "F16", data: f },
        { name: "wbf", shape: [12], type: "BF16", data: f },
        { name: "wq8", shape: [2, 32], type: GgmlType.Q8_0, bytes: q8 },
      ],
    });
    const g = openGguf(path);
    try {
      assert.equal(g.version, 3);
      assert.equal(g.alignment, 64);
      assert.equal(g.dataStart % 64, 0);
      assert.equal(g.architecture, "qwen2");
      const m = g.metadata;
      assert.deepEqual(
        [m.u8, m.i8, m.u16, m.i16, m.u32, m.i32, m.f32, m.flag, m.big, m.neg64, m.f64],
        [200, -5, 60000, -300, 4000000000, -7, 0.5, true, 2n ** 60n, -(2 ** 40), 1.25],
      );
      assert.deepEqual(m["tokenizer.ggml.tokens"], tokens);
      assert.deepEqual(m.scores, [0.5, -1.5]);
      assert.deepEqual(m.nested, [
        [1, 2],
        [3, 4, 5],
      ]);
      assert.equal(g.metadataTypes.u8.type, GgufValueType.UINT8);
      assert.equal(g.metadataTypes["tokenizer.ggml.tokens"].elementType, GgufValueType.STRING);
      assert.deepEqual(g.tensor("w32")?.ne, [4, 3]);
      assert.deepEqual(g.tensor("w32")?.shape, [3, 4]);
      for (const t of g.tensors) assert.equal(t.fileOffset % 64, 0);
      assert.deepEqual(Array.from(g.readTensor("w32")), Array.from(f));
      assert.deepEqual(Array.from(g.readTensor("w16")), Array.from(f)); // exact in half
      assert.deepEqual(Array.from(g.readTensor("wbf")), Array.from(f));
      const q = g.readTensor("wq8");
      assert.equal(q[0], -16);
      assert.equal(q[31], 15);
      assert.equal(q[32], 2);
      assert.equal(q[33], 0);
      assert.equal(g.tensor("wq8")?.typeName, "Q8_0");
      assert.equal(g.readTensorRaw("wq8").length, 68);
      // Writing what was read gives the same bytes.
      const again = join(dir, "again.gguf");
      writeGguf(again, {
        metadata: g.metadata,
        metadataTypes: g.metadataTypes,
        tensors: g.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.type, bytes: g.readTensorRaw(t.name) })),
      });
      assert.deepEqual(readFileSync(again), readFileSync(path));
    } finally {
      g.close();
    }
  });

  test("a tensor type the reader cannot dequantise is refused by name, its raw bytes still readable", () => {
    const path = join(dir, "iq.gguf");
    writeGguf(path, { metadata: {}, tensors: [{ name: "x", shape: [32], type: GgmlType.IQ4_NL, bytes: new Uint8Array(18) }] });
    const g = openGguf(path);
    assert.throws(() => g.readTensor("x"), (e: unknown) => e instanceof UnsupportedModelError && /IQ4_NL/.test(e.message));
    assert.equal(g.readTensorRaw("x").length, 18);
    g.close();
  });
});

describe("bad GGUF headers name the file and the field", () => {
  test("a wrong magic", () => {
    const { bytes } = smallGguf();
    bytes.write("GGML", 0);
    writeFileSync(join(dir, "magic.gguf"), bytes);
    expectFormatError(join(dir, "magic.gguf"), /^magic$/, /GGUF/);
  });
  test("an unsupported version", () => {
    const { bytes } = smallGguf();
    bytes.writeUInt32LE(1, 4);
    writeFileSync(join(dir, "v1.gguf"), bytes);
    expectFormatError(join(dir, "v1.gguf"), /^version$/, /version 1/);
  });
  test("a tensor count larger than the file could hold fails before allocating", () => {
    const { bytes } = smallGguf();
    bytes.writeBigUInt64LE(2n ** 40n, 8);
    writeFileSync(join(dir, "count.gguf"), bytes);
    expectFormatError(join(dir, "count.gguf"), /^tensor_count$/, /1099511627776 tensors/);
    bytes.writeBigUInt64LE(2n, 8);
    bytes.writeBigUInt64LE(2n ** 63n, 16);
    writeFileSync(join(dir, "kv.gguf"), bytes);
    expectFormatError(join(dir, "kv.gguf"), /^kv_count$/);
  });
  test("a string length past the end of the file", () => {
    const { bytes } = smallGguf();
    bytes.writeBigUInt64LE(2n ** 50n, 24); // first key's length
    writeFileSync(join(dir, "str.gguf"), bytes);
    expectFormatError(join(dir, "str.gguf"), /^metadata\[0\]\.key$/, /claims/);
  });
  test("an unknown tensor type", () => {
    const { bytes } = smallGguf();
    const at = afterName(bytes, "a.weight");
    bytes.writeUInt32LE(77, at + 4 + 16);
    writeFileSync(join(dir, "type.gguf"), bytes);
    expectFormatError(join(dir, "type.gguf"), /^tensors\["a\.weight"\]\.type$/, /unknown GGML type 77/);
  });
  test("a tensor offset past the end of the data", () => {
    const { bytes } = smallGguf();
    const at = afterName(bytes, "b.weight");
    bytes.writeBigUInt64LE(1024n * 32n, at + 4 + 8 + 4);
    writeFileSync(join(dir, "past.gguf"), bytes);
    expectFormatError(join(dir, "past.gguf"), /^tensors\["b\.weight"\]\.offset$/, /past the end/);
  });
  test("overlapping tensors", () => {
    const { bytes } = smallGguf();
    const at = afterName(bytes, "b.weight");
    bytes.writeBigUInt64LE(128n, at + 4 + 8 + 4); // a.weight spans 0..256
    writeFileSync(join(dir, "overlap.gguf"), bytes);
    expectFormatError(join(dir, "overlap.gguf"), /^tensors\["b\.weight"\]\.offset$/, /inside "a\.weight"/);
  });
  test("a misaligned tensor offset", () => {
    const { bytes } = smallGguf();
    const at = afterName(bytes, "b.weight");
    bytes.writeBigUInt64LE(260n, at + 4 + 8 + 4);
    writeFileSync(join(dir, "align.gguf"), bytes);
    expectFormatError(join(dir, "align.gguf"), /^tensors\["b\.weight"\]\.offset$/, /alignment/);
  });
  test("a truncated file", () => {
    const { bytes } = smallGguf();
    writeFileSync(join(dir, "trunc.gguf"), bytes.subarray(0, bytes.length - 10));
    expectFormatError(join(dir, "trunc.gguf"), /^tensors\["b\.weight"\]\.offset$/, /past the end/);
    writeFileSync(join(dir, "trunc2.gguf"), bytes.subarray(0, 100));
    expectFormatError(join(dir, "trunc2.gguf"), /^metadata/, /ends/);
  });
});

describe("lying counts in a multi-gigabyte file fail fast, without allocating what they claim", () => {
  /** A sparse 8 GB file whose header is `head`. */
  function sparse(name: string, head: Buffer): string {
    const path = join(dir, name);
    writeFileSync(path, head);
    truncateSync(path, 8 * 2 ** 30);
    return path;
  }
  function header(kv: Buffer, tensorCount = 0n): Buffer {
    const h = Buffer.alloc(24);
    h.write("GGUF", 0);
    h.writeUInt32LE(3, 4);
    h.writeBigUInt64LE(tensorCount, 8);
    h.writeBigUInt64LE(kv.length > 0 ? 1n : 0n, 16);
    return Buffer.concat([h, kv]);
  }
  const key = (k: string) => {
    const b = Buffer.alloc(8 + k.length);
    b.writeBigUInt64LE(BigInt(k.length));
    b.write(k, 8);
    return b;
  };
  test("an array of 2^31 elements", () => {
    const v = Buffer.alloc(16);
    v.writeUInt32LE(GgufValueType.ARRAY, 0);
    v.writeUInt32LE(GgufValueType.UINT8, 4);
    v.writeBigUInt64LE(2n ** 31n, 8);
    expectFormatError(sparse("bigarray.gguf", header(Buffer.concat([key("x"), v]))), /^metadata\["x"\]$/, /2147483648 elements/);
  });
  test("a string of 4 GB", () => {
    const v = Buffer.alloc(12);
    v.writeUInt32LE(GgufValueType.STRING, 0);
    v.writeBigUInt64LE(2n ** 32n, 4);
    expectFormatError(sparse("bigstring.gguf", header(Buffer.concat([key("x"), v]))), /^metadata\["x"\]$/, /4294967296 bytes/);
  });
  test("a hundred million tensors", () => {
    expectFormatError(sparse("manytensors.gguf", header(Buffer.alloc(0), 100_000_000n)), /^tensors\[""\]$/, /duplicate tensor name/);
  });
});

describe("Q/K row permutation", () => {
  const fx = JSON.parse(readFileSync(new URL("../fixtures/model/qk-permute.json", import.meta.url), "utf8"));
  test("unpermuting llama.cpp's Q and K gives back the Hugging Face rows (convert_hf_to_gguf formula)", () => {
    const rowsQ = fx.n_head * fx.head_dim;
    const rowsK = fx.n_head_kv * fx.head_dim;
    const q = unpermuteQK(Float32Array.from(fx.q_gguf), rowsQ, fx.cols, fx.n_head);
    assert.deepEqual(Array.from(q), Array.from(Float32Array.from(fx.q_hf)));
    const k = unpermuteQK(Float32Array.from(fx.k_gguf), rowsK, fx.cols, fx.n_head_kv);
    assert.deepEqual(Array.from(k), Array.from(Float32Array.from(fx.k_hf)));
    assert.deepEqual(Array.from(permuteQK(Float32Array.from(fx.k_hf), rowsK, fx.cols, fx.n_head_kv)), Array.from(Float32Array.from(fx.k_gguf)));
  });
  test("permute then unpermute is the identity", () => {
    const w = Float32Array.from({ length: 24 * 5 }, (_, i) => Math.sin(i));
    assert.deepEqual(unpermuteQK(permuteQK(w, 24, 5, 3), 24, 5, 3), w);
    assert.throws(() => unpermuteQK(w, 24, 5, 5));
  });
  test("only llama GGUFs carry the permutation", () => {
    assert.equal(ggufPermutesQK("llama"), true);
    assert.equal(ggufPermutesQK("qwen2"), false);
    assert.equal(ggufPermutesQK("gemma3"), false);
  });
});

/** Checks a real GGUF against the summary gguf-py wrote (scripts/fixtures/gguf_summary.py). */
function realModelSuite(label: string, path: string | undefined, skip: string | false, fixture: string): void {
  describe(`the real ${label} GGUF`, { skip }, () => {
    const fx = JSON.parse(readFileSync(new URL(`../fixtures/model/${fixture}`, import.meta.url), "utf8"));
    test("header, metadata and tensor infos match what gguf-py reads", () => {
      const g = openGguf(path as string);
      try {
        assert.equal(statSync(g.path).size, fx.file_size);
        assert.equal(g.version, fx.version);
        assert.equal(g.tensors.length, fx.tensor_count);
        assert.equal(Object.keys(g.metadata).length, fx.kv_count);
        assert.equal(g.alignment, fx.alignment);
        assert.equal(g.dataStart, fx.data_offset);
        for (const [k, v] of Object.entries(fx.metadata)) assert.equal(g.metadata[k], v, k);
        const tokens = g.metadata["tokenizer.ggml.tokens"] as string[];
        assert.equal(tokens.length, fx.tokens.count);
        assert.deepEqual(tokens.slice(0, 5), fx.tokens.first);
        assert.deepEqual(tokens.slice(-3), fx.tokens.last);
        if (fx.merges) assert.deepEqual((g.metadata["tokenizer.ggml.merges"] as string[]).slice(0, 3), fx.merges.first);
        const counts: Record<string, number> = {};
        for (const t of g.tensors) counts[t.typeName] = (counts[t.typeName] ?? 0) + 1;
        assert.deepEqual(counts, fx.type_counts);
      } finally {
        g.close();
      }
    });
    test(`${Object.values(fx.tensors as Record<string, { type: string }>)
      .map((t) => t.type)
      .filter((t, i, a) => a.indexOf(t) === i)
      .join(", ")} tensors dequantise to gguf-py's values`, () => {
      const g = openGguf(path as string);
      try {
        for (const [name, want] of Object.entries(fx.tensors) as [string, { type: string; ne: number[]; offset: number; sum: number; sumsq: number; first16: number[]; stride: number; strided: number[] }][]) {
          const t = g.tensor(name);
          assert.ok(t, name);
          assert.equal(t.typeName, want.type);
          assert.deepEqual(t.ne, want.ne);
          assert.equal(t.fileOffset, want.offset);
          const x = g.readTensor(name);
          assert.deepEqual(Array.from(x.subarray(0, 16)), want.first16, name);
          const strided = [];
          for (let i = 0; i < x.length && strided.length < want.strided.length; i += want.stride) strided.push(x[i]);
          assert.deepEqual(strided, want.strided, name);
          let sum = 0;
          let sumsq = 0;
          for (const v of x) {
            sum += v;
            sumsq += v * v;
          }
          assert.ok(Math.abs(sum - want.sum) <= 1e-6 * Math.max(1, Math.abs(want.sum)) + 1e-6, `${name} sum ${sum} vs ${want.sum}`);
          assert.ok(Math.abs(sumsq - want.sumsq) <= 1e-6 * want.sumsq, `${name} sumsq`);
        }
      } finally {
        g.close();
      }
    });
    test("writing back what was read reproduces the file byte for byte", () => {
      const g = openGguf(path as string);
      const copy = join(dir, `rewrite-${fixture}.gguf`);
      try {
        writeGguf(copy, {
          metadata: g.metadata,
          metadataTypes: g.metadataTypes,
          tensors: g.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.type, bytes: g.readTensorRaw(t.name) })),
        });
      } finally {
        g.close();
      }
      const digest = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
      assert.equal(digest(copy), digest(path as string));
      rmSync(copy);
    });
  });
}

realModelSuite("SmolLM2-135M-Instruct", SMOLLM2_GGUF, SKIP_NO_SMOLLM2, "smollm2-gguf-summary.json");
realModelSuite("Gemma-3-270M", GEMMA3_GGUF, SKIP_NO_GEMMA3, "gemma3-gguf-summary.json");
