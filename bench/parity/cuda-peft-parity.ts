// The CUDA QLoRA training step against transformers + PEFT: for a tiny random model of each
// family, our loss and LoRA gradients (bf16 activations, NF4 base) beside PEFT's in float32
// with the same (dequantised) base weights, the same LoRA matrices and the same batch.
// Usage (GPU machine with torch, transformers, peft): node .devbuild/bench/parity/cuda-peft-parity.js OUT_DIR
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeBf16, encodeBf16 } from "../../src/engine/cuda/bf16-host.js";
import { ALL_LORA_TARGETS, CudaDecoderTrainer, type LoraTarget } from "../../src/engine/cuda/decoder-trainer.js";
import { openCudaDevice } from "../../src/engine/cuda/device.js";
import { projectionShape } from "../../src/engine/cuda/random-weights.js";
import { type HostDecoderWeights, uploadDecoderWeights } from "../../src/engine/cuda/upload-weights.js";
import { configFromHf } from "../../src/model/config.js";
import { type SafetensorsWriteTensor, openSafetensors, writeSafetensors } from "../../src/model/safetensors.js";
import { dequantizeNf4, quantizeNf4 } from "../../src/quant/nf4.js";

const outDir = process.argv[2] ?? "/tmp/parity";
mkdirSync(outDir, { recursive: true });
const configs = JSON.parse(readFileSync("bench/parity/tiny-configs.json", "utf8")) as Record<string, Record<string, unknown>>;
const device = openCudaDevice(0);

let seed = 1;
const random = (n: number, scale: number, center = 0) =>
  Float32Array.from({ length: n }, () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return center + scale * (seed / 2 ** 32 - 0.5) * 2;
  });
const bfRound = (x: Float32Array) => decodeBf16(encodeBf16(x));
function relErr(got: Float32Array, want: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return Math.sqrt(num / den);
}

