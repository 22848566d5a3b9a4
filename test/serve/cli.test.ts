import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { toAgentTools } from "../../src/agent/tools.js";
import { loadModelLazily } from "../../src/cli/load-model.js";
import { runCli } from "../../src/cli/main.js";
import { type ServeModelRequest, createServeCommand } from "../../src/cli/serve.js";
import { writeGguf } from "../../src/model/gguf-writer.js";
import { TOKYO_TOOLS, tokyoModel } from "./helpers.js";

test("agenttune demo takes the reference's spellings, loads base and adapter, serves the page and stops cleanly", async () => {
  const requests: ServeModelRequest[] = [];
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const command = createServeCommand("demo", {
    loadModel: async (request) => {
      requests.push(request);
      return tokyoModel({ id: request.adapter === undefined ? "base" : "tuned" });
    },
    loadTools: async () => toAgentTools(TOKYO_TOOLS),
    waitForStop: () => stopped,
  });
  const out: string[] = [];
  const running = runCli(["demo", "--model_id", "smol.gguf", "--adapter_path", "runs/a", "--port", "0", "--api-key", "k"], { out: (t) => out.push(t), err: () => {}, interactive: false }, [command]);
  // the server stops even when an assertion fails, so a failure cannot hang the suite
  let url: string | undefined;
  try {
    for (let waited = 0; !out.join("").includes("demo at"); waited += 5) {
      if (waited > 10_000) assert.fail(`the demo did not start: ${out.join("")}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    url = /demo at (http:\/\/127\.0\.0\.1:\d+)\//.exec(out.join(""))?.[1];
    assert.ok(url !== undefined, out.join(""));
    assert.deepEqual(requests, [
      { model: "smol.gguf", device: "cpu", adapter: "runs/a" },
      { model: "smol.gguf", device: "cpu" },
    ]);
    assert.equal((await fetch(`${url}/`)).status, 200);
    const info = (await (await fetch(`${url}/v1/demo/info`, { headers: { authorization: "Bearer k" } })).json()) as { adapter: string; base: string; tools: { name: string }[] };
    assert.equal(info.adapter, "runs/a");
    assert.equal(info.base, "smol.gguf:base");
    assert.deepEqual(
      info.tools.map((t: { name: string }) => t.name),
      ["get_weather", "search_restaurant"],
    );
  } finally {
    stop();
  }
  assert.equal(await running, 0);
  await assert.rejects(fetch(`${url}/`));
});

test("agenttune serve without --model is a usage error naming the flag", async () => {
  const err: string[] = [];
  const code = await runCli(["serve"], { out: () => {}, err: (t) => err.push(t), interactive: false }, [createServeCommand("serve")]);
  assert.equal(code, 2);
  assert.match(err.join(""), /needs --model/);
});

test("serve --report with a file that is not there is refused before any model loads", async () => {
  let loads = 0;
  const command = createServeCommand("serve", {
    loadModel: async () => {
      loads++;
      return tokyoModel({ id: "base" });
    },
    loadTools: async () => toAgentTools(TOKYO_TOOLS),
    waitForStop: () => Promise.resolve(),
  });
  const err: string[] = [];
  const code = await runCli(["serve", "--model", "smol.gguf", "--port", "0", "--report", "no-such-report.html"], { out: () => {}, err: (t) => err.push(t), interactive: false }, [command]);
  assert.equal(code, 2);
  assert.match(err.join(""), /the report no-such-report\.html does not exist/);
  assert.equal(loads, 0);
});

test("serve with a missing, foreign, damaged or truncated model file fails at start, naming the file, and never listens", async () => {
  const dir = mkdtempSync(join(tmpdir(), "agenttune-serve-bad-model-"));
  try {
    const foreign = join(dir, "notes.gguf");
    writeFileSync(foreign, "not a model");
    // the magic and version, then a tensor count no file of 32 bytes holds
    const damaged = join(dir, "damaged.gguf");
    const header = Buffer.alloc(32);
    header.write("GGUF", 0, "latin1");
    header.writeUInt32LE(3, 4);
    header.writeBigUInt64LE(1n << 40n, 8);
    writeFileSync(damaged, header);
    // a whole header whose tensor data was cut short, as by an interrupted download
    const truncated = join(dir, "truncated.gguf");
    writeGguf(truncated, { metadata: { "general.architecture": "llama" }, tensors: [{ name: "token_embd.weight", shape: [64, 8], type: "F32", data: new Float32Array(512) }] });
    truncateSync(truncated, statSync(truncated).size - 1000);
    const cases: [string, RegExp][] = [
      [join(dir, "absent.gguf"), /absent\.gguf: no such file/],
      [foreign, /notes\.gguf: is not a GGUF file/],
      [damaged, /damaged\.gguf \(tensor_count\): claims \d+ tensors/],
      [truncated, /truncated\.gguf \(tensors\["token_embd\.weight"\]\.offset\): .*past the end of the data \(\d+ bytes\)\n {2}hint: the download was probably cut short/],
    ];
    for (const [model, message] of cases) {
      // the real loader (no stand-in): what `agenttune serve --model <file>` runs
      const command = createServeCommand("serve", { loadModel: loadModelLazily, loadTools: async () => toAgentTools(TOKYO_TOOLS), waitForStop: () => Promise.resolve() });
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(["serve", "--model", model, "--port", "0"], { out: (t) => out.push(t), err: (t) => err.push(t), interactive: false }, [command]);
      assert.equal(code, 2, `${model}: ${err.join("")}`);
      assert.match(err.join(""), message);
      assert.doesNotMatch(out.join(""), /API at/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
