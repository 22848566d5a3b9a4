import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ToolDefinitionError, ToolExecutionError } from "../../src/tools/errors.js";
import { loadToolModule } from "../../src/tools/load.js";
import { loadToolsFile } from "../../src/tools/registry.js";
import { openToolSet } from "../../src/tools/tool-set.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "tools");
const dir = mkdtempSync(join(tmpdir(), "agenttune-tools-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeJson(name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof value === "string" ? value : JSON.stringify(value));
  return file;
}

async function definitionError(file: string): Promise<ToolDefinitionError> {
  try {
    await loadToolModule(file);
  } catch (error) {
    assert.ok(error instanceof ToolDefinitionError, `expected ToolDefinitionError, got ${String(error)}`);
    return error;
  }
  assert.fail(`${file} loaded`);
}

describe("user tools from JSON", () => {
  it("canned cases match in order, errors become tool errors, else the default", async () => {
    const registry = await loadToolsFile(join(FIXTURES, "orders.json"));
    assert.deepEqual(registry.names(), ["get_order_status"]);
    assert.deepEqual(await registry.execute({ name: "get_order_status", arguments: { order_id: "a17 " } }, { seed: 0 }), { order_id: "A17", status: "shipped", eta: "2026-12-02" });
    await assert.rejects(registry.execute({ name: "get_order_status", arguments: { order_id: "B2" } }, { seed: 0 }), (e: unknown) => e instanceof ToolExecutionError && e.message === "order B2 was cancelled");
    assert.deepEqual(await registry.execute({ name: "get_order_status", arguments: { order_id: "Z9" } }, { seed: 0 }), { order_id: "Z9", status: "processing" });
  });
  it("a list of tools, one fixed observation, and matching on several arguments", async () => {
    const tools = await loadToolModule(join(FIXTURES, "shop.json"));
    assert.deepEqual(tools.map((t) => t.name), ["get_store_hours", "check_stock"]);
    assert.deepEqual(await tools[0].execute({}, { seed: 0 }), { open: "09:00", close: "18:00" });
    assert.deepEqual(await tools[1].execute({ item: "umbrella", size: 2 }, { seed: 0 }), { item: "umbrella", units: 4 });
    assert.deepEqual(await tools[1].execute({ item: "umbrella", size: 3 }, { seed: 0 }), { item: "umbrella", units: 0 });
  });
  it("a tool with cases and no default has no answer for other arguments", async () => {
    const file = writeJson("nodefault.json", { name: "t", description: "d", parameters: { type: "object", properties: { a: { type: "string" } } }, responses: [{ when: { a: "x" }, observation: { ok: true } }] });
    const [t] = await loadToolModule(file);
    assert.throws(() => t.execute({ a: "y" }, { seed: 0 }), (e: unknown) => e instanceof ToolExecutionError && /no answer/.test(e.message));
  });
  it("malformed files name the file and the field", async () => {
    const schema = { type: "object", properties: {} };
    const cases: [string, unknown, string, RegExp][] = [
      ["noname.json", { description: "d", parameters: schema, responses: {} }, "name", /missing/],
      ["badschema.json", { name: "t", description: "d", parameters: { type: "array" }, responses: {} }, "t.parameters", /"type": "object"/],
      ["nodesc.json", { name: "t", parameters: schema, responses: {} }, "t.description", /missing/],
      ["noresponses.json", { name: "t", description: "d", parameters: schema }, "responses", /missing/],
      ["badcase.json", { name: "t", description: "d", parameters: schema, responses: [{ when: "x", observation: {} }] }, "responses[0].when", /must be an object/],
      ["nocaseobs.json", { name: "t", description: "d", parameters: schema, responses: [{ when: {} }] }, "responses[0]", /observation/],
      ["inlist.json", [{ name: "ok", description: "d", parameters: schema, responses: {} }, { name: "bad name", description: "d", parameters: schema, responses: {} }], "tools[1].name", /not a valid tool name/],
      ["clash.json", [{ name: "t", description: "d", parameters: schema, responses: {} }, { name: "t", description: "e", parameters: schema, responses: {} }], "tools[1].name", /used twice/],
      ["broken.json", "{ not json", "(file)", /not valid JSON/],
      ["emptylist.json", [], "(file)", /defines no tools \(an empty list\)/],
      ["emptytools.json", { tools: [] }, "(file)", /defines no tools/],
    ];
    for (const [name, content, field, problem] of cases) {
      const file = writeJson(name, content);
      const e = await definitionError(file);
      assert.equal(e.file, file, name);
      assert.equal(e.field, field, name);
      assert.match(e.message, problem, name);
      assert.ok(e.message.startsWith(file), name);
    }
  });
  it("a missing file and an unsupported extension are definition errors", async () => {
    assert.match((await definitionError(join(dir, "absent.json"))).message, /cannot read/);
    assert.match((await definitionError(writeJson("tools.yaml", "a: 1"))).message, /unsupported file type/);
  });
});

describe("user tools from modules", () => {
  it("a .mjs default export of a list runs with the seed", async () => {
    const registry = await loadToolsFile(join(FIXTURES, "module-tools.mjs"));
    assert.deepEqual(registry.names(), ["roll_dice", "slow_tool"]);
    const a = (await registry.execute({ name: "roll_dice", arguments: { n: 3 } }, { seed: 5 })) as { rolls: number[]; total: number };
    assert.equal(a.rolls.length, 3);
    assert.equal(a.total, a.rolls[0] + a.rolls[1] + a.rolls[2]);
    assert.deepEqual(await registry.execute({ name: "roll_dice", arguments: { n: 3 } }, { seed: 5 }), a);
    await assert.rejects(registry.execute({ name: "slow_tool", arguments: { ms: 5000 } }, { seed: 0, timeoutMs: 20 }), ToolExecutionError);
  });
  it("a .ts module exporting `tools` loads", async () => {
    const [shout] = await loadToolModule(join(FIXTURES, "named-tools.ts"));
    assert.equal(shout.name, "shout");
    assert.deepEqual(await shout.execute({ text: "hi" }, { seed: 0 }), { text: "HI" });
  });
  it("a module with a malformed tool names its position and field", async () => {
    const file = join(dir, "bad.mjs");
    writeFileSync(file, `export const tools = [{ name: "ok", description: "d", parameters: { type: "object" }, execute: () => ({}) }, { name: "no_exec", description: "d", parameters: { type: "object" } }];\n`);
    const e = await definitionError(file);
    assert.equal(e.field, "tools[1] (no_exec).execute");
  });
  it("a module that exports nothing useful says so", async () => {
    const file = join(dir, "empty.mjs");
    writeFileSync(file, "export const x = 1;\n");
    assert.match((await definitionError(file)).message, /exports no tools/);
    const none = join(dir, "none.mjs");
    writeFileSync(none, "export default [];\n");
    const e = await definitionError(none);
    assert.equal(e.field, "default");
    assert.match(e.message, /defines no tools/);
  });
  it("a user tool whose name clashes with a built-in is refused, naming the file", async () => {
    const file = writeJson("weather.json", { name: "get_weather", description: "d", parameters: { type: "object" }, responses: {} });
    await assert.rejects(openToolSet({ files: [file] }), (e: unknown) => e instanceof ToolDefinitionError && e.file === file && /already registered/.test(e.message));
    const set = await openToolSet({ builtins: false, files: [file] });
    assert.deepEqual(set.registry.names(), ["get_weather"]);
    await set.close();
  });
});