const rows: string[] = ["| family | our loss | PEFT loss | loss rel. error | LoRA grads: median rel. error | worst rel. error (tensor) |", "| --- | --- | --- | --- | --- | --- |"];
for (const [family, json] of Object.entries(configs)) {
  const config = configFromHf(json);
  const d = config.hiddenSize;
  const gemma = config.family === "gemma3";
  const normCenter = config.normUnitOffset ? 0 : 1;
  const file: Record<string, SafetensorsWriteTensor> = {};
  const put = (name: string, shape: number[], data: Float32Array) => {
    file[name] = { dtype: "F32", shape, data };
  };
  const embed = bfRound(random(config.vocabSize * d, 0.5));
  put("model.embed_tokens.weight", [config.vocabSize, d], embed);
  const host: HostDecoderWeights = { embed, finalNorm: random(d, 0.1, normCenter), layers: [] };
  put("model.norm.weight", [d], host.finalNorm);
  if (!config.tieWordEmbeddings) {
    host.lmHead = bfRound(random(config.vocabSize * d, 0.5));
    put("lm_head.weight", [config.vocabSize, d], host.lmHead);
  }
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}`;
    const layer: HostDecoderWeights["layers"][number] = {
      attnNorm: random(d, 0.1, normCenter),
      mlpNorm: random(d, 0.1, normCenter),
      proj: {} as HostDecoderWeights["layers"][number]["proj"],
      bias: {},
    };
    put(`${p}.input_layernorm.weight`, [d], layer.attnNorm);
    put(gemma ? `${p}.pre_feedforward_layernorm.weight` : `${p}.post_attention_layernorm.weight`, [d], layer.mlpNorm);
    if (config.sandwichNorm) {
      layer.postAttnNorm = random(d, 0.1, normCenter);
      layer.postMlpNorm = random(d, 0.1, normCenter);
      put(`${p}.post_attention_layernorm.weight`, [d], layer.postAttnNorm);
      put(`${p}.post_feedforward_layernorm.weight`, [d], layer.postMlpNorm);
    }
    if (config.qkNorm) {
      layer.qNorm = random(config.headDim, 0.1, normCenter);
      layer.kNorm = random(config.headDim, 0.1, normCenter);
      put(`${p}.self_attn.q_norm.weight`, [config.headDim], layer.qNorm);
      put(`${p}.self_attn.k_norm.weight`, [config.headDim], layer.kNorm);
    }
    for (const t of ALL_LORA_TARGETS) {
      const [out, inp] = projectionShape(config, t);
      const q = quantizeNf4(random(out * inp, 1 / Math.sqrt(inp)), out, inp);
      layer.proj[t] = q;
      const module = ["gate_proj", "up_proj", "down_proj"].includes(t) ? "mlp" : "self_attn";
      put(`${p}.${module}.${t}.weight`, [out, inp], dequantizeNf4(q));
      if (config.qkvBias && ["q_proj", "k_proj", "v_proj"].includes(t)) {
        const b = random(out, 0.1);
        layer.bias[t as "q_proj"] = b;
        put(`${p}.self_attn.${t}.bias`, [out], b);
      }
    }
    host.layers.push(layer);
  }
  const weights = uploadDecoderWeights(device, config, host);
  const trainer = new CudaDecoderTrainer(device, config, weights, { rank: 16, alpha: 32, targets: ALL_LORA_TARGETS, recompute: "off", seed: 7 });
  // non-zero B as well as A, so that every path of the LoRA backward carries signal; bf16-exact values
  const names = trainer.loraNames();
  const lora = names.map((name) => {
    const isA = name.includes("lora_A");
    const target = name.split(".").find((part) => part.endsWith("_proj")) as LoraTarget;
    const [out, inp] = projectionShape(config, target);
    const values = bfRound(random(isA ? 16 * inp : out * 16, isA ? 1 / Math.sqrt(inp) : 0.05));
    put(name, isA ? [16, inp] : [out, 16], values);
    return values;
  });
  trainer.setLoraParams(lora);
  const batch = 2;
  const tokens = 24;
  const ids = Int32Array.from({ length: batch * tokens }, (_, i) => (i * 37 + 11) % config.vocabSize);
  const targets = Int32Array.from({ length: batch * tokens }, (_, i) => ((i + 1) % tokens === 0 ? -100 : ids[i + 1]));
  file["batch.ids"] = { dtype: "F32", shape: [batch, tokens], data: Float32Array.from(ids) };
  const input = join(outDir, `${family}-in.safetensors`);
  const output = join(outDir, `${family}-ref.safetensors`);
  writeSafetensors(input, file);
  const unmasked = targets.filter((t) => t >= 0).length;
  const ourLoss = trainer.forwardBackward(ids, targets, batch, tokens, 1 / unmasked) / unmasked;
  const ourGrads = trainer.readLora("grads");
  const ref = spawnSync("python3", ["bench/parity/peft_reference.py", family, input, output], { encoding: "utf8" });
  if (ref.status !== 0) {
    rows.push(`| ${family} | ${ourLoss.toFixed(5)} | reference failed: ${ref.stderr.trim().split("\n").slice(-1)[0]} | | | |`);
    continue;
  }
  const refFile = openSafetensors(output);
  const refLoss = refFile.readTensor("loss")[0];
  const errors = names.map((name, i) => ({ name, err: relErr(ourGrads[i], refFile.readTensor(name)) }));
  errors.sort((a, b) => a.err - b.err);
  const worst = errors[errors.length - 1];
  rows.push(
    `| ${family} | ${ourLoss.toFixed(5)} | ${refLoss.toFixed(5)} | ${(Math.abs(ourLoss - refLoss) / refLoss).toExponential(1)} | ${errors[Math.floor(errors.length / 2)].err.toExponential(1)} | ${worst.err.toExponential(1)} (${worst.name.replace("base_model.model.model.", "")}) |`,
  );
  trainer.dispose();
}
const table = rows.join("\n");
console.log(`device: ${device.info.name}\n${table}`);
writeFileSync(join(outDir, "parity.md"), `${table}\n`);
device.dispose();
