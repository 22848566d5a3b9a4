// A whole QLoRA training step of each family's tiny model on the GPU against the CPU backend:
// the generic LoRA decoder over the CUDA backend (fp32 storage: float tolerance), and the fast
// bf16 step of the benchmark (bf16 tolerance), both from the same NF4 base and the same A and B.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { createCpuBackend } from "../../../src/engine/cpu/backend.js";
import { ALL_LORA_TARGETS, CudaDecoderTrainer, type LoraTarget, RECOMPUTE_MODES, type Recompute } from "../../../src/engine/cuda/decoder-trainer.js";
import { uploadDecoderWeights } from "../../../src/engine/cuda/upload-weights.js";
import { hostModelFromHfFolder } from "../../../src/model/host-weights.js";
import { hostDecoderWeights } from "../../../src/train/decoder-engine.js";
import { LoraDecoder, type LoraSettings } from "../../../src/train/lora-decoder.js";
import { readPeftFixture, relError } from "../../train/lora-fixture.js";
import { openGpuOrSkip } from "./gpu.js";

const FAMILIES = ["llama", "qwen2", "qwen3", "gemma3_text"];
const settings: LoraSettings = { rank: 4, alpha: 8, dropout: 0, targets: ["q", "k", "v", "o", "gate", "up", "down"], seed: 0 };
const gpu = openGpuOrSkip();
after(() => gpu.device?.dispose());

