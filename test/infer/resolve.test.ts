import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { InvalidInputError } from "../../src/errors.js";
import { EngineChatModel } from "../../src/infer/engine-model.js";
import { LlamaCppModel } from "../../src/infer/llama-cpp.js";
import { OpenAICompatibleModel } from "../../src/infer/openai-compatible.js";
import { AdapterKindError, ModelPathError, planModel, resolveModel, UnknownEngineError } from "../../src/infer/resolve.js";
import { catalogModelPath, findCatalogModel, ModelNotFetchedError } from "../../src/model/catalog.js";
import { writeGguf } from "../../src/model/gguf-writer.js";
import { exportPeftAdapter } from "../../src/train/export-peft.js";

const dir = mkdtempSync(join(tmpdir(), "agenttune-resolve-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// Files of each kind the resolver tells apart (contents only as deep as it looks).
const GGUF = join(dir, "model.gguf");
writeGguf(GGUF, { metadata: { "general.architecture": "llama", "general.type": "model" }, tensors: [{ name: "a.weight", shape: [2], type: "F32", data: new Float32Array(2) }] });
const LORA = join(dir, "lora.gguf");
writeGguf(LORA, { metadata: { "general.architecture": "llama", "general.type": "adapter", "adapter.type": "lora" }, tensors: [{ name: "a.weight", shape: [2], type: "F32", data: new Float32Array(2) }] });
const NOT_GGUF = join(dir, "notes.txt");
writeFileSync(NOT_GGUF, "hello");
const FOLDER = join(dir, "hf-model");
cpSync(join(import.meta.dirname, "../fixtures/decoder/llama"), FOLDER, { recursive: true });
const PEFT = join(dir, "peft");
exportPeftAdapter(PEFT, { baseModel: "tiny", rank: 1, alpha: 1, dropout: 0, targets: [], tensors: new Map() });
const EMPTY_DIR = join(dir, "empty");
mkdirSync(EMPTY_DIR);
const CACHE = join(dir, "cache");
const env = { HF_HUB_CACHE: join(dir, "hub"), HF_HUB_OFFLINE: "1" };
const options = { cacheDir: CACHE, env };

/** Asserts the promise rejects with an error of `type` whose message matches and that carries a hint. */
async function refused(p: Promise<unknown>, type: new (...args: never[]) => Error, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof type, `${(e as Error).name}: ${(e as Error).message}`);
    assert.match((e as Error).message, message);
    assert.ok((e as { hint?: string }).hint, "has a hint");
    return true;
  });
}

describe("which engine runs the model", () => {
  test("a .gguf runs on llama by default, and on own when asked", async () => {
    assert.deepEqual(await planModel({ model: GGUF }, options), { engine: "llama", modelPath: GGUF });
    assert.deepEqual(await planModel({ model: GGUF, engine: "own" }, options), { engine: "own", modelPath: GGUF });
  });

  test("a Hugging Face folder runs on own; llama refuses it", async () => {
    assert.deepEqual(await planModel({ model: FOLDER }, options), { engine: "own", modelPath: FOLDER });
    await refused(planModel({ model: FOLDER, engine: "llama" }, options), ModelPathError, /is a model folder; node-llama-cpp runs GGUF files/);
  });

  test("--base-url means openai; the model name goes to the server as is", async () => {
    assert.deepEqual(await planModel({ model: "qwen2.5-3b", baseUrl: "http://127.0.0.1:8080/v1", apiKey: "k" }, options), {
      engine: "openai",
      baseURL: "http://127.0.0.1:8080/v1",
      model: "qwen2.5-3b",
      apiKey: "k",
    });
    assert.deepEqual(await planModel({ model: "m", engine: "openai", baseUrl: "http://h/v1" }, { ...options, env: { OPENAI_API_KEY: "from-env" } }), {
      engine: "openai",
      baseURL: "http://h/v1",
      model: "m",
      apiKey: "from-env",
    });
  });

  test("openai without --base-url, or --base-url with a local engine, is refused", async () => {
    await refused(planModel({ model: "m", engine: "openai" }, options), InvalidInputError, /--engine openai needs --base-url/);
    await refused(planModel({ model: GGUF, engine: "own", baseUrl: "http://h/v1" }, options), InvalidInputError, /--base-url is for --engine openai, not own/);
  });

  test("an unknown engine is a usage error that lists the engines", async () => {
    await assert.rejects(planModel({ model: GGUF, engine: "vllm" }, options), (e: unknown) => {
      assert.ok(e instanceof UnknownEngineError);
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /unknown engine "vllm"/);
      assert.match(e.hint ?? "", /llama, openai, own/);
      return true;
    });
  });
});

