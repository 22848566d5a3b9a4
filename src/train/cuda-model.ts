// The CUDA QLoRA step (src/engine/cuda/decoder-trainer.ts) behind the trainer's TrainableModel:
// forward and backward run on the GPU; the LoRA values, gradients and AdamW stay the trainer's
// (host float32), so checkpoints, resume, clipping and the schedule are the same code as on the CPU.

import type { CudaDecoderTrainer } from "../engine/cuda/decoder-trainer.js";
import type { LoraWeights } from "./export-peft.js";
import { callsOfRandomState, initialLoraA, type LoraSettings, loraWeightsOf } from "./lora-decoder.js";
import type { Parameter } from "./optimizer.js";
import type { TrainableModel } from "./trainer.js";

/** LoRA training on one GPU; the trainer's AdamW updates the host copies between steps. */
export class CudaTrainableModel implements TrainableModel {
  private readonly params: Parameter[];
  /** Host values changed since the last upload (after an optimizer step or a resume). */
  private stale = true;

  constructor(
    private readonly trainer: CudaDecoderTrainer,
    readonly lora: LoraSettings,
    private readonly baseModel: string,
  ) {
    const names = trainer.loraNames();
    const current = trainer.readLora("params");
    let adapter = 0;
    this.params = names.map((name, i) => {
      const value = current[i] as Float32Array;
      const isA = name.endsWith("lora_A.weight");
      const rank = lora.rank;
      const shape = isA ? [rank, value.length / rank] : [value.length / rank, rank];
      // the same initial A as the CPU trainer, so both backends start from one adapter
      if (isA) value.set(initialLoraA(adapter++, rank, shape[1] as number, lora.seed));
      return { name, shape, value, grad: new Float32Array(value.length) };
    });
  }

  parameters(): readonly Parameter[] {
    return this.params;
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad.fill(0);
    this.trainer.zeroGrads();
    this.stale = true;
  }

  lossAndGrad(ids: Int32Array, targets: Int32Array, batch: number, tokens: number, lossScale: number): number {
    if (this.stale) {
      this.trainer.setLoraParams(this.params.map((p) => p.value));
      this.stale = false;
    }
    const loss = this.trainer.forwardBackward(ids, targets, batch, tokens, lossScale);
    // the device accumulates over micro-batches: its gradients are the running total
    const grads = this.trainer.readLora("grads");
    for (const [i, p] of this.params.entries()) p.grad.set(grads[i] as Float32Array);
    return loss;
  }

  randomState(): unknown {
    return { calls: this.trainer.calls };
  }

  setRandomState(state: unknown): void {
    this.trainer.calls = callsOfRandomState(state);
    this.stale = true;
  }

  seekRandom(call: number): void {
    this.trainer.calls = call;
  }

  adapter(): LoraWeights {
    return loraWeightsOf(this.params, this.lora, this.baseModel);
  }

  /** Peak device memory in use so far (bytes). */
  get peakMemory(): number {
    return this.trainer.device.memory.memoryStats().peakInUse;
  }
}