describe("a QLoRA training step on the GPU against the CPU backend", { skip: gpu.skip }, () => {
  for (const family of FAMILIES) {
    test(`${family}: loss and LoRA gradients agree (generic decoder on the cuda backend: 1e-4; fast bf16 step: 4e-2 (B side folded: 5e-2), with dropout and each recomputation mode: 5e-2; selective = off bit for bit)`, async () => {
      const { createCudaBackend } = await import("../../../src/engine/cuda/backend.js");
      const dir = new URL(`../../fixtures/decoder/${family}`, import.meta.url).pathname;
      const b = readPeftFixture(family);
      const host = hostModelFromHfFolder(dir);
      const cpu = new LoraDecoder(createCpuBackend(), host.config, host.weights, settings, { baseFormat: "nf4" });
      cpu.setAdapter(b.values);
      const lossCpu = cpu.lossAndGrad(b.ids, b.targets, b.batch, b.tokens, 1);

      const cudaBackend = createCudaBackend();
      try {
        const onGpu = new LoraDecoder(cudaBackend, host.config, host.weights, settings, { baseFormat: "nf4" });
        onGpu.setAdapter(b.values);
        const lossGpu = onGpu.lossAndGrad(b.ids, b.targets, b.batch, b.tokens, 1);
        assert.ok(Math.abs(lossGpu - lossCpu) <= 1e-4 * Math.abs(lossCpu), `generic: loss ${lossGpu} vs cpu ${lossCpu}`);
        for (const [i, p] of onGpu.parameters().entries()) {
          const err = relError(p.grad, cpu.parameters()[i]!.grad);
          assert.ok(err <= 1e-4, `generic: ${p.name} relative error ${err.toExponential(2)}`);
        }
      } finally {
        cudaBackend.dispose();
      }

      const device = gpu.device!;
      const weights = uploadDecoderWeights(device, host.config, hostDecoderWeights(host, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]));
      // q/k/v and gate/up sharing their A-side products with their B side folded into the base
      // products both ways (the default: "auto" at these sizes), the same with the B side apart or
      // folded forward only, and every projection alone
      for (const [label, fuseSharedInputs, foldLoraB] of [["fast", true, "auto"], ["fast, B side apart", true, "off"], ["fast, B side folded forward", true, "forward"], ["fast, unfused", false, "off"], ["fast, unfused, folded forward member by member", false, "auto"]] as const) {
        const fast = new CudaDecoderTrainer(device, host.config, weights, { rank: 4, alpha: 8, targets: ALL_LORA_TARGETS, recompute: "off", seed: 0, fuseSharedInputs, foldLoraB });
        try {
          assert.deepEqual(fast.loraNames(), cpu.parameters().map((p) => p.name));
          fast.setLoraParams(cpu.parameters().map((p) => b.values.get(p.name)!.data));
          const lossFast = fast.forwardBackward(b.ids, b.targets, b.batch, b.tokens, 1);
          assert.ok(Math.abs(lossFast - lossCpu) <= 3e-2 * Math.abs(lossCpu), `${label}: loss ${lossFast} vs cpu ${lossCpu}`);
          const grads = fast.readLora("grads");
          const errs = grads.map((g, i) => relError(g, cpu.parameters()[i]!.grad));
          const worst = Math.max(...errs);
          const names = cpu.parameters().map((p) => p.name.replace("base_model.model.model.", ""));
          const ranked = errs.map((e, i) => `${names[i]} ${e.toExponential(2)}`).filter((_, i) => errs[i]! >= 0.5 * worst);
          console.log(`${family} ${label}: loss cpu ${lossCpu.toFixed(5)}, fast ${lossFast.toFixed(5)}; worst gradient error ${worst.toExponential(2)} (${ranked.join(", ")})`);
          // the worst matrix of the four families lies at 1.9–3.1e-2 (H200, 2026-12-01): bf16 activations and
          // products in a different rounding order from the CPU's fp32. With the B side folded, qwen3's layer 0
          // reaches 4.2–4.4e-2 and llama's falls to 1.9–2.0e-2 (2026-12-04): the same sums rounded elsewhere
          // (shared-input-group.test.ts holds the fold to float64 itself)
          const tolerance = foldLoraB === "off" ? 4e-2 : 5e-2;
          assert.ok(worst <= tolerance, `${label}: worst LoRA gradient relative error ${worst.toExponential(2)}`);
        } finally {
          fast.dispose();
        }
      }

      // an untied model's input embeddings in page-locked host memory (the default, "auto") give what
      // the same table on the GPU gives, bit for bit
      if (!host.config.tieWordEmbeddings) {
        const onGpu = uploadDecoderWeights(device, host.config, hostDecoderWeights(host, ALL_LORA_TARGETS), "device");
        const [mapped, resident] = [weights, onGpu].map((w) => new CudaDecoderTrainer(device, host.config, w, { rank: 4, alpha: 8, targets: ALL_LORA_TARGETS, recompute: "off", seed: 0 }));
        try {
          const start = cpu.parameters().map((p) => b.values.get(p.name)!.data);
          const [lossMapped, lossResident] = [mapped, resident].map((t) => {
            t.setLoraParams(start);
            return t.forwardBackward(b.ids, b.targets, b.batch, b.tokens, 1);
          });
          assert.equal(lossMapped, lossResident, "the embeddings' placement moved the loss");
          const residentGrads = resident.readLora("grads");
          assert.ok(
            mapped.readLora("grads").every((g, i) => g.every((v, j) => Object.is(v, residentGrads[i]![j]))),
            "the embeddings' placement moved a gradient",
          );
        } finally {
          mapped.dispose();
          resident.dispose();
        }
      }

      // part of the targets: the groups hold gaps (k, gate not trained); fused and unfused agree
      const some: LoraTarget[] = ["q_proj", "v_proj", "up_proj", "down_proj"];
      const [fused, alone] = [true, false].map((fuseSharedInputs) => new CudaDecoderTrainer(device, host.config, weights, { rank: 4, alpha: 8, targets: some, recompute: "off", seed: 3, fuseSharedInputs }));
      try {
        const start = fused.readLora("params").map((p, i) => (i % 2 === 1 ? p.map((_, j) => 0.01 * Math.sin(j + i)) : p)); // B ≠ 0: every product matters
        for (const t of [fused, alone]) t.setLoraParams(start);
        const [lossFused, lossAlone] = [fused, alone].map((t) => t.forwardBackward(b.ids, b.targets, b.batch, b.tokens, 1));
        assert.ok(Math.abs(lossFused - lossAlone) <= 1e-2 * Math.abs(lossAlone), `part of the targets: loss ${lossFused} fused vs ${lossAlone} alone`);
        const aloneGrads = alone.readLora("grads");
        const worstPart = Math.max(...fused.readLora("grads").map((g, i) => relError(g, aloneGrads[i])));
        assert.ok(worstPart <= 3e-2, `part of the targets: worst gradient relative error fused vs alone ${worstPart.toExponential(2)}`);
      } finally {
        fused.dispose();
        alone.dispose();
      }

      // with LoRA dropout (the same masks on both sides: call 3 of seed 0), and with each recomputation mode:
      // selective and full remake activations with the forward's own kernels, so their gradients are
      // those of "off" bit for bit, and selective holds less at its peak
      const fast0Names = cpu.parameters().map((p) => p.name);
      const gradsOf = new Map<Recompute, Float32Array[]>();
      const peakOf = new Map<Recompute, number>();
      for (const recompute of RECOMPUTE_MODES) {
        const withDropout: LoraSettings = { ...settings, dropout: 0.3 };
        const cpuD = new LoraDecoder(createCpuBackend(), host.config, host.weights, withDropout, { baseFormat: "nf4" });
        cpuD.setAdapter(b.values);
        cpuD.setRandomState({ calls: 3 });
        const lossCpuD = cpuD.lossAndGrad(b.ids, b.targets, b.batch, b.tokens, 1);
        const fastD = new CudaDecoderTrainer(device, host.config, weights, { rank: 4, alpha: 8, targets: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], recompute, seed: 0, dropout: 0.3 });
        try {
          fastD.setLoraParams(cpuD.parameters().map((p) => b.values.get(p.name)!.data));
          fastD.calls = 3;
          device.memory.resetPeak();
          const held = device.memory.memoryStats().inUse;
          const lossD = fastD.forwardBackward(b.ids, b.targets, b.batch, b.tokens, 1);
          peakOf.set(recompute, device.memory.memoryStats().peakInUse - held);
          assert.ok(Math.abs(lossD - lossCpuD) <= 3e-2 * Math.abs(lossCpuD), `dropout, recompute ${recompute}: loss ${lossD} vs cpu ${lossCpuD}`);
          const grads = fastD.readLora("grads");
          gradsOf.set(recompute, grads);
          const worstD = Math.max(...grads.map((g, i) => relError(g, cpuD.parameters()[i]!.grad)));
          // dropout scales the kept inputs by 1/(1−p), and the fast step rounds them to bf16: a little more noise
          assert.ok(worstD <= 5e-2, `dropout, recompute ${recompute}: worst LoRA gradient relative error ${worstD.toExponential(2)}`);
          console.log(`${family} dropout 0.3, recompute ${recompute}: loss cpu ${lossCpuD.toFixed(5)}, fast ${lossD.toFixed(5)}; worst gradient error ${worstD.toExponential(2)}; step peak ${peakOf.get(recompute)} bytes`);
        } finally {
          fastD.dispose();
        }
      }
      // without dropout the groups share their A-side products, and selective's backward remakes the GLU
      // output inside the GLU backward (gluBackwardRemaking) for down's dA: the gradients of "off" bit for bit,
      // also with the B side folded (selective copies xa out of the norm output it frees, and remakes that
      // output with the same row length)
      for (const foldLoraB of ["off", "forward", "both"] as const) {
        const [offT, selT] = (["off", "selective"] as const).map((recompute) => new CudaDecoderTrainer(device, host.config, weights, { rank: 4, alpha: 8, targets: ALL_LORA_TARGETS, recompute, seed: 0, foldLoraB }));
        try {
          const [lossOff, lossSel] = [offT, selT].map((t) => {
            t.setLoraParams(cpu.parameters().map((p) => b.values.get(p.name)!.data));
            return t.forwardBackward(b.ids, b.targets, b.batch, b.tokens, 1);
          });
          assert.equal(lossSel, lossOff, `fold ${foldLoraB}: the loss moved`);
          const [gOff, gSel] = [offT, selT].map((t) => t.readLora("grads"));
          const differing = gSel.flatMap((g, i) => (g.every((v, j) => Object.is(v, gOff[i]![j])) ? [] : [fast0Names[i]]));
          assert.deepEqual(differing, [], `fold ${foldLoraB}: selective without dropout changed gradient matrices ${differing.join(", ")}`);
        } finally {
          offT.dispose();
          selT.dispose();
        }
      }
      // NEFTune (alpha 15, call 3): the GPU adds the CPU's noise to the embeddings, and the full
      // recomputation reads the noisy layer-0 input it kept
      {
        const noisy: LoraSettings = { ...settings, neftuneAlpha: 15 };
        const cpuN = new LoraDecoder(createCpuBackend(), host.config, host.weights, noisy, { baseFormat: "nf4" });
        cpuN.setAdapter(b.values);
        cpuN.setRandomState({ calls: 3 });
        const lossCpuN = cpuN.lossAndGrad(b.ids, b.targets, b.batch, b.tokens, 1);
        // the B side apart, as in the tests below: each holds one change to the step to the CPU's tolerance
        const fastN = new CudaDecoderTrainer(device, host.config, weights, { rank: 4, alpha: 8, targets: ALL_LORA_TARGETS, recompute: "full", seed: 0, neftuneAlpha: 15, foldLoraB: "off" });
        try {
          fastN.setLoraParams(cpuN.parameters().map((p) => b.values.get(p.name)!.data));
          fastN.calls = 3;
          const lossN = fastN.forwardBackward(b.ids, b.targets, b.batch, b.tokens, 1);
          assert.ok(Math.abs(lossN - lossCpuN) <= 3e-2 * Math.abs(lossCpuN), `NEFTune: loss ${lossN} vs cpu ${lossCpuN}`);
          assert.ok(Math.abs(lossCpuN - lossCpu) > 1e-3 * Math.abs(lossCpu), `NEFTune moved the CPU loss too little to test it: ${lossCpuN} against ${lossCpu}`);
          const worstN = Math.max(...fastN.readLora("grads").map((g, i) => relError(g, cpuN.parameters()[i]!.grad)));
          assert.ok(worstN <= 4e-2, `NEFTune: worst LoRA gradient relative error ${worstN.toExponential(2)}`);
          console.log(`${family} NEFTune 15, recompute full: loss cpu ${lossCpuN.toFixed(5)} (without ${lossCpu.toFixed(5)}), fast ${lossN.toFixed(5)}; worst gradient error ${worstN.toExponential(2)}`);
        } finally {
          fastN.dispose();
        }
      }

      const off = gradsOf.get("off")!;
      for (const mode of ["selective", "full"] as const) {
        const differing = gradsOf.get(mode)!.flatMap((g, i) => (g.every((v, j) => Object.is(v, off[i]![j])) ? [] : [i]));
        console.log(`${family} recompute ${mode}: ${differing.length} of ${off.length} gradient matrices differ from off`);
        if (mode === "selective") assert.deepEqual(differing, [], `selective recomputation changed gradient matrices ${differing.join(", ")}`);
      }
      assert.ok(peakOf.get("selective")! < peakOf.get("off")!, `selective peak ${peakOf.get("selective")} not below off's ${peakOf.get("off")}`);

      // the loss head takes only the rows with a target: a prompt masked over most of each sequence
      // agrees with the CPU, and a batch with no target at all gives loss 0 and zero gradients
      const masked = b.targets.map((t, i) => (i % b.tokens < Math.floor(0.6 * b.tokens) ? -100 : t));
      const cpuM = new LoraDecoder(createCpuBackend(), host.config, host.weights, settings, { baseFormat: "nf4" });
      cpuM.setAdapter(b.values);
      const lossCpuM = cpuM.lossAndGrad(b.ids, masked, b.batch, b.tokens, 1);
      const fastM = new CudaDecoderTrainer(device, host.config, weights, { rank: 4, alpha: 8, targets: ALL_LORA_TARGETS, recompute: "off", seed: 0, foldLoraB: "off" });
      try {
        fastM.setLoraParams(cpuM.parameters().map((p) => b.values.get(p.name)!.data));
        const lossM = fastM.forwardBackward(b.ids, masked, b.batch, b.tokens, 1);
        assert.ok(Math.abs(lossM - lossCpuM) <= 3e-2 * Math.abs(lossCpuM), `masked prompt: loss ${lossM} vs cpu ${lossCpuM}`);
        const worstM = Math.max(...fastM.readLora("grads").map((g, i) => relError(g, cpuM.parameters()[i]!.grad)));
        assert.ok(worstM <= 4e-2, `masked prompt: worst LoRA gradient relative error ${worstM.toExponential(2)}`);
        console.log(`${family} 60 % of rows without a target: loss cpu ${lossCpuM.toFixed(5)}, fast ${lossM.toFixed(5)}; worst gradient error ${worstM.toExponential(2)}`);
        // every row through the head (scoredRowsOnly off) gives the same up to rounding
        const dense = new CudaDecoderTrainer(device, host.config, weights, { rank: 4, alpha: 8, targets: ALL_LORA_TARGETS, recompute: "off", seed: 0, scoredRowsOnly: false, foldLoraB: "off" });
        try {
          dense.setLoraParams(cpuM.parameters().map((p) => b.values.get(p.name)!.data));
          const lossDense = dense.forwardBackward(b.ids, masked, b.batch, b.tokens, 1);
          assert.ok(Math.abs(lossDense - lossM) <= 1e-3 * Math.abs(lossM), `masked prompt: loss ${lossM} scored rows only vs ${lossDense} every row`);
          const denseGrads = dense.readLora("grads");
          const worstDense = Math.max(...fastM.readLora("grads").map((g, i) => relError(g, denseGrads[i]!)));
          assert.ok(worstDense <= 1e-2, `masked prompt: scored rows only against every row, worst gradient relative error ${worstDense.toExponential(2)}`);
        } finally {
          dense.dispose();
        }
        fastM.zeroGrads();
        const none = fastM.forwardBackward(b.ids, new Int32Array(b.targets.length).fill(-100), b.batch, b.tokens, 1);
        assert.equal(none, 0);
        assert.ok(fastM.readLora("grads").every((g) => g.every((v) => v === 0)), "no target: every gradient is 0");
      } finally {
        fastM.dispose();
      }
    });
  }
});
