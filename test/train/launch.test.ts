// The data-parallel launcher with stand-in workers (node scripts): every rank starts with its
// rank, the world and the id; the other ranks' errors come through tagged; one failing worker
// stops the rest and sets the exit code.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { launchWorkers, NCCL_ID_ENV, RANK_ENV, WORLD_ENV, workerRank } from "../../src/train/launch.js";

const id = Uint8Array.from({ length: 128 }, (_, i) => i);

describe("data-parallel launcher", () => {
  it("starts one worker a rank with rank, world and id; other ranks' stderr comes tagged", async () => {
    const lines: string[] = [];
    const script = `process.stderr.write(process.env.${RANK_ENV} + "/" + process.env.${WORLD_ENV} + " " + process.env.${NCCL_ID_ENV}.slice(0, 6) + "\\n")`;
    const code = await launchWorkers({ world: 3, ncclId: id, command: process.execPath, args: ["-e", script], err: (t) => lines.push(t) });
    assert.equal(code, 0);
    // rank 0 writes to the launcher's own stderr; ranks 1 and 2 through err()
    assert.deepEqual(lines.sort(), ["[rank 1] 1/3 000102\n", "[rank 2] 2/3 000102\n"]);
  });

  it("a failing worker stops the others and its exit code is the run's", async () => {
    const script = `if (process.env.${RANK_ENV} === "1") process.exit(3); setTimeout(() => {}, 60000)`;
    const started = Date.now();
    const code = await launchWorkers({ world: 3, ncclId: id, command: process.execPath, args: ["-e", script], err: () => {} });
    assert.equal(code, 3);
    assert.ok(Date.now() - started < 30000, "the waiting ranks were stopped, not waited for");
  });

  it("reads a worker's rank from its environment and refuses a malformed one", () => {
    const hex = Buffer.from(id).toString("hex");
    assert.equal(workerRank({}), undefined);
    assert.deepEqual(workerRank({ [RANK_ENV]: "1", [WORLD_ENV]: "2", [NCCL_ID_ENV]: hex }), { rank: 1, world: 2, ncclId: id });
    assert.throws(() => workerRank({ [RANK_ENV]: "2", [WORLD_ENV]: "2", [NCCL_ID_ENV]: hex }), /name no rank of a run/);
    assert.throws(() => workerRank({ [RANK_ENV]: "0", [WORLD_ENV]: "2", [NCCL_ID_ENV]: "abc" }), /not a 128-byte id/);
  });
});
