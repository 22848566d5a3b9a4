// One rank of the NCCL test (started by nccl.test.ts through the launcher): sums rank-tagged
// arrays over the group through NcclReducer and prints what it got as JSON on stdout.
import { openCudaDevice } from "../../../src/engine/cuda/device.js";
import { workerRank } from "../../../src/train/launch.js";
import { NcclReducer } from "../../../src/train/nccl-reducer.js";

const me = workerRank();
if (me === undefined) throw new Error("start through launchWorkers");
const reducer = new NcclReducer(openCudaDevice(me.rank), me.rank, me.world, me.ncclId);
const a = Float32Array.from({ length: 1000 }, (_, i) => i * (me.rank + 1));
const b = Float32Array.of(me.rank);
await reducer.allReduceSum([a, b]);
reducer.close();
process.stderr.write(`${JSON.stringify({ rank: me.rank, a999: a[999], b0: b[0] })}\n`);
