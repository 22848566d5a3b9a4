import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { CommandSpec } from "../../src/cli/command.js";
import { exportCommand } from "../../src/cli/export.js";
import { runCli } from "../../src/cli/main.js";
import { openGguf } from "../../src/model/gguf.js";
import { permuteQK } from "../../src/model/gguf-permute.js";
import { writeGguf } from "../../src/model/gguf-writer.js";
import { createTrainCommand } from "../../src/cli/train.js";
import { exportPeftAdapter, readPeftAdapter } from "../../src/train/export-peft.js";
import { chatmlTemplate } from "../../src/train/tokenize.js";
import { byteTokenize, SoftmaxModel } from "./fake-model.js";
import { baseWeightsFor, tinyAdapter } from "./tiny-adapter.js";

const root = mkdtempSync(join(tmpdir(), "agenttune-cli-train-"));
after(() => rmSync(root, { recursive: true, force: true }));

async function cli(argv: string[], commands: CommandSpec[]) {
  let out = "";
  let err = "";
  const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t), interactive: false }, commands);
  return { code, out, err };
}

const dataFile = join(root, "train.jsonl");
writeFileSync(
  dataFile,
  `${Array.from({ length: 6 }, (_, i) =>
    JSON.stringify({
      id: `ex-${i}`,
      query: `q${i}`,
      expected_tools: [],
      messages: [
        { role: "user", content: `q${i}` },
        { role: "assistant", content: `Thought: easy.\nAnswer: ${i}` },
      ],
    }),
  ).join("\n")}\n`,
);

