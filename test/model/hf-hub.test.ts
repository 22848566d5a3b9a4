import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { InvalidInputError } from "../../src/errors.js";
import { loadHfFolder } from "../../src/model/hf-folder.js";
import { downloadModel, hfHubCacheDir, isModelId, ModelDownloadError, resolveCachedModel, resolveModelFolder } from "../../src/model/hf-hub.js";
import { writeSafetensors } from "../../src/model/safetensors.js";
import { TINY_LLAMA_CONFIG, tinyLlamaWeights } from "./tiny-model.js";

const root = mkdtempSync(join(tmpdir(), "agenttune-hub-"));
after(() => rmSync(root, { recursive: true, force: true }));

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const config = Buffer.from(JSON.stringify(TINY_LLAMA_CONFIG));
const weights = (() => {
  const p = join(root, "w.safetensors");
  writeSafetensors(p, tinyLlamaWeights(), { format: "pt" });
  return readFileSync(p);
})();
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const gitSha1 = (b: Buffer) => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");

interface FakeFile {
  body: Buffer;
  lfs: boolean;
  /** Bytes to send before cutting the connection, on the first GET only. */
  cutAfter?: number;
  /** Serve these bytes instead of `body` (while advertising body's checksum). */
  corrupt?: Buffer;
}

/** A minimal hub: the model API, HEAD and GET (with Range) on /{repo}/resolve/{rev}/{file}. */
class FakeHub {
  server: Server;
  requests: { method: string; url: string; range?: string; auth?: string }[] = [];
  repos = new Map<string, Map<string, FakeFile>>();
  cuts = new Set<string>();
  status = new Map<string, number>();

  constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
  }
  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = decodeURIComponent(req.url ?? "");
    this.requests.push({ method: req.method ?? "", url, range: req.headers.range, auth: req.headers.authorization });
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url);
    if (api) {
      const files = this.repos.get(api[1]);
      if (!files) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(JSON.stringify({ sha: COMMIT, siblings: [...files.keys()].map((rfilename) => ({ rfilename })) }));
    }
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    const forced = m ? this.status.get(m[1]) : undefined;
    if (forced) return void res.writeHead(forced).end();
    const file = m ? this.repos.get(m[1])?.get(m[3]) : undefined;
    if (!m || !file) return void res.writeHead(404, { "x-error-code": "EntryNotFound" }).end();
    const headers: Record<string, string | number> = { "x-repo-commit": COMMIT };
    if (file.lfs) {
      headers["x-linked-etag"] = `"${sha256(file.body)}"`;
      headers["x-linked-size"] = file.body.length;
      headers.etag = '"lfs-pointer-etag"';
    } else headers.etag = `"${gitSha1(file.body)}"`;
    if (req.method === "HEAD") {
      res.writeHead(200, { ...headers, "content-length": file.body.length });
      return void res.end();
    }
    const served = file.corrupt ?? file.body;
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range) start = Number(range[1]);
    const part = served.subarray(start);
    res.writeHead(range ? 206 : 200, { ...headers, "content-length": part.length, ...(range ? { "content-range": `bytes ${start}-${served.length - 1}/${served.length}` } : {}) });
    const key = `${m[1]}/${m[3]}`;
    if (file.cutAfter !== undefined && !this.cuts.has(key)) {
      this.cuts.add(key);
      res.write(part.subarray(0, file.cutAfter), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(part);
  }
}

const hub = new FakeHub();
before(() => new Promise<void>((ok) => hub.server.listen(0, "127.0.0.1", ok)));
after(() => new Promise<void>((ok) => hub.server.close(() => ok())));

hub.repos.set(
  "org/tiny",
  new Map<string, FakeFile>([
    ["config.json", { body: config, lfs: false }],
    ["tokenizer_config.json", { body: Buffer.from(JSON.stringify({ chat_template: "{{ x }}" })), lfs: false }],
    ["model.safetensors", { body: weights, lfs: true, cutAfter: Math.floor(weights.length / 2) }],
    ["README.md", { body: Buffer.from("# tiny"), lfs: false }],
  ]),
);
hub.repos.set("org/corrupt", new Map<string, FakeFile>([["config.json", { body: config, lfs: false }], ["model.safetensors", { body: weights, lfs: true, corrupt: Buffer.from(weights).fill(7, 100, 110) }]]));

