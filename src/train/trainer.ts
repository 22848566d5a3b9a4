import * as fs from "node:fs";
import { join } from "node:path";
import { AgentTuneError } from "../errors.js";
import { collate, epochBatchIndices } from "./batches.js";
import { type CheckpointFs, CheckpointMismatchError, findCheckpoint, fingerprint, readCheckpoint, writeCheckpoint } from "./checkpoint.js";
import { type DistributedOptions, type GradientReducer, rankShare } from "./distributed.js";
import { HostStepOptimizer, NonFiniteLossError, type Parameter, type StepOptimizer } from "./optimizer.js";
import { cosineWithWarmup, warmupStepsFor } from "./schedule.js";
import type { TokenizedExample } from "./tokenize.js";

/**
 * What the trainer needs of a model: its trainable tensors with gradients, and a combined
 * forward + backward that adds to those gradients.
 */
export interface TrainableModel {
  /** The trainable tensors (LoRA A and B), the same objects on every call. */
  parameters(): readonly Parameter[];
  /**
   * Forward and backward on one padded batch. `ids`, `targets`: [batch, tokens]; targets are
   * already shifted (−100 = no loss). Adds lossScale × d(summed loss)/d(param) to each grad and
   * returns the summed (not averaged) cross-entropy over the targets.
   */
  lossAndGrad(ids: Int32Array, targets: Int32Array, batch: number, tokens: number, lossScale: number): number;
  zeroGrad(): void;
  /** Optional random state (dropout), saved in checkpoints so a resume repeats the same masks. */
  randomState?(): unknown;
  setRandomState?(state: unknown): void;
  /**
   * Sets the index of the next forward call (which names its dropout masks). Data-parallel
   * ranks call it with the micro-batch's position in the global run, so every rank draws the
   * masks one rank would have drawn for that micro-batch.
   */
  seekRandom?(call: number): void;
  /**
   * Moves clipping and AdamW to where the gradients are (a GPU), so a step sends no gradient or
   * value over the bus. From this call on, lossAndGrad leaves the host gradients alone and the host
   * values are current only in the optimizer's snapshot. Given the data-parallel ranks' reducer,
   * the optimizer also sums the gradients over the ranks there (StepOptimizer.reduce); a model that
   * cannot with that reducer returns undefined and changes nothing, and the ranks sum host
   * gradients.
   */
  deviceOptimizer?(options: { weightDecay: number; reducer?: GradientReducer }): StepOptimizer | undefined;
}

/** One line of the step log (`train_log.jsonl`). */
export interface StepLog {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  grad_norm: number;
  tokens: number;
  tokens_per_s: number;
  elapsed_s: number;
  /** Present when the step was skipped (NaN/Inf loss or gradient). */
  skipped?: boolean;
}

/** Reported after every step. */
export interface TrainProgress extends StepLog {
  totalSteps: number;
}

export interface TrainOptions {
  model: TrainableModel;
  /** The base model's id or path; part of the checkpoint fingerprint. */
  modelId: string;
  examples: readonly TokenizedExample[];
  /** Receives train_log.jsonl and checkpoint/. */
  outputDir: string;
  epochs?: number;
  lr?: number;
  warmupRatio?: number;
  batchSize?: number;
  gradAccum?: number;
  seed?: number;
  maxGradNorm?: number;
  weightDecay?: number;
  /** Save a checkpoint every this many steps (0 = only at the end). */
  saveEvery?: number;
  /** Continue from outputDir/checkpoint. */
  resume?: boolean;
  /** Stop (as if interrupted) after this many steps in total. */
  maxSteps?: number;
  /** Stop after this many NaN/Inf steps in a row; default 5. */
  maxBadSteps?: number;
  padId?: number;
  /** Anything else that must match on resume (LoRA settings, data file hash). */
  fingerprintExtra?: unknown;
  onProgress?(progress: TrainProgress): void;
  onWarning?(message: string): void;
  /** Clock in ms; default Date.now. */
  now?(): number;
  checkpointFs?: CheckpointFs;
  /** Data-parallel training: this rank's share of each step, gradients summed over the ranks. */
  distributed?: DistributedOptions;
}

export interface TrainResult {
  steps: number;
  totalSteps: number;
  /** Loss of the last applied step. */
  finalLoss: number;
  logFile: string;
  checkpointDir: string;
}

/** Training cannot start (no examples, bad numbers). */
export class TrainSetupError extends AgentTuneError {}

