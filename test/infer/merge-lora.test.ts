import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { FileFormatError } from "../../src/errors.js";
import { AdapterMismatchError, mergeLora, mergeLoraPair, readMergeableAdapter } from "../../src/infer/merge-lora.js";
import type { HostWeight } from "../../src/model/decoder.js";
import { exportPeftAdapter, type LoraWeights } from "../../src/train/export-peft.js";

const dir = await mkdtemp(join(tmpdir(), "agenttune-merge-lora-"));
after(() => rm(dir, { recursive: true, force: true }));

const Q = "model.layers.0.self_attn.q_proj.weight";
const QA = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
const QB = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight";

// W: [2, 3], A: [r=2, 3], B: [2, r=2], alpha 4 → scale 2.
const W = Float32Array.of(1, 2, 3, 4, 5, 6);
const A = Float32Array.of(1, 0, 2, 0, 1, -1);
const B = Float32Array.of(1, 2, 3, -1);

function adapter(tensors: [string, readonly number[], Float32Array][], rank = 2, alpha = 4): LoraWeights {
  return { baseModel: "test", rank, alpha, dropout: 0, targets: ["q_proj"], tensors: new Map(tensors.map(([k, shape, data]) => [k, { shape, data }])) };
}

test("W + (alpha/r)·B·A matches the product worked by hand", () => {
  // B·A = [[1·1 + 2·0, 1·0 + 2·1, 1·2 + 2·(-1)], [3·1 - 1·0, 3·0 - 1·1, 3·2 - 1·(-1)]] = [[1, 2, 0], [3, -1, 7]]
  // W + 2·B·A = [[3, 6, 3], [10, 3, 20]]
  const w = Float32Array.from(W);
  mergeLoraPair(w, A, B, 2, 3, 2, 2);
  assert.deepEqual([...w], [3, 6, 3, 10, 3, 20]);
});

test("mergeLora merges into a copy and leaves the input weights and other tensors as they were", () => {
  const norm: HostWeight = { shape: [3], data: Float32Array.of(1, 1, 1) };
  const weights = new Map<string, HostWeight>([
    [Q, { shape: [2, 3], data: Float32Array.from(W) }],
    ["model.norm.weight", norm],
  ]);
  const merged = mergeLora(weights, adapter([[QA, [2, 3], A], [QB, [2, 2], B]]));
  assert.deepEqual([...(merged.get(Q) as HostWeight).data], [3, 6, 3, 10, 3, 20]);
  assert.deepEqual([...(weights.get(Q) as HostWeight).data], [...W]);
  assert.equal(merged.get("model.norm.weight"), norm);
});

test("a larger merge agrees with the naive triple loop", () => {
  const out = 37;
  const inF = 53;
  const r = 5;
  const val = (i: number, k: number) => Math.sin(i * 0.7 + k) / 3;
  const w = Float32Array.from({ length: out * inF }, (_, i) => val(i, 1));
  const a = Float32Array.from({ length: r * inF }, (_, i) => val(i, 2));
  const b = Float32Array.from({ length: out * r }, (_, i) => val(i, 3));
  const want = Float32Array.from(w);
  for (let o = 0; o < out; o++)
    for (let i = 0; i < inF; i++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += (b[o * r + k] as number) * (a[k * inF + i] as number);
      want[o * inF + i] = (want[o * inF + i] as number) + 1.6 * s;
    }
  mergeLoraPair(w, a, b, out, inF, r, 1.6);
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs((w[i] as number) - (want[i] as number)) < 1e-5, `element ${i}`);
});

test("an adapter that does not fit the model is refused with the key named", () => {
  const weights = new Map<string, HostWeight>([[Q, { shape: [2, 3], data: Float32Array.from(W) }]]);
  const refused = (tensors: [string, readonly number[], Float32Array][], key: string, problem: RegExp) =>
    assert.throws(
      () => mergeLora(weights, adapter(tensors)),
      (e: unknown) => e instanceof AdapterMismatchError && e.key === key && problem.test(e.message) && e.hint !== undefined,
    );
  refused([["base_model.model.lm_head.lora_A.weight", [2, 3], A]], "base_model.model.lm_head.lora_A.weight", /not a LoRA weight of a q\/k\/v\/o\/gate\/up\/down projection/);
  refused([[QA, [2, 3], A]], QA, /has no lora_B partner/);
  const k5 = "base_model.model.model.layers.5.self_attn.k_proj.lora_A.weight";
  refused([[k5, [2, 3], A], [k5.replace("lora_A", "lora_B"), [2, 2], B]], k5, /targets model\.layers\.5\.self_attn\.k_proj\.weight, which this model does not have/);
  refused([[QA, [3, 2], A], [QB, [2, 2], B]], QA, /has shape \[3, 2\].*lora_A must be \[2, 3\]/);
  refused([[QA, [2, 3], A], [QB, [1, 4], B]], QB, /has shape \[1, 4\].*lora_B must be \[2, 2\]/);
});

test("readMergeableAdapter honours rsLoRA's alpha/√r and refuses DoRA naming the field", async () => {
  const folder = join(dir, "adapter");
  exportPeftAdapter(folder, adapter([[QA, [2, 3], A], [QB, [2, 2], B]], 2, 4));
  assert.equal(readMergeableAdapter(folder).scale, 2);
  const configPath = join(folder, "adapter_config.json");
  const config = JSON.parse(await readFile(configPath, "utf8"));
  await writeFile(configPath, JSON.stringify({ ...config, use_rslora: true }));
  assert.equal(readMergeableAdapter(folder).scale, 4 / Math.SQRT2);
  await writeFile(configPath, JSON.stringify({ ...config, use_dora: true }));
  assert.throws(() => readMergeableAdapter(folder), (e: unknown) => e instanceof FileFormatError && e.location === "use_dora");
  await writeFile(configPath, JSON.stringify({ ...config, rank_pattern: { q_proj: 8 } }));
  assert.throws(() => readMergeableAdapter(folder), (e: unknown) => e instanceof FileFormatError && e.location === "rank_pattern");
});
