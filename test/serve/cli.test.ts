import assert from "node:assert/strict";
import { test } from "node:test";
import { toAgentTools } from "../../src/agent/tools.js";
import { runCli } from "../../src/cli/main.js";
import { type ServeModelRequest, createServeCommand } from "../../src/cli/serve.js";
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
