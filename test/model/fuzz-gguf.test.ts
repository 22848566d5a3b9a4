import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { FileFormatError } from "../../src/errors.js";
import { UnsupportedModelError } from "../../src/model/config.js";
import { openGguf } from "../../src/model/gguf.js";
import { writeGguf } from "../../src/model/gguf-writer.js";
import { GgmlType } from "../../src/quant/gguf-blocks.js";
import { MutantFile, mutate, rng } from "./fuzz-helpers.js";

const ITERATIONS = 10000;
const dir = mkdtempSync(join(tmpdir(), "agenttune-fuzz-gguf-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("mutated GGUF headers always end in FileFormatError or a valid file", () => {
  const basePath = join(dir, "base.gguf");
  writeGguf(basePath, {
    metadata: {
      "general.architecture": "llama",
      "llama.block_count": 1,
      "tokenizer.ggml.tokens": ["a", "b", "<s>", "é"],
      "tokenizer.ggml.scores": [0.5, 1.5, -1, 0],
      flag: true,
      nested: [[1], [2, 3]],
    },
    tensors: [
      { name: "token_embd.weight", shape: [4, 32], type: "F16", data: new Float32Array(128).fill(0.5) },
      { name: "blk.0.attn_q.weight", shape: [2, 32], type: GgmlType.Q4_0, bytes: new Uint8Array(36).fill(0x11) },
      { name: "output_norm.weight", shape: [32], type: "F32", data: new Float32Array(32).fill(1) },
    ],
  });
  const base = readFileSync(basePath);
  const g = openGguf(basePath);
  const headerEnd = g.dataStart;
  g.close();

  const rand = rng(20261124);
  const path = join(dir, "mutant.gguf");
  const mutant = new MutantFile(path);
  const outcomes = { formatError: 0, opened: 0 };
  for (let i = 0; i < ITERATIONS; i++) {
    const bytes = mutate(base, headerEnd, rand);
    mutant.write(bytes);
    let file: ReturnType<typeof openGguf> | undefined;
    try {
      file = openGguf(path);
    } catch (error) {
      if (!(error instanceof FileFormatError)) assert.fail(`iteration ${i}: ${String(error)} (${(error as Error).name})`);
      assert.equal(error.file, path);
      outcomes.formatError++;
      continue;
    }
    outcomes.opened++;
    try {
      for (const t of file.tensors) {
        assert.ok(t.fileOffset + t.byteSize <= bytes.length, `iteration ${i}: ${t.name} out of bounds`);
        try {
          assert.equal(file.readTensor(t.name).length, t.elements);
        } catch (error) {
          // A type id mutated into a known type this reader only lists but cannot dequantise.
          if (!(error instanceof UnsupportedModelError)) assert.fail(`iteration ${i}: reading ${t.name}: ${String(error)}`);
        }
      }
    } finally {
      file.close();
    }
  }
  mutant.close();
  assert.equal(outcomes.formatError + outcomes.opened, ITERATIONS);
  assert.ok(outcomes.formatError > ITERATIONS / 2, `only ${outcomes.formatError} of ${ITERATIONS} mutations were refused`);
});
