import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { GgmlType, canDequantize, dequantize, ggmlByteSize, ggmlTypeName } from "../../src/quant/gguf-blocks.js";
import { float32ToBf16Bytes, float32ToF16Bytes, floatToHalf, halfToFloat } from "../../src/quant/half.js";

interface Case {
  type: number;
  name: string;
  elements: number;
  bytes: string;
  expected: string;
}
const fixture = JSON.parse(readFileSync(new URL("../fixtures/quant/gguf-blocks.json", import.meta.url), "utf8")) as {
  cases: Case[];
};

function floats(b64: string): Float32Array {
  const bytes = Buffer.from(b64, "base64");
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

describe("GGML block dequantisation matches gguf-py", () => {
  for (const c of fixture.cases) {
    test(`${c.name} blocks dequantise to exactly gguf-py's values`, () => {
      const bytes = new Uint8Array(Buffer.from(c.bytes, "base64"));
      assert.equal(ggmlByteSize(c.type, c.elements), bytes.length);
      const got = dequantize(c.type, bytes, c.elements);
      // Same float32 operations in the same order as ggml/gguf-py: equal bit for bit.
      assert.deepEqual(Array.from(got), Array.from(floats(c.expected)));
    });
  }
});

test("every SPECS §5 type is covered by the gguf-py fixture", () => {
  const names = new Set(fixture.cases.map((c) => c.name));
  for (const n of ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q4_K", "Q5_K", "Q6_K"]) assert.ok(names.has(n), n);
});

test("Q8_K dequantises as d times the int8 quants", () => {
  const bytes = new Uint8Array(292);
  new DataView(bytes.buffer).setFloat32(0, 0.5, true);
  bytes[4] = 3;
  bytes[5] = 0xff; // -1
  bytes[4 + 255] = 0x80; // -128
  const y = dequantize(GgmlType.Q8_K, bytes, 256);
  assert.equal(y[0], 1.5);
  assert.equal(y[1], -0.5);
  assert.equal(y[2], 0);
  assert.equal(y[255], -64);
});

test("a byte count that does not match the element count is refused", () => {
  assert.throws(() => dequantize(GgmlType.Q4_0, new Uint8Array(17), 32), RangeError);
  assert.equal(ggmlByteSize(GgmlType.Q4_0, 33), undefined);
  assert.equal(ggmlByteSize(999, 32), undefined);
});

test("types with a known layout but no dequantiser say so by name", () => {
  assert.equal(canDequantize(GgmlType.IQ4_NL), false);
  assert.throws(() => dequantize(GgmlType.IQ4_NL, new Uint8Array(18), 32), /IQ4_NL/);
  assert.equal(ggmlTypeName(GgmlType.Q6_K), "Q6_K");
});

test("half conversion round-trips every finite half and rounds to nearest even", () => {
  for (let h = 0; h < 0x10000; h++) {
    const v = halfToFloat(h);
    if (Number.isNaN(v)) continue;
    const back = floatToHalf(v);
    // -0 and +0 keep their sign bits
    assert.equal(back, h, `half 0x${h.toString(16)}`);
  }
  assert.equal(floatToHalf(1 + 2 ** -11), floatToHalf(1)); // tie → even
  assert.equal(halfToFloat(floatToHalf(1 + 3 * 2 ** -11)), 1 + 2 * 2 ** -10);
  assert.equal(halfToFloat(floatToHalf(70000)), Number.POSITIVE_INFINITY);
  const f16 = float32ToF16Bytes([1, -2]);
  assert.deepEqual([...f16], [0x00, 0x3c, 0x00, 0xc0]);
  const bf = float32ToBf16Bytes([1, -2]);
  assert.deepEqual([...bf], [0x80, 0x3f, 0x00, 0xc0]);
});
