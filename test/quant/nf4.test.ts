import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { DYNAMIC_MAP } from "../../src/quant/dynamic-map.js";
import { NF4_LEVELS, dequantizeNf4, nf4BitsPerWeight, quantizeNf4 } from "../../src/quant/nf4.js";

interface Case {
  name: string;
  shape: [number, number];
  weights_f32_b64: string;
  packed_u8_b64: string;
  absmax_codes: number[];
  absmax_scales: number[];
  absmax_offset: number;
  dequantized_f32_b64: string;
}
const fixture = JSON.parse(readFileSync(new URL("../fixtures/quant/nf4-bitsandbytes.json", import.meta.url), "utf8")) as {
  versions: Record<string, string>;
  nf4_code: number[];
  dynamic_map: number[];
  cases: Case[];
};
const f32 = (b64: string) => {
  const buf = Buffer.from(b64, "base64");
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
};
const u8 = (b64: string) => new Uint8Array(Buffer.from(b64, "base64"));

/** A standard normal sample from a seeded generator (Box–Muller over an LCG). */
function normals(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const uniform = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return out;
}

test("the NF4 levels and the dynamic map equal bitsandbytes' tables bit for bit", () => {
  assert.deepEqual([...NF4_LEVELS], fixture.nf4_code.map(Math.fround));
  assert.deepEqual([...DYNAMIC_MAP], fixture.dynamic_map.map(Math.fround));
});

for (const c of fixture.cases) {
  test(`NF4 + double quantisation of "${c.name}" matches bitsandbytes ${fixture.versions.bitsandbytes}`, () => {
    const [rows, cols] = c.shape;
    const q = quantizeNf4(f32(c.weights_f32_b64), rows, cols);
    // The absmax mean may differ in its last bit (summation order), so compare the statistics by
    // value and the 4-bit codes exactly.
    assert.deepEqual([...q.packed], [...u8(c.packed_u8_b64)]);
    assert.ok(Math.abs(q.absmaxOffset - c.absmax_offset) <= 1e-6 * Math.abs(c.absmax_offset));
    const codeMismatches = q.absmaxCodes.filter((code, i) => Math.abs(code - c.absmax_codes[i]) > 0).length;
    assert.ok(codeMismatches <= Math.ceil(q.absmaxCodes.length * 0.01), `${codeMismatches} absmax codes differ`);
    for (let i = 0; i < c.absmax_scales.length; i++) {
      assert.ok(Math.abs(q.absmaxScales[i] - c.absmax_scales[i]) <= 1e-6 * c.absmax_scales[i]);
    }
    // Dequantising bitsandbytes' own state reproduces its output exactly.
    const theirs = { ...q, packed: u8(c.packed_u8_b64), absmaxCodes: Uint8Array.from(c.absmax_codes), absmaxScales: Float32Array.from(c.absmax_scales), absmaxOffset: Math.fround(c.absmax_offset) };
    assert.deepEqual([...dequantizeNf4(theirs)], [...f32(c.dequantized_f32_b64)]);
  });
}

test("the round-trip error of normal weights is that of 4-bit NF4 (QLoRA's behaviour)", () => {
  const rows = 256;
  const cols = 512;
  const w = normals(rows * cols, 7);
  const q = quantizeNf4(w, rows, cols);
  const back = dequantizeNf4(q);
  let se = 0;
  let ss = 0;
  let maxRelToAbsmax = 0;
  for (let b = 0; b < w.length / 64; b++) {
    let absmax = 0;
    for (let i = b * 64; i < b * 64 + 64; i++) absmax = Math.max(absmax, Math.abs(w[i]));
    for (let i = b * 64; i < b * 64 + 64; i++) {
      se += (w[i] - back[i]) ** 2;
      ss += w[i] ** 2;
      maxRelToAbsmax = Math.max(maxRelToAbsmax, Math.abs(w[i] - back[i]) / absmax);
    }
  }
  const relativeRms = Math.sqrt(se / ss);
  // NF4 on N(0,1) blocks of 64: relative RMS error ≈ 0.1 (it is information-theoretically
  // optimal for normal data; int4 with the same blocks sits near 0.12). No weight is off by more
  // than half the widest gap between levels (0.1617·absmax) plus the 8-bit absmax error.
  assert.ok(relativeRms > 0.07 && relativeRms < 0.11, `relative RMS error ${relativeRms}`);
  assert.ok(maxRelToAbsmax < 0.17, `max error / absmax ${maxRelToAbsmax}`);
});

test("storage is about 4.127 bits a weight", () => {
  const q = quantizeNf4(normals(4096 * 1024, 3), 4096, 1024);
  assert.ok(Math.abs(nf4BitsPerWeight(q) - 4.127) < 0.001, String(nf4BitsPerWeight(q)));
});

test("two codes a byte, the first element in the high nibble", () => {
  // block absmax 1: -1 → code 0, 1 → code 15, 0 → code 7
  const q = quantizeNf4(Float32Array.from([-1, 1, 0, 1, ...new Array(60).fill(0)]), 1, 64);
  assert.equal(q.packed[0], (0 << 4) | 15);
  assert.equal(q.packed[1], (7 << 4) | 15);
});

test("a non-finite weight is refused, naming its index", () => {
  assert.throws(() => quantizeNf4(Float32Array.from([0, Number.NaN]), 1, 2), /weight 1 is NaN/);
});
