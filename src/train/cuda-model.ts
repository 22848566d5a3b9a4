// The CUDA QLoRA step (src/engine/cuda/decoder-trainer.ts) behind the trainer's TrainableModel:
// forward and backward run on the GPU. The trainer asks for `deviceOptimizer`, and clipping and
// AdamW run there too (the arena's two launches), so a step sends no gradient or value over the
// bus; checkpoints read the values and moments back. Data-parallel ranks with an NCCL reducer do
// the same, the arena's gradients summed over the ranks in place first (every rank then applies
// the same update to the same values); with any other reducer they keep the host path: the
// gradients come down, are summed over the ranks, and the trainer's AdamW updates the host
// copies, which go up before the next step.

import type { CudaDecoderTrainer } from "../engine/cuda/decoder-trainer.js";
import { type DeviceGradientReducer, type GradientReducer, isDeviceGradientReducer } from "./distributed.js";
import type { LoraWeights } from "./export-peft.js";
import { callsOfRandomState, initialLoraA, type LoraSettings, loraWeightsOf } from "./lora-decoder.js";
import { ADAMW_DEFAULTS, clipCoefficient, type OptimizerSnapshot, type Parameter, type StepOptimizer } from "./optimizer.js";
import type { TrainableModel } from "./trainer.js";

/** Clipping and AdamW over the trainer's LoRA arena, on the GPU. */
class CudaStepOptimizer implements StepOptimizer {
  private t = 0;
  /** The clipping factor of the gradients the next step applies. */
  private gradScale = 1;

  constructor(
    private readonly trainer: CudaDecoderTrainer,
    private readonly weightDecay: number,
    private readonly onRestore: (values: readonly Float32Array[]) => void,
    reducer?: DeviceGradientReducer,
  ) {
    if (reducer !== undefined) this.reduce = (loss) => this.reduceOverRanks(reducer, loss);
  }

  reduce?: (loss: number) => Promise<number>;

  /** The arena's gradients and the loss summed over the ranks, in place, on the trainer's stream. */
  private async reduceOverRanks(reducer: DeviceGradientReducer, loss: number): Promise<number> {
    const { device, arena } = this.trainer;
    const total = Float32Array.of(loss);
    const lossOnDevice = device.alloc(4);
    try {
      device.upload(lossOnDevice.ptr, total);
      reducer.allReduceSumDevice(arena.grad.ptr, arena.numel, device.stream);
      reducer.allReduceSumDevice(lossOnDevice.ptr, 1, device.stream);
      device.download(total, lossOnDevice.ptr); // waits for both sums
    } finally {
      lossOnDevice.free();
    }
    return total[0] as number;
  }

  clipGradients(maxNorm: number): number {
    const norm = this.trainer.arena.gradNorm();
    this.gradScale = clipCoefficient(norm, maxNorm); // applied by the next step, as clipGradNorm on the host
    return norm;
  }

  step(lr: number): void {
    this.t++;
    this.trainer.arena.adamwStep({ lr, ...ADAMW_DEFAULTS, weightDecay: this.weightDecay, step: this.t, gradScale: this.gradScale });
  }

  snapshot(): OptimizerSnapshot {
    const arena = this.trainer.arena;
    return { t: this.t, values: arena.read("master"), m: arena.read("m"), v: arena.read("v") };
  }

  restore(s: OptimizerSnapshot): void {
    this.trainer.setLoraParams([...s.values]);
    this.trainer.arena.setMoments(s.m, s.v);
    this.t = s.t;
    this.onRestore(s.values);
  }
}

/** LoRA training on one GPU (see the file's comment for where the optimizer runs). */
export class CudaTrainableModel implements TrainableModel {
  private readonly params: Parameter[];
  /** Host values changed since the last upload (the host path, after an optimizer step or a resume). */
  private stale = true;
  /** Set by deviceOptimizer: the GPU holds the current values; the host copies are the first ones. */
  private onDevice = false;

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

  deviceOptimizer(options: { weightDecay: number; reducer?: GradientReducer }): StepOptimizer | undefined {
    const { reducer } = options;
    if (reducer !== undefined && !isDeviceGradientReducer(reducer)) return undefined; // host gradients, then
    this.onDevice = true;
    const onRestore = (values: readonly Float32Array[]) => {
      for (const [k, p] of this.params.entries()) p.value.set(values[k] as Float32Array);
      this.stale = false; // restore uploaded them
    };
    return new CudaStepOptimizer(this.trainer, options.weightDecay, onRestore, reducer);
  }

  zeroGrad(): void {
    this.trainer.zeroGrads();
    if (this.onDevice) return; // the device's values are the current ones: nothing to upload
    for (const p of this.params) p.grad.fill(0);
    this.stale = true;
  }

  lossAndGrad(ids: Int32Array, targets: Int32Array, batch: number, tokens: number, lossScale: number): number {
    if (this.stale) {
      this.trainer.setLoraParams(this.params.map((p) => p.value));
      this.stale = false;
    }
    const loss = this.trainer.forwardBackward(ids, targets, batch, tokens, lossScale);
    if (!this.onDevice) {
      // the device accumulates over micro-batches: its gradients are the running total
      const grads = this.trainer.readLora("grads");
      for (const [i, p] of this.params.entries()) p.grad.set(grads[i] as Float32Array);
    }
    return loss;
  }

  randomState(): unknown {
    return { calls: this.trainer.calls };
  }

  setRandomState(state: unknown): void {
    this.trainer.calls = callsOfRandomState(state);
    if (!this.onDevice) this.stale = true; // a resume set the host values (on the device path, restore uploaded them)
  }

  seekRandom(call: number): void {
    this.trainer.calls = call;
  }

  adapter(): LoraWeights {
    if (this.onDevice) {
      const values = this.trainer.readLora("params");
      for (const [k, p] of this.params.entries()) p.value.set(values[k] as Float32Array);
    }
    return loraWeightsOf(this.params, this.lora, this.baseModel);
  }

  /** Peak device memory in use so far (bytes). */
  get peakMemory(): number {
    return this.trainer.device.memory.memoryStats().peakInUse;
  }
}