describe("where the model files are", () => {
  test("a catalog name resolves to its cached file, or says how to fetch it", async () => {
    await refused(planModel({ model: "smollm2-135m-instruct" }, options), ModelNotFetchedError, /is not in the cache/);
    const entry = findCatalogModel("smollm2-135m-instruct");
    assert.ok(entry);
    const path = catalogModelPath(entry, CACHE);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, "");
    truncateSync(path, entry.size); // a sparse stand-in of the catalog's size
    assert.deepEqual(await planModel({ model: "smollm2-135m-instruct" }, options), { engine: "llama", modelPath: path });
    assert.deepEqual(await planModel({ model: "smollm2-135m-instruct", engine: "own" }, options), { engine: "own", modelPath: path });
  });

  test("a missing path, a non-GGUF file and a folder without config.json are refused with the path named", async () => {
    await refused(planModel({ model: join(dir, "nope.gguf") }, options), ModelPathError, /nope\.gguf: no such file, folder or catalog model/);
    // a relative path of the form ORG/NAME is a missing file too, not a model id to download
    await refused(planModel({ model: "models/nope.gguf" }, options), ModelPathError, /models\/nope\.gguf: no such file, folder or catalog model/);
    await refused(planModel({ model: NOT_GGUF }, options), ModelPathError, /is not a GGUF file/);
    await refused(planModel({ model: EMPTY_DIR }, options), ModelPathError, /is a folder without config\.json/);
  });

  test("an ORG/NAME id is looked up in the hub cache on own, and is no GGUF for llama", async () => {
    await refused(planModel({ model: "HuggingFaceTB/SmolLM2-135M-Instruct" }, options), InvalidInputError, /is not in the Hugging Face cache .* HF_HUB_OFFLINE is set/);
    await refused(planModel({ model: "HuggingFaceTB/SmolLM2-135M-Instruct", engine: "llama" }, options), ModelPathError, /no such file/);
  });
});

describe("the adapter must be of the engine's kind", () => {
  test("llama takes a GGUF LoRA file", async () => {
    assert.deepEqual(await planModel({ model: GGUF, adapter: LORA }, options), { engine: "llama", modelPath: GGUF, loraPath: LORA });
  });

  test("llama refuses a PEFT folder, pointing at --engine own and the GGUF export", async () => {
    await assert.rejects(planModel({ model: GGUF, adapter: PEFT }, options), (e: unknown) => {
      assert.ok(e instanceof AdapterKindError);
      assert.match(e.message, /is a folder \(a PEFT adapter\); node-llama-cpp applies GGUF LoRA files/);
      assert.match(e.hint ?? "", /--engine own/);
      assert.match(e.hint ?? "", /--format gguf-lora/);
      return true;
    });
  });

  test("llama refuses a model GGUF or another file as the adapter", async () => {
    await refused(planModel({ model: GGUF, adapter: GGUF }, options), AdapterKindError, /is a GGUF of type "model", not a LoRA adapter/);
    await refused(planModel({ model: GGUF, adapter: NOT_GGUF }, options), AdapterKindError, /is not a GGUF file/);
  });

  test("own takes a PEFT folder, on a folder or a .gguf base", async () => {
    assert.deepEqual(await planModel({ model: FOLDER, adapter: PEFT }, options), { engine: "own", modelPath: FOLDER, adapterPath: PEFT });
    assert.deepEqual(await planModel({ model: GGUF, engine: "own", adapter: PEFT }, options), { engine: "own", modelPath: GGUF, adapterPath: PEFT });
  });

  test("own takes a GGUF LoRA too (read back and merged), and refuses a folder that is no PEFT adapter", async () => {
    assert.deepEqual(await planModel({ model: FOLDER, adapter: LORA }, options), { engine: "own", modelPath: FOLDER, adapterPath: LORA });
    await refused(planModel({ model: FOLDER, adapter: EMPTY_DIR }, options), AdapterKindError, /has no adapter_config\.json/);
  });

  test("a missing adapter is named; a server takes no adapter", async () => {
    await refused(planModel({ model: FOLDER, adapter: join(dir, "runs/adapter") }, options), ModelPathError, /adapter .*runs\/adapter: does not exist/);
    await refused(planModel({ model: "m", baseUrl: "http://h/v1", adapter: PEFT }, options), AdapterKindError, /cannot be applied to a model on an OpenAI-compatible server/);
  });
});

describe("resolveModel opens the chosen engine's ChatModel", () => {
  test("openai, llama (loads on first call) and own (loads now)", async () => {
    const server = await resolveModel({ model: "m", baseUrl: "http://127.0.0.1:9/v1" }, options);
    assert.ok(server instanceof OpenAICompatibleModel);
    const llama = await resolveModel({ model: GGUF, adapter: LORA }, options);
    assert.ok(llama instanceof LlamaCppModel);
    assert.equal(llama.id, GGUF);
    const folder = join(dir, "hf-with-tokenizer");
    cpSync(FOLDER, folder, { recursive: true });
    const vocab = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [String.fromCharCode(65 + i), i]));
    writeFileSync(join(folder, "tokenizer.json"), JSON.stringify({ version: "1.0", added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: { type: "Fuse" }, model: { type: "BPE", vocab, merges: [] } }));
    const own = await resolveModel({ model: folder }, options);
    assert.ok(own instanceof EngineChatModel);
    assert.equal((await own.generate([{ role: "user", content: "A" }], { maxTokens: 3 })).usage?.completionTokens, 3);
  });
});
