import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { decodeBf16, encodeBf16 } from "../../../src/engine/cuda/bf16-host.js";
import { CudaNf4Weight, type Nf4Expansion, nf4ExpansionFromEnv } from "../../../src/engine/cuda/nf4-weight.js";
import { dequantizeNf4, quantizeNf4 } from "../../../src/quant/nf4.js";
import { openGpuOrSkip } from "./gpu.js";

function normals(n: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  return Float32Array.from({ length: n }, () => scale * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

test("$AGENTTUNE_NF4_EXPANSION picks the expansion kernel and names itself when it is wrong", () => {
  assert.equal(nf4ExpansionFromEnv({}), "word");
  assert.equal(nf4ExpansionFromEnv({ AGENTTUNE_NF4_EXPANSION: "wide" }), "wide");
  assert.throws(() => nf4ExpansionFromEnv({ AGENTTUNE_NF4_EXPANSION: "fast" }), /AGENTTUNE_NF4_EXPANSION is "fast"/);
});

const gpu = openGpuOrSkip();
after(() => gpu.device?.dispose());

describe("NF4 on the GPU", { skip: gpu.skip }, () => {
  const device = gpu.device!;

  // [300, 128] and [64, 64] leave the wide kernel's last block partly empty
  for (const [rows, cols, expansion] of [
    [64, 64, "word"],
    [896, 4864, "word"],
    [300, 128, "word"],
    [64, 64, "wide"],
    [896, 4864, "wide"],
    [300, 128, "wide"],
    [2048, 5, "wide"],
  ] as [number, number, Nf4Expansion][]) {
    test(`dequantising [${rows}, ${cols}] to bf16 (${expansion} kernel) equals the CPU reference rounded to bf16, bit for bit`, () => {
      const q = quantizeNf4(normals(rows * cols, rows + cols, 0.02), rows, cols);
      const weight = new CudaNf4Weight(device, q);
      const out = device.alloc(rows * cols * 2);
      weight.dequantizeInto(out, expansion);
      const bits = new Uint16Array(rows * cols);
      device.download(bits, out.ptr);
      const want = encodeBf16(dequantizeNf4(q));
      let mismatches = 0;
      for (let i = 0; i < bits.length; i++) if (bits[i] !== want[i]) mismatches++;
      assert.equal(mismatches, 0, `first values: got ${[...decodeBf16(bits.slice(0, 4))]}, want ${[...decodeBf16(want.slice(0, 4))]}`);
      out.free();
      weight.dispose();
    });
  }
});
