// One rank of nccl.test.ts's data-parallel training test (started through the launcher): the
// tiny qwen2 run of tiny-training.ts on this rank's GPU, its gradients summed over the group by
// NCCL on the device; rank 0 writes the log into the folder given as the first argument.
import { openCudaDevice } from "../../../src/engine/cuda/device.js";
import { workerRank } from "../../../src/train/launch.js";
import { NcclReducer } from "../../../src/train/nccl-reducer.js";
import { train } from "../../../src/train/trainer.js";
import { openTinyModel, options, uploadTinyQwen2 } from "./tiny-training.js";

const me = workerRank();
const outputDir = process.argv[2];
if (me === undefined || outputDir === undefined) throw new Error("start through launchWorkers, with the output folder as the argument");
const device = openCudaDevice(me.rank);
const { model, dispose } = openTinyModel(device, uploadTinyQwen2(device));
const reducer = new NcclReducer(device, me.rank, me.world, me.ncclId);
try {
  await train({ ...options, model, outputDir, distributed: { reducer } });
} finally {
  reducer.close();
  dispose();
  device.dispose();
}
