// The CUDA backend's host side in CI, where there is no GPU: stand-ins for the driver, NVRTC and
// cuBLAS that return at once (test/helpers/stand-in-cuda.c, built here with cc) take every call.
// Each launch's argument count and types, every shape and range check, the kernels' compile-and-load
// path and the allocator's bookkeeping run as on a GPU; the numbers do not (the "device" computes
// nothing and copies back zeros), so these tests check that the work goes through and gives every
// block back, not what it computes. The GPU tests beside this file check the numbers.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { SKIP_NO_SMOLLM2, SMOLLM2_GGUF } from "../../helpers/real-models.js";
import { readEvalResult } from "../../../src/eval/files.js";
import { readTrainLog } from "../../../src/eval/train-log.js";
import { buildStandInCuda } from "../../helpers/stand-in-cuda.js";

const standIn = buildStandInCuda();
// set before the backend's first library lookup (each test file runs in its own process)
if (!("skip" in standIn)) Object.assign(process.env, standIn.env);
after(() => {
  if (!("skip" in standIn)) standIn.dispose();
});

const FAMILIES = ["llama", "qwen2", "qwen3", "gemma3_text"];

/** A folder of this file's own under the stand-ins' temporary folder. */
const workDir = (name: string) => join((standIn as { dir: string }).dir, name);

/** Runs the CLI in this process; a non-zero exit fails the test with what the command printed. */
async function cliOk(argv: string[]): Promise<{ out: string; err: string }> {
  const { runCli } = await import("../../../src/cli/main.js");
  let [out, err] = ["", ""];
  const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t), interactive: false });
  assert.equal(code, 0, `agenttune ${argv.slice(0, 2).join(" ")}: ${err}`);
  return { out, err };
}

/** The steps a training log holds, in order. */
const loggedSteps = async (run: string) => (await readTrainLog(join(run, "train_log.jsonl"))).map((e) => e.step);

