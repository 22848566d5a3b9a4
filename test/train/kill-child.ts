// Child process of trainer.test.ts: trains the slow fake model until it is killed.
import { trainOptions } from "./kill-options.js";
import { train } from "../../src/train/trainer.js";
import { SoftmaxModel } from "./fake-model.js";

class SlowModel extends SoftmaxModel {
  override lossAndGrad(ids: Int32Array, targets: Int32Array, batch: number, tokens: number, lossScale: number): number {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    return super.lossAndGrad(ids, targets, batch, tokens, lossScale);
  }
}

await train({ ...trainOptions(), model: new SlowModel(), outputDir: process.argv[2], saveEvery: 1 });