describe("model ids from the Hugging Face cache, offline", () => {
  test("HF_HUB_CACHE, then HF_HOME/hub, then ~/.cache/huggingface/hub", () => {
    assert.equal(hfHubCacheDir({ HF_HUB_CACHE: "/a", HF_HOME: "/b" }), "/a");
    assert.equal(hfHubCacheDir({ HF_HOME: "/b" }), join("/b", "hub"));
    assert.match(hfHubCacheDir({}), /\.cache\/huggingface\/hub$/);
  });
  test("refs/main names the snapshot folder", () => {
    const cache = join(root, "offline-cache");
    const repo = join(cache, "models--HuggingFaceTB--SmolLM2-135M-Instruct");
    mkdirSync(join(repo, "refs"), { recursive: true });
    mkdirSync(join(repo, "snapshots", "abc123"), { recursive: true });
    writeFileSync(join(repo, "refs", "main"), "abc123\n");
    writeFileSync(join(repo, "snapshots", "abc123", "config.json"), config);
    const env = { HF_HUB_CACHE: cache };
    assert.equal(resolveCachedModel("HuggingFaceTB/SmolLM2-135M-Instruct", { env }), undefined, "no weights yet: incomplete");
    writeFileSync(join(repo, "snapshots", "abc123", "model.safetensors"), weights);
    assert.equal(resolveCachedModel("HuggingFaceTB/SmolLM2-135M-Instruct", { env }), join(repo, "snapshots", "abc123"));
    assert.equal(resolveCachedModel("HuggingFaceTB/SmolLM2-135M-Instruct", { env, revision: "abc123" }), join(repo, "snapshots", "abc123"));
    assert.equal(resolveCachedModel("Qwen/Qwen3-0.6B", { env }), undefined);
    assert.equal(isModelId("../etc"), false);
    assert.equal(isModelId("a/b/c"), false);
  });
  test("with HF_HUB_OFFLINE a model missing from the cache is an error naming the cache", async () => {
    await assert.rejects(
      resolveModelFolder("org/absent", { env: { HF_HUB_CACHE: join(root, "empty-cache"), HF_HUB_OFFLINE: "1", HF_ENDPOINT: hub.endpoint } }),
      (e: unknown) => e instanceof InvalidInputError && /empty-cache/.test(e.message),
    );
  });
});

describe("downloading from a hub (a fake one on 127.0.0.1)", () => {
  test("a download cut half-way resumes with a Range request, is checksummed and lands in the cache layout", async () => {
    const cache = join(root, "dl-cache");
    const env = { HF_HUB_CACHE: cache, HF_ENDPOINT: hub.endpoint, HF_TOKEN: "secret" };
    hub.requests = [];
    const snap = await downloadModel("org/tiny", { env });
    assert.equal(snap, join(cache, "models--org--tiny", "snapshots", COMMIT));
    assert.equal(readFileSync(join(cache, "models--org--tiny", "refs", "main"), "utf8"), COMMIT);
    const gets = hub.requests.filter((r) => r.method === "GET" && r.url.endsWith("model.safetensors"));
    assert.deepEqual(
      gets.map((r) => r.range),
      [undefined, `bytes=${Math.floor(weights.length / 2)}-`],
    );
    assert.ok(hub.requests.every((r) => r.auth === "Bearer secret"));
    assert.equal(existsSync(join(snap, "README.md")), false);
    assert.ok(lstatSync(join(snap, "model.safetensors")).isSymbolicLink());
    assert.ok(existsSync(join(cache, "models--org--tiny", "blobs", sha256(weights))));
    assert.deepEqual(readFileSync(join(snap, "model.safetensors")), weights);
    const m = loadHfFolder(snap);
    assert.equal(m.chatTemplate, "{{ x }}");
    const w = m.openWeights();
    assert.equal(w.readTensor("model.embed_tokens.weight")[7], 1);
    assert.equal(m.config.numLayers, 2);
    w.close();
    // Now cached: resolving the id needs no request.
    hub.requests = [];
    assert.equal(await resolveModelFolder("org/tiny", { env }), snap);
    assert.equal(hub.requests.length, 0);
  });

  test("a body that does not match the hub's sha256 is refused and not kept", async () => {
    const cache = join(root, "bad-cache");
    await assert.rejects(downloadModel("org/corrupt", { env: { HF_HUB_CACHE: cache, HF_ENDPOINT: hub.endpoint } }), (e: unknown) => e instanceof ModelDownloadError && /checksum/.test(e.message));
    const blobs = readdirSync(join(cache, "models--org--corrupt", "blobs"));
    assert.ok(!blobs.includes(sha256(weights)));
    assert.ok(!blobs.some((b) => b.endsWith(".incomplete")));
  });

  test("a gated model (401) says to set HF_TOKEN; an unknown repo says not found", async () => {
    hub.repos.set("org/gated", new Map([["config.json", { body: config, lfs: false }]]));
    hub.status.set("org/gated", 401);
    const env = { HF_HUB_CACHE: join(root, "gated-cache"), HF_ENDPOINT: hub.endpoint };
    await assert.rejects(downloadModel("org/gated", { env, files: ["config.json"] }), (e: unknown) => e instanceof ModelDownloadError && /HF_TOKEN/.test(e.hint ?? ""));
    await assert.rejects(downloadModel("org/missing", { env }), (e: unknown) => e instanceof ModelDownloadError && /404/.test(e.message));
  });

  test("an unreachable hub is a ModelDownloadError that suggests the cache", async () => {
    const env = { HF_HUB_CACHE: join(root, "down-cache"), HF_ENDPOINT: "http://127.0.0.1:9" };
    await assert.rejects(downloadModel("org/tiny", { env }), (e: unknown) => e instanceof ModelDownloadError && /cache/.test(e.hint ?? ""));
  });
});