describe("the CUDA backend's host side against stand-in libraries", { skip: "skip" in standIn ? standIn.skip : false }, () => {
  test("every family's fast QLoRA step runs in each recomputation mode, with dropout, NEFTune and the fused NF4 route, and gives its blocks back", async () => {
    const { openCudaDevice } = await import("../../../src/engine/cuda/device.js");
    const { ALL_LORA_TARGETS, CudaDecoderTrainer, RECOMPUTE_MODES } = await import("../../../src/engine/cuda/decoder-trainer.js");
    const { uploadDecoderWeights } = await import("../../../src/engine/cuda/upload-weights.js");
    const { hostModelFromHfFolder } = await import("../../../src/model/host-weights.js");
    const { hostDecoderWeights } = await import("../../../src/train/decoder-engine.js");
    const { readPeftFixture } = await import("../../train/lora-fixture.js");
    const device = openCudaDevice(0);
    try {
      assert.match(device.info.name, /stand-in/, "the stand-ins were loaded, not a real driver");
      for (const family of FAMILIES) {
        const host = hostModelFromHfFolder(new URL(`../../fixtures/decoder/${family}`, import.meta.url).pathname);
        const b = readPeftFixture(family);
        const weights = uploadDecoderWeights(device, host.config, hostDecoderWeights(host, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]));
        const settings = [
          ...RECOMPUTE_MODES.map((recompute) => ({ recompute })),
          { recompute: "off" as const, dropout: 0.3 },
          { recompute: "full" as const, neftuneAlpha: 5 },
          { recompute: "off" as const, fuseSharedInputs: false },
          // the B side folded into the forward's base products only, and apart ("auto" folds both ways here)
          { recompute: "selective" as const, foldLoraB: "forward" as const },
          { recompute: "off" as const, foldLoraB: "off" as const },
        ];
        assert.throws(
          () => new CudaDecoderTrainer(device, host.config, weights, { rank: 4, alpha: 8, targets: ALL_LORA_TARGETS, seed: 0, recompute: "off", foldLoraB: "sideways" as never }),
          /foldLoraB must be auto, off, forward, both; got sideways/,
        );
        // twice: the first round also makes what a device keeps for good (the NF4 code table, compiled
        // kernels), the second must end with exactly what it started with
        let before = 0;
        for (const round of [1, 2]) {
          if (round === 2) before = device.memory.memoryStats().inUse;
          for (const route of ["expand", "fused"]) {
            process.env.AGENTTUNE_NF4_MATMUL = route;
            for (const s of settings) {
              const trainer = new CudaDecoderTrainer(device, host.config, weights, { rank: 4, alpha: 8, targets: ALL_LORA_TARGETS, seed: 0, ...s });
              try {
                // "auto" folds both ways at these sizes; projections one by one (dropout, unfused) the forward only
                const oneByOne = ("dropout" in s && (s.dropout ?? 0) > 0) || ("fuseSharedInputs" in s && !s.fuseSharedInputs);
                const asked = "foldLoraB" in s ? s.foldLoraB : "both";
                assert.equal(trainer.loraFold, asked === "both" && oneByOne ? "forward" : asked, `${family}: what ${JSON.stringify(s)} folds`);
                const loss = trainer.forwardBackward(b.ids, b.targets, b.batch, b.tokens, 1);
                assert.equal(typeof loss, "number", `${family} ${route} ${JSON.stringify(s)}`);
                trainer.optimizerStep({ lr: 1e-3 });
                assert.equal(trainer.readLora("params").length, 2 * 7 * host.config.numLayers, `${family}: an A and a B for each projection of each layer`);
              } finally {
                trainer.dispose();
              }
            }
          }
          delete process.env.AGENTTUNE_NF4_MATMUL;
        }
        assert.equal(device.memory.memoryStats().inUse, before, `${family}: every trainer gave its blocks back`);
      }
    } finally {
      device.dispose();
    }
  });

  test("an untied model's input embeddings go to page-locked host memory, to the GPU when the host refuses to lock it, and an explicit host placement says why not", async () => {
    const { openCudaDevice } = await import("../../../src/engine/cuda/device.js");
    const { ALL_LORA_TARGETS } = await import("../../../src/engine/cuda/decoder-trainer.js");
    const { uploadDecoderWeights } = await import("../../../src/engine/cuda/upload-weights.js");
    const { hostModelFromHfFolder } = await import("../../../src/model/host-weights.js");
    const { hostDecoderWeights } = await import("../../../src/train/decoder-engine.js");
    const device = openCudaDevice(0);
    try {
      const host = hostModelFromHfFolder(new URL("../../fixtures/decoder/qwen2", import.meta.url).pathname);
      assert.equal(host.config.tieWordEmbeddings, false, "the qwen2 fixture has an output head of its own");
      const weights = hostDecoderWeights(host, ALL_LORA_TARGETS);
      const tableBytes = host.config.vocabSize * host.config.hiddenSize * 2;
      const gpuBytesOf = (placement?: "auto" | "device" | "host") => {
        const before = device.memory.memoryStats().inUse;
        uploadDecoderWeights(device, host.config, weights, placement);
        return device.memory.memoryStats().inUse - before;
      };
      const onHost = gpuBytesOf();
      assert.ok(gpuBytesOf("device") - onHost >= tableBytes, "auto keeps the input table off the GPU");
      process.env.AGENTTUNE_STAND_IN_NO_PINNED = "1";
      try {
        assert.ok(gpuBytesOf() - onHost >= tableBytes, "refused page-locked memory, auto puts the table on the GPU");
        assert.throws(() => gpuBytesOf("host"), /cuMemHostAlloc/);
      } finally {
        delete process.env.AGENTTUNE_STAND_IN_NO_PINNED;
      }
    } finally {
      device.dispose();
    }
  });

  test("the decoder prefills and decodes on the CUDA backend, one reply and several together", async () => {
    const { createCudaBackend } = await import("../../../src/engine/cuda/backend.js");
    const { Decoder } = await import("../../../src/model/decoder.js");
    const { hostModelFromHfFolder } = await import("../../../src/model/host-weights.js");
    for (const family of FAMILIES) {
      const host = hostModelFromHfFolder(new URL(`../../fixtures/decoder/${family}`, import.meta.url).pathname);
      const backend = createCudaBackend();
      try {
        const model = Decoder.fromWeights(backend, host.config, host.weights);
        const caches = [0, 1, 2].map(() => model.createCache(40));
        const prompt = Int32Array.from({ length: 30 }, (_, i) => (i * 7) % host.config.vocabSize);
        const logits = model.forward(prompt, caches[0]!);
        assert.equal(logits.length, host.config.vocabSize, family);
        model.forward(prompt.subarray(0, 5), caches[1]!);
        model.forward(prompt.subarray(0, 9), caches[2]!);
        for (let step = 0; step < 3; step++) {
          const out = model.forwardSegments(caches.map((cache) => ({ ids: Int32Array.of(1), cache })));
          assert.equal(out.length, 3, family);
        }
        for (const c of caches) c.dispose();
      } finally {
        backend.dispose();
      }
    }
  });
  test("agenttune train --backend cuda checkpoints every step, a finished run resumes to nothing left, and the adapter exports and evaluates on --device cuda", { skip: SKIP_NO_SMOLLM2 }, async () => {
    const work = workDir("cli");
    const cli = async (argv: string[]) => (await cliOk(argv)).out;
    const model = SMOLLM2_GGUF as string;
    const data = join(work, "train.jsonl");
    await cli(["data", "build", "--samples", "6", "--seed", "0", "--out", data]);
    const run = join(work, "run");
    const train = ["train", "--model", model, "--data", data, "--output-dir", run, "--backend", "cuda", "--train-samples", "4", "--batch-size", "2", "--grad-accum", "1", "--save-every", "1", "--rank", "4"];
    assert.match(await cli([...train, "--epochs", "2"]), /trained 4\/4 steps/);
    // a finished run resumed: nothing left to train, and the last step's loss is reported
    assert.match(await cli([...train, "--epochs", "2", "--resume"]), /trained 4\/4 steps, final loss \d/);
    assert.deepEqual(await loggedSteps(run), [1, 2, 3, 4], "the resume appends nothing to the log");
    const gguf = join(work, "adapter.gguf");
    await cli(["export", "--adapter", join(run, "adapter"), "--format", "gguf-lora", "--base", model, "--out", gguf]);
    assert.ok(existsSync(gguf));
    const evalDir = join(work, "eval");
    await cli(["eval", "--engine", "own", "--device", "cuda", "--model", model, "--adapter", join(run, "adapter"), "--tasks", "data/eval/tasks.jsonl", "--limit", "2", "--out", evalDir]);
    assert.equal((await readEvalResult(evalDir)).records.length, 2);
  });
  test("agenttune experiment scaling trains on --backend cuda and evaluates on --device cuda, and a second call reuses the finished run", { skip: SKIP_NO_SMOLLM2 }, async () => {
    const work = workDir("scaling");
    const tasks = workDir("two-tasks.jsonl");
    writeFileSync(tasks, `${readFileSync("data/eval/tasks.jsonl", "utf8").split("\n").slice(0, 2).join("\n")}\n`);
    const argv = ["experiment", "scaling", "--model", SMOLLM2_GGUF as string, "--sizes", "8", "--seeds", "0", "--max-steps", "2", "--rank", "4", "--backend", "cuda", "--device", "cuda", "--tasks", tasks, "--out", work];
    const run = async () => {
      const { out, err } = await cliOk(argv);
      return `${out}${err}`;
    };
    await run();
    assert.equal((JSON.parse(readFileSync(join(work, "scaling.json"), "utf8")) as { settings: { backend: string } }).settings.backend, "cuda");
    assert.match(await run(), /is done .*kept/, "the second call keeps the finished run");
  });

  test("agenttune train --backend cuda --gpus 2 runs a worker a GPU, and rank 0 alone writes the log, the checkpoint and the adapter", { skip: SKIP_NO_SMOLLM2 }, async () => {
    const work = workDir("gpus2");
    const cli = (args: string[]) =>
      spawnSync(process.execPath, ["bin/agenttune.js", ...args], {
        encoding: "utf8",
        // the source, not a build that may be older; two stand-in GPUs
        env: { ...process.env, AGENTTUNE_FROM_SOURCE: "1", AGENTTUNE_STAND_IN_GPUS: "2" },
      });
    const data = join(work, "train.jsonl");
    const built = cli(["data", "build", "--samples", "8", "--seed", "1", "--out", data]);
    assert.equal(built.status, 0, built.stderr);
    const run = join(work, "run");
    const r = cli(["train", "--model", SMOLLM2_GGUF as string, "--data", data, "--output-dir", run, "--backend", "cuda", "--gpus", "2", "--train-samples", "8", "--batch-size", "1", "--grad-accum", "4", "--epochs", "1", "--save-every", "1", "--rank", "4"]);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /starting 2 workers, one a GPU/);
    // more GPUs than CUDA sees: said before any worker starts
    const three = cli(["train", "--model", SMOLLM2_GGUF as string, "--data", data, "--output-dir", join(work, "three"), "--backend", "cuda", "--gpus", "3", "--grad-accum", "3"]);
    assert.equal(three.status, 2, three.stderr);
    assert.match(three.stderr, /--gpus 3 asks for 3 GPUs; CUDA sees 2 on this machine/);
    assert.doesNotMatch(three.stderr, /starting/);
    assert.match(r.stdout, /trained 2\/2 steps/);
    assert.deepEqual(await loggedSteps(run), [1, 2], "one log line a step: rank 1 writes none");
    assert.ok(existsSync(join(run, "adapter", "adapter_model.safetensors")));
  });
  test("bench/cuda-train-dp.ts runs the training bench on one GPU and as two ranks, and prints the scaling between them", () => {
    const bench = new URL("../../../bench/cuda-train-dp.ts", import.meta.url).pathname;
    const config = new URL("../../fixtures/decoder/qwen2/config.json", import.meta.url).pathname;
    const r = spawnSync(process.execPath, ["--import", "tsx", bench, "--gpus", "2", "--", "--config", config, "--batch", "1", "--tokens", "16", "--steps", "2", "--warmup", "0"], {
      encoding: "utf8",
      env: { ...process.env, AGENTTUNE_STAND_IN_GPUS: "2" },
    });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.map((l) => l.gpus), [1, 2, 2], "the one-GPU line, rank 0's line, the comparison");
    assert.equal(typeof lines[1]?.allreduce_ms, "number", "a rank times the gradients' all-reduce");
    const comparison = lines[2] as { one_gpu_tokens_per_s: number; n_gpu_tokens_per_s: number; scaling: number };
    assert.equal(comparison.scaling, Number((comparison.n_gpu_tokens_per_s / comparison.one_gpu_tokens_per_s).toFixed(3)));
  });
});
