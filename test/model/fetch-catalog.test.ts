import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { MODEL_CATALOG, ModelNotFetchedError, catalogModelPath, resolveModel } from "../../src/model/catalog.js";

test("a catalog name resolves to its cached file when present with the right size", () => {
  const dir = mkdtempSync(join(tmpdir(), "at-cat-"));
  const entry = MODEL_CATALOG[0];
  assert.throws(() => resolveModel(entry.name, dir), (e) => e instanceof ModelNotFetchedError && /models fetch/.test(String(e.hint)));
  const path = catalogModelPath(entry, dir);
  mkdirSync(join(dir, "models", entry.name), { recursive: true });
  writeFileSync(path, "short");
  assert.throws(() => resolveModel(entry.name, dir), ModelNotFetchedError);
});

test("a file path passes through and an unknown name is refused", () => {
  const dir = mkdtempSync(join(tmpdir(), "at-cat-"));
  const file = join(dir, "x.gguf");
  writeFileSync(file, "x");
  assert.equal(resolveModel(file, dir), file);
  assert.throws(() => resolveModel("no-such-model", dir), /no model file or catalog model/);
});
