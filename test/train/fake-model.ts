import type { Parameter } from "../../src/train/optimizer.js";
import type { TrainableModel } from "../../src/train/trainer.js";
import type { TokenizeFn } from "../../src/train/tokenize.js";

/** Byte-level tokenizer: one token per UTF-8 byte. */
export const byteTokenize: TokenizeFn = (text) => [...Buffer.from(text, "utf8")];

/**
 * A softmax regression over bytes: logits[t] = W[:, ids[t]] + b, W [V, V], b [V]. Its loss and
 * gradients are exact, so the trainer can be checked without the real decoder.
 */
export class SoftmaxModel implements TrainableModel {
  readonly w: Parameter;
  readonly b: Parameter;
  calls = 0;
  /** Calls (0-based) on which the loss comes out NaN. */
  nanCalls = new Set<number>();
  constructor(readonly vocab = 256) {
    const w = new Float32Array(vocab * vocab);
    for (let i = 0; i < w.length; i++) w[i] = Math.sin(i * 12.9898) * 0.01;
    this.w = { name: "w", shape: [vocab, vocab], value: w, grad: new Float32Array(vocab * vocab) };
    this.b = { name: "b", shape: [vocab], value: new Float32Array(vocab), grad: new Float32Array(vocab) };
  }
  parameters(): readonly Parameter[] {
    return [this.w, this.b];
  }
  zeroGrad(): void {
    this.w.grad.fill(0);
    this.b.grad.fill(0);
  }
  lossAndGrad(ids: Int32Array, targets: Int32Array, batch: number, tokens: number, lossScale: number): number {
    const V = this.vocab;
    const nan = this.nanCalls.has(this.calls++);
    let loss = 0;
    const p = new Float64Array(V);
    for (let i = 0; i < batch * tokens; i++) {
      const y = targets[i];
      if (y === -100) continue;
      const x = ids[i];
      let max = -Infinity;
      for (let v = 0; v < V; v++) {
        p[v] = this.w.value[v * V + x] + this.b.value[v];
        if (p[v] > max) max = p[v];
      }
      let z = 0;
      for (let v = 0; v < V; v++) {
        p[v] = Math.exp(p[v] - max);
        z += p[v];
      }
      loss += -Math.log(p[y] / z);
      for (let v = 0; v < V; v++) {
        const g = (p[v] / z - (v === y ? 1 : 0)) * lossScale;
        this.w.grad[v * V + x] += g;
        this.b.grad[v] += g;
      }
    }
    if (nan) {
      this.b.grad[0] = Number.NaN;
      return Number.NaN;
    }
    return loss;
  }
}