/** Runs the training loop; see TrainOptions. Deterministic for a given seed. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const epochs = options.epochs ?? 3;
  const baseLr = options.lr ?? 2e-4;
  const batchSize = options.batchSize ?? 1;
  const gradAccum = options.gradAccum ?? 1;
  const seed = options.seed ?? 42;
  const maxGradNorm = options.maxGradNorm ?? 1;
  const maxBadSteps = options.maxBadSteps ?? 5;
  const now = options.now ?? Date.now;
  const { model, examples } = options;
  if (examples.length === 0) throw new TrainSetupError("no training examples", { hint: "check --data and --max-length" });
  for (const [name, v] of Object.entries({ epochs, batchSize, gradAccum })) {
    if (!Number.isInteger(v) || v < 1) throw new TrainSetupError(`${name} must be a whole number ≥ 1, got ${v}`);
  }
  const lengths = examples.map((e) => e.ids.length);
  const batchesPerEpoch = Math.ceil(examples.length / batchSize);
  const stepsPerEpoch = Math.ceil(batchesPerEpoch / gradAccum);
  const totalSteps = stepsPerEpoch * epochs;
  const warmupSteps = warmupStepsFor(totalSteps, options.warmupRatio ?? 0.03);
  if (warmupSteps >= totalSteps && baseLr > 0) {
    options.onWarning?.(
      `all ${totalSteps} step(s) are warm-up: the learning rate climbs from 0 and never reaches --lr ${baseLr}, so the adapter barely moves from its start; train on more examples or epochs, or lower --warmup-ratio`,
    );
  }
  const fp = fingerprint({
    modelId: options.modelId,
    epochs,
    baseLr,
    batchSize,
    gradAccum,
    seed,
    maxGradNorm,
    weightDecay: options.weightDecay ?? 0,
    warmupRatio: options.warmupRatio ?? 0.03,
    lengths,
    extra: options.fingerprintExtra ?? null,
  });

  const params = model.parameters();
  const reducer = options.distributed?.reducer;
  const weightDecay = options.weightDecay ?? 0;
  const onDevice = model.deviceOptimizer?.(reducer === undefined ? { weightDecay } : { weightDecay, reducer });
  if (reducer !== undefined && onDevice !== undefined && onDevice.reduce === undefined) {
    throw new TrainSetupError("the model's device optimizer cannot sum gradients over data-parallel ranks", { hint: "a model's deviceOptimizer given a reducer returns an optimizer with reduce(), or undefined" });
  }
  const optimizer: StepOptimizer = onDevice ?? new HostStepOptimizer(params, { weightDecay });
  const checkpointDir = join(options.outputDir, "checkpoint");
  const logFile = join(options.outputDir, "train_log.jsonl");
  // a resume with nothing to resume fails before it makes an empty output folder
  const found = options.resume === true ? findCheckpoint(checkpointDir) : undefined;
  if (options.resume === true && found === undefined) {
    throw new TrainSetupError(`no checkpoint to resume in ${options.outputDir}`, { hint: "run without --resume to start training" });
  }
  fs.mkdirSync(options.outputDir, { recursive: true });

  const lead = reducer === undefined || reducer.rank === 0;
  let step = 0;
  let epoch = 0;
  let batchInEpoch = 0;
  let badSteps = 0;
  /** Micro-batches run so far over all ranks (names the dropout masks of data-parallel ranks). */
  let microBatches = 0;
  /** The loss of the last step applied (skipped steps leave it). */
  let finalLoss = Number.NaN;
  if (found !== undefined) {
    const ck = readCheckpoint(found);
    if (ck.state.fingerprint !== fp) throw new CheckpointMismatchError(checkpointDir);
    const saved = params.map((p) => {
      const s = ck.params.get(p.name);
      if (s === undefined || s.value.length !== p.value.length) throw new CheckpointMismatchError(checkpointDir);
      return s;
    });
    optimizer.restore({ t: ck.state.adamT, values: saved.map((s) => s.value), m: saved.map((s) => s.m), v: saved.map((s) => s.v) });
    ({ step, epoch, batchInEpoch, badSteps } = ck.state);
    microBatches = ck.state.microBatches ?? 0;
    const random = (ck.state as { random?: unknown }).random;
    if (random !== undefined) model.setRandomState?.(random);
    // Log lines written after the checkpoint by the interrupted run are dropped.
    const kept = fs.existsSync(logFile)
      ? fs
          .readFileSync(logFile, "utf8")
          .split("\n")
          .filter((l) => l.trim() !== "")
          .map((line) => ({ line, entry: JSON.parse(line) as StepLog }))
          .filter(({ entry }) => entry.step <= step)
      : [];
    if (lead) fs.writeFileSync(logFile, kept.map(({ line }) => `${line}\n`).join(""));
    // the last applied step's loss, so a resumed run that has nothing left to do still reports it
    finalLoss = kept.filter(({ entry }) => entry.skipped !== true && Number.isFinite(entry.loss)).at(-1)?.entry.loss ?? Number.NaN;
  } else {
    if (lead && findCheckpoint(checkpointDir) !== undefined) {
      throw new TrainSetupError(`${options.outputDir} already holds a training checkpoint`, {
        hint: "pass --resume to continue it, or choose another --output-dir",
        exitCode: 2,
      });
    }
    if (lead) fs.writeFileSync(logFile, "");
  }

  const save = () => {
    if (!lead) return; // one rank writes; the others hold the same values
    const snap = optimizer.snapshot();
    const state = { step, adamT: snap.t, epoch, batchInEpoch, badSteps, microBatches, fingerprint: fp, random: model.randomState?.() };
    const entry = (p: Parameter, k: number) => ({ shape: p.shape, value: snap.values[k] as Float32Array, m: snap.m[k] as Float32Array, v: snap.v[k] as Float32Array });
    writeCheckpoint(checkpointDir, { state, params: new Map(params.map((p, k) => [p.name, entry(p, k)])) }, options.checkpointFs);
  };

  const started = now();
  const stopAt = Math.min(totalSteps, options.maxSteps ?? totalSteps);
  outer: for (; epoch < epochs; epoch++, batchInEpoch = 0) {
    const order = epochBatchIndices(lengths, { batchSize, seed, epoch });
    while (batchInEpoch < order.length) {
      if (step >= stopAt) break outer;
      const stepStart = now();
      const group = order.slice(batchInEpoch, batchInEpoch + gradAccum).map((idx) => collate(examples, idx, options.padId ?? 0));
      const count = group.reduce((s, b) => s + b.targetCount, 0);
      model.zeroGrad();
      let lossSum = 0;
      if (reducer === undefined) {
        for (const b of group) lossSum += model.lossAndGrad(b.ids, b.targets, b.batch, b.tokens, 1 / Math.max(1, count));
      } else {
        for (const i of rankShare(group.length, reducer.rank, reducer.world)) {
          const b = group[i] as (typeof group)[number];
          model.seekRandom?.(microBatches + i);
          lossSum += model.lossAndGrad(b.ids, b.targets, b.batch, b.tokens, 1 / Math.max(1, count));
        }
        if (optimizer.reduce !== undefined) lossSum = await optimizer.reduce(lossSum);
        else {
          const total = Float32Array.of(lossSum);
          await reducer.allReduceSum([...params.map((p) => p.grad), total]);
          lossSum = total[0] as number;
        }
        model.seekRandom?.(microBatches + group.length);
      }
      microBatches += group.length;
      const loss = lossSum / Math.max(1, count);
      const gradNorm = optimizer.clipGradients(maxGradNorm);
      const lr = cosineWithWarmup(step, { baseLr, warmupSteps, totalSteps });
      const skipped = !Number.isFinite(loss) || !Number.isFinite(gradNorm);
      if (skipped) {
        badSteps++;
        options.onWarning?.(`step ${step + 1}: the loss or gradient is NaN or Inf; step skipped (${badSteps} in a row)`);
        if (badSteps >= maxBadSteps) throw new NonFiniteLossError(badSteps, step + 1);
      } else {
        optimizer.step(lr);
        badSteps = 0;
        finalLoss = loss;
      }
      model.zeroGrad();
      step++;
      batchInEpoch += group.length;
      const tokens = group.reduce((s, b) => s + b.batch * b.tokens, 0);
      const end = now();
      const entry: StepLog = {
        step,
        epoch: epoch + batchInEpoch / order.length,
        loss,
        lr,
        grad_norm: gradNorm,
        tokens,
        tokens_per_s: end > stepStart ? tokens / ((end - stepStart) / 1000) : 0,
        elapsed_s: (end - started) / 1000,
        ...(skipped ? { skipped: true } : {}),
      };
      if (lead) fs.appendFileSync(logFile, `${JSON.stringify(entry)}\n`);
      options.onProgress?.({ ...entry, totalSteps });
      if (options.saveEvery !== undefined && options.saveEvery > 0 && step % options.saveEvery === 0) save();
    }
  }
  if (epoch >= epochs || step >= stopAt) save();
  return { steps: step, totalSteps, finalLoss, logFile, checkpointDir };
}
