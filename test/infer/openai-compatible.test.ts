import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { ModelServerError, OpenAICompatibleModel } from "../../src/infer/openai-compatible.js";

async function serve(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => handler(req, res, n++));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

const reply = (content: string) => JSON.stringify({ choices: [{ message: { content }, finish_reason: "stop" }] });

test("streaming pieces split across reads concatenate and stop strings cut", async () => {
  const s = await serve((_q, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    const sse = ["Thought: hi", "\nAction: {}", "\nObserv", "ation: x"]
      .map((c) => `data: ${JSON.stringify({ choices: [{ delta: { content: c } }] })}\n\n`)
      .join("") + "data: [DONE]\n\n";
    // Write in 7-byte pieces so lines split across reads.
    let i = 0;
    const tick = () => { if (i >= sse.length) return res.end(); res.write(sse.slice(i, i + 7)); i += 7; setImmediate(tick); };
    tick();
  });
  try {
    const m = new OpenAICompatibleModel({ baseURL: s.baseURL, model: "m" });
    let out = "";
    for await (const p of m.stream([{ role: "user", content: "q" }], { stop: ["\nObservation:"] })) out += p;
    assert.equal(out, "Thought: hi\nAction: {}");
  } finally { await s.close(); }
});

test("a 500 then success is retried", async () => {
  const s = await serve((_q, res, n) => {
    if (n === 0) { res.writeHead(500); res.end("boom"); } else { res.writeHead(200); res.end(reply("ok")); }
  });
  try {
    const m = new OpenAICompatibleModel({ baseURL: s.baseURL, model: "m", backoffMs: 1 });
    assert.equal((await m.generate([{ role: "user", content: "q" }])).text, "ok");
  } finally { await s.close(); }
});

test("a 429 with Retry-After is honoured then succeeds", async () => {
  const s = await serve((_q, res, n) => {
    if (n === 0) { res.writeHead(429, { "retry-after": "0" }); res.end("slow down"); } else { res.writeHead(200); res.end(reply("fine")); }
  });
  try {
    const m = new OpenAICompatibleModel({ baseURL: s.baseURL, model: "m", backoffMs: 10_000 });
    assert.equal((await m.generate([{ role: "user", content: "q" }])).text, "fine");
  } finally { await s.close(); }
});

test("a hanging server gives a timeout ModelServerError", async () => {
  const s = await serve(() => {});
  try {
    const m = new OpenAICompatibleModel({ baseURL: s.baseURL, model: "m", timeoutMs: 200, maxTries: 1 });
    await assert.rejects(m.generate([{ role: "user", content: "q" }]), (e) => e instanceof ModelServerError && /timed out/.test(e.message));
  } finally { await s.close(); }
});

test("bad JSON and a 400 give typed errors with the status", async () => {
  const s = await serve((_q, res, n) => {
    if (n === 0) { res.writeHead(200); res.end("not json"); } else { res.writeHead(400); res.end("bad request"); }
  });
  try {
    const m = new OpenAICompatibleModel({ baseURL: s.baseURL, model: "m", maxTries: 1 });
    await assert.rejects(m.generate([{ role: "user", content: "q" }]), (e) => e instanceof ModelServerError && /not JSON/.test(e.message));
    await assert.rejects(m.generate([{ role: "user", content: "q" }]), (e) => e instanceof ModelServerError && e.status === 400);
  } finally { await s.close(); }
});

test("an aborted signal rejects the call", async () => {
  const s = await serve(() => {});
  try {
    const m = new OpenAICompatibleModel({ baseURL: s.baseURL, model: "m" });
    const ac = new AbortController();
    const p = m.generate([{ role: "user", content: "q" }], { signal: ac.signal });
    setTimeout(() => ac.abort(new Error("stopped")), 50);
    await assert.rejects(p, /stopped/);
  } finally { await s.close(); }
});