describe("agenttune train / export", () => {
  it("trains through an engine, logs every step and writes a PEFT adapter (reference spellings)", async () => {
    const model = new SoftmaxModel(256);
    const command = createTrainCommand(async (request) => {
      assert.equal(request.lora.rank, 4);
      assert.deepEqual(request.lora.targets, ["q", "v"]);
      return { model, tokenize: byteTokenize, template: chatmlTemplate, adapter: () => ({ ...tinyAdapter(), baseModel: request.model }) };
    });
    const dir = join(root, "run");
    const r = await cli(
      ["train", "--model_id", "tiny", "--data", dataFile, "--output_dir", dir, "--train_samples", "4", "--num_train_epochs", "2", "--rank", "4", "--targets", "q,v", "--grad-accum", "1", "--lr", "0.01"],
      [command],
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /trained 8\/8 steps/);
    const log = readFileSync(join(dir, "train_log.jsonl"), "utf8").trim().split("\n");
    assert.equal(log.length, 8);
    assert.equal(readPeftAdapter(join(dir, "adapter")).baseModel, "tiny");
  });

  it("a bad flag value is a clear usage error", async () => {
    const command = createTrainCommand(async () => {
      throw new Error("not reached");
    });
    const r = await cli(["train", "--model", "m", "--data", dataFile, "--output-dir", join(root, "x"), "--targets", "q,attn"], [command]);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown --targets entry "attn"/);
    const dropout = await cli(["train", "--model", "m", "--data", dataFile, "--output-dir", join(root, "x"), "--dropout", "1.5"], [command]);
    assert.equal(dropout.code, 2);
    assert.match(dropout.err, /--dropout must be at least 0 and below 1, got 1\.5/);
    // settings that would train backwards, with no adapter, or never leave the warm-up
    for (const [flag, value, message] of [
      ["--lr", "-1", /--lr must be a positive number, got -1/],
      ["--alpha", "-5", /--alpha must be a positive number, got -5/],
      ["--warmup-ratio", "5", /--warmup-ratio must be at least 0 and below 1, got 5/],
      ["--targets", "", /--targets names no projection/],
    ] as const) {
      const r = await cli(["train", "--model", "m", "--data", dataFile, "--output-dir", join(root, "x"), `${flag}=${value}`], [command]);
      assert.equal(r.code, 2, `${flag}=${value}: ${r.err}`);
      assert.match(r.err, message);
    }
  });

  it("--weight-decay and --max-grad-norm (TRL's spellings too) reach the optimizer: a checkpoint made with others is not resumed, and bad values are named", async () => {
    const command = createTrainCommand(async (request) => ({ model: new SoftmaxModel(256), tokenize: byteTokenize, template: chatmlTemplate, adapter: () => ({ ...tinyAdapter(), baseModel: request.model }) }));
    const dir = join(root, "decay");
    const run = (extra: string[]) => cli(["train", "--model", "tiny", "--data", dataFile, "--output-dir", dir, "--train-samples", "4", "--epochs", "2", "--grad-accum", "1", "--lr", "0.01", "--save-every", "1", ...extra], [command]);
    const first = await run(["--weight_decay", "0.1", "--max_grad_norm", "0.5"]);
    assert.equal(first.code, 0, first.err);
    // decay and clipping change the updates, so a resume must ask for the same
    const again = await run(["--weight-decay", "0.1", "--max-grad-norm", "0.5", "--resume"]);
    assert.equal(again.code, 0, again.err);
    for (const other of [["--weight-decay", "0", "--max-grad-norm", "0.5"], ["--weight-decay", "0.1"]]) {
      const r = await run([...other, "--resume"]);
      assert.equal(r.code, 2, `${other.join(" ")}: ${r.err}`);
      assert.match(r.err, /is a checkpoint of another model or other training options/);
    }
    for (const [flag, value, message] of [
      ["--weight-decay", "-0.1", /--weight-decay must be a number ≥ 0, got -0\.1/],
      ["--max-grad-norm", "0", /--max-grad-norm must be a positive number, got 0/],
    ] as const) {
      const r = await run([`${flag}=${value}`]);
      assert.equal(r.code, 2, `${flag}=${value}: ${r.err}`);
      assert.match(r.err, message);
    }
  });

  it("--gpus needs --backend cuda and at least as many micro-batches a step as GPUs, checked before anything starts", async () => {
    const command = createTrainCommand(async () => {
      throw new Error("not reached");
    });
    const base = ["train", "--model", "m", "--data", dataFile, "--output-dir", join(root, "g"), "--gpus", "4"];
    const cpu = await cli([...base, "--grad-accum", "4"], [command]);
    assert.equal(cpu.code, 2);
    assert.match(cpu.err, /--gpus needs --backend cuda/);
    const few = await cli([...base, "--backend", "cuda", "--grad-accum", "3"], [command]);
    assert.equal(few.code, 2);
    assert.match(few.err, /--gpus 4 with --grad-accum 3 leaves 1 GPU without a micro-batch a step/);
    assert.match(few.err, /use --grad-accum 4 or a multiple of it/);
    assert.equal(existsSync(join(root, "g")), false, "nothing is written");
  });

  it("--recompute is checked before anything loads, and reaches the engine on cuda", async () => {
    const seen: unknown[] = [];
    const command = createTrainCommand(async (request) => {
      seen.push(request.recompute);
      throw new Error("stop after the request");
    });
    const base = ["train", "--model", "m", "--data", dataFile, "--output-dir", join(root, "rc")];
    const bad = await cli([...base, "--backend", "cuda", "--recompute", "some"], [command]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--recompute must be off, selective or full, got some/);
    const onCpu = await cli([...base, "--recompute", "selective"], [command]);
    assert.equal(onCpu.code, 2);
    assert.match(onCpu.err, /--recompute needs --backend cuda/);
    assert.deepEqual(seen, []);
    await cli([...base, "--backend", "cuda", "--recompute", "selective"], [command]);
    assert.deepEqual(seen, ["selective"]);
  });

  it("--neftune-alpha (TRL's --neftune_noise_alpha) reaches the engine, stays out of the settings when 0, and is checked", async () => {
    const seen: unknown[] = [];
    const command = createTrainCommand(async (request) => {
      seen.push(request.lora.neftuneAlpha);
      throw new Error("stop after the request");
    });
    const base = ["train", "--model", "m", "--data", dataFile, "--output-dir", join(root, "nt")];
    const bad = await cli([...base, "--neftune-alpha=-1"], [command]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--neftune-alpha must be a number ≥ 0, got -1/);
    await cli([...base, "--neftune_noise_alpha", "5"], [command]);
    await cli(base, [command]);
    assert.deepEqual(seen, [5, undefined]);
  });

  it("a dataset line that does not fit the format is named, and nothing is trained", async () => {
    const bad = join(root, "bad.jsonl");
    writeFileSync(bad, `${readFileSync(dataFile, "utf8")}{"id": "x", "messages": 3}\n`);
    let loaded = false;
    const command = createTrainCommand(async () => {
      loaded = true;
      throw new Error("not reached");
    });
    const r = await cli(["train", "--model", "m", "--data", bad, "--output-dir", join(root, "bad-run")], [command]);
    assert.equal(r.code, 2);
    assert.match(r.err, /bad\.jsonl.*7/);
    assert.equal(loaded, false);
  });

  it("an empty training file is named before the model loads", async () => {
    const empty = join(root, "empty.jsonl");
    writeFileSync(empty, "\n");
    let loaded = false;
    const command = createTrainCommand(async () => {
      loaded = true;
      throw new Error("not reached");
    });
    const r = await cli(["train", "--model", "m", "--data", empty, "--output-dir", join(root, "empty-run")], [command]);
    assert.equal(r.code, 2);
    assert.match(r.err, /empty\.jsonl: holds no training examples/);
    assert.equal(loaded, false);
    assert.equal(existsSync(join(root, "empty-run")), false);
  });

  it("export --format peft rewrites an adapter folder", async () => {
    const src = join(root, "run", "adapter");
    const out = join(root, "exported");
    const r = await cli(["export", "--adapter", src, "--format", "peft", "--out", out], [exportCommand]);
    assert.equal(r.code, 0, r.err);
    assert.equal(readPeftAdapter(out).tensors.size, 28);
  });

  it("export --format gguf-lora reads the head counts from the base GGUF", async () => {
    const base = join(root, "base.gguf");
    writeGguf(base, { metadata: { "general.architecture": "llama", "llama.attention.head_count": 4, "llama.attention.head_count_kv": 2 }, tensors: baseWeightsFor(tinyAdapter()) });
    const out = join(root, "adapter.gguf");
    const r = await cli(["export", "--adapter", join(root, "exported"), "--format", "gguf-lora", "--base", base, "--out", out], [exportCommand]);
    assert.equal(r.code, 0, r.err);
    const g = openGguf(out);
    const qb = readPeftAdapter(join(root, "exported")).tensors.get("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight");
    assert.deepEqual(g.readTensor("blk.0.attn_q.weight.lora_b"), permuteQK(qb?.data ?? new Float32Array(), 32, 4, 4));
    g.close();
    const missing = await cli(["export", "--adapter", join(root, "exported"), "--format", "gguf-lora", "--out", out], [exportCommand]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /needs --base/);
    // the base of another model: every size is checked against it before anything is written
    const other = join(root, "other-base.gguf");
    const wider = { ...tinyAdapter(), tensors: new Map([...tinyAdapter().tensors].map(([n, t]) => [n, n.endsWith("lora_A.weight") ? { shape: [t.shape[0], t.shape[1] * 2], data: new Float32Array(t.data.length * 2) } : t])) };
    writeGguf(other, { metadata: { "general.architecture": "llama", "llama.attention.head_count": 4, "llama.attention.head_count_kv": 2 }, tensors: baseWeightsFor(wider) });
    const foreign = await cli(["export", "--adapter", join(root, "exported"), "--format", "gguf-lora", "--base", other, "--out", join(root, "foreign.gguf")], [exportCommand]);
    assert.equal(foreign.code, 2, foreign.err);
    assert.match(foreign.err, /other-base\.gguf \(blk\.0\.\w+\.weight\): blk\.0\.\w+\.weight is \[\d+, \d+\], but the adapter's \S+lora_A\.weight is \[4, \d+\]\n {2}hint: the adapter was trained on another base model/);
    assert.ok(!existsSync(join(root, "foreign.gguf")));
  });

  it("export --format merged-gguf stores the merged projections as --dtype says (f16 unless asked), copying the other tensors", async () => {
    const adapter = tinyAdapter();
    const dir = join(root, "merge-adapter");
    exportPeftAdapter(dir, adapter);
    // qwen2: no Q/K row permutation, so each merged weight is plainly (alpha/r)·B·A on a zero base
    const base = join(root, "merge-base.gguf");
    const embd = Float32Array.from({ length: 32 * 8 }, (_, i) => i / 8);
    writeGguf(base, { metadata: { "general.architecture": "qwen2" }, tensors: [{ name: "token_embd.weight", shape: [8, 32], type: "F32", data: embd }, ...baseWeightsFor(adapter)] });
    const a = adapter.tensors.get("base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight");
    const b = adapter.tensors.get("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight");
    assert.ok(a && b);
    const [outF, r, inF] = [b.shape[0] as number, adapter.rank, a.shape[1] as number];
    const expected = new Float32Array(outF * inF);
    for (let i = 0; i < outF; i++) {
      for (let j = 0; j < inF; j++) {
        let sum = 0;
        for (let k = 0; k < r; k++) sum += (b.data[i * r + k] as number) * (a.data[k * inF + j] as number);
        expected[i * inF + j] = (adapter.alpha / adapter.rank) * sum;
      }
    }
    const exportAs = async (dtype: string | undefined) => {
      const out = join(root, `merged-${dtype ?? "default"}.gguf`);
      const r = await cli(["export", "--adapter", dir, "--format", "merged-gguf", "--base", base, "--out", out, ...(dtype === undefined ? [] : ["--dtype", dtype])], [exportCommand]);
      assert.equal(r.code, 0, r.err);
      const g = openGguf(out);
      try {
        assert.equal(g.tensor("token_embd.weight")?.typeName, "F32");
        assert.deepEqual(g.readTensor("token_embd.weight"), embd);
        return { type: g.tensor("blk.1.attn_v.weight")?.typeName, v: g.readTensor("blk.1.attn_v.weight") };
      } finally {
        g.close();
      }
    };
    const f32 = await exportAs("f32");
    assert.equal(f32.type, "F32");
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs((f32.v[i] as number) - (expected[i] as number)) < 1e-6, `value ${i}: ${f32.v[i]} vs ${expected[i]}`);
    for (const dtype of ["f16", undefined]) {
      const half = await exportAs(dtype);
      assert.equal(half.type, "F16", `--dtype ${dtype ?? "left out"}`);
      for (let i = 0; i < expected.length; i++) assert.ok(Math.abs((half.v[i] as number) - (expected[i] as number)) <= Math.abs(expected[i] as number) / 1024 + 1e-7);
    }
    const bad = await cli(["export", "--adapter", dir, "--format", "merged-gguf", "--base", base, "--out", join(root, "merged-bad.gguf"), "--dtype", "q4"], [exportCommand]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--dtype must be f32 or f16, got q4/);
    const peft = await cli(["export", "--adapter", dir, "--format", "peft", "--out", join(root, "peft-f16"), "--dtype", "f16"], [exportCommand]);
    assert.equal(peft.code, 2);
    assert.match(peft.err, /--dtype applies to gguf-lora and merged-gguf/);
    assert.equal(existsSync(join(root, "peft-f16")), false);
  });
});
