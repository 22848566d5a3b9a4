import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ToolArgumentsError, ToolDefinitionError, ToolExecutionError, UnknownToolError } from "../../src/tools/errors.js";
import { createDefaultRegistry, ToolRegistry } from "../../src/tools/registry.js";
import type { ToolDefinition } from "../../src/tools/types.js";

const echo: ToolDefinition = {
  name: "echo",
  description: "Echo the text.",
  parameters: { type: "object", properties: { text: { type: "string" } }, required: ["text"], additionalProperties: false },
  execute: (args) => ({ text: args.text }),
};

function tool(overrides: Partial<ToolDefinition> & Record<string, unknown>): ToolDefinition {
  return { ...echo, ...overrides } as ToolDefinition;
}

describe("ToolRegistry", () => {
  it("registers, lists and looks up tools in order", () => {
    const r = new ToolRegistry([echo, tool({ name: "echo2" })]);
    assert.deepEqual(r.names(), ["echo", "echo2"]);
    assert.equal(r.get("echo"), echo);
    assert.equal(r.has("nope"), false);
    assert.equal(r.size, 2);
  });
  it("a duplicate name is a ToolDefinitionError naming the field", () => {
    const r = new ToolRegistry([echo]);
    assert.throws(() => r.register(echo, "tools.json"), (e: unknown) => e instanceof ToolDefinitionError && e.file === "tools.json" && e.field === "name" && /already registered/.test(e.message));
  });
  it("a malformed definition names what is wrong", () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ name: "" }, "name", /missing/],
      [{ name: "has space" }, "name", /not a valid tool name/],
      [{ description: 3 }, "echo.description", /not a string/],
      [{ parameters: { type: "string" } }, "echo.parameters", /"type": "object"/],
      [{ parameters: { type: "object", properties: { a: { type: "strng" } } } }, "echo.parameters", /not a valid JSON Schema/],
      [{ parameters: { type: "object", required: "a" } }, "echo.parameters", /"required" must be a list/],
      [{ execute: "no" }, "echo.execute", /must be a function/],
    ];
    for (const [overrides, field, problem] of cases) {
      assert.throws(() => new ToolRegistry([tool(overrides)]), (e: unknown) => e instanceof ToolDefinitionError && e.field === field && problem.test(e.message), JSON.stringify(overrides));
    }
  });
  it("an unknown tool is an UnknownToolError listing the known ones", async () => {
    const r = new ToolRegistry([echo]);
    await assert.rejects(r.execute({ name: "nope", arguments: {} }, { seed: 0 }), (e: unknown) => e instanceof UnknownToolError && e.name === "UnknownToolError" && /echo/.test(e.hint ?? ""));
  });
  it("bad arguments are a ToolArgumentsError listing every field", async () => {
    const r = new ToolRegistry([echo]);
    await assert.rejects(r.execute({ name: "echo", arguments: { txt: 1 } }, { seed: 0 }), (e: unknown) => {
      assert.ok(e instanceof ToolArgumentsError);
      assert.equal(e.name, "ToolArgumentsError");
      assert.deepEqual(e.issues, [
        { path: "/text", message: "is required" },
        { path: "/txt", message: "is not an allowed argument" },
      ]);
      assert.equal(e.message, "invalid arguments for echo: /text: is required; /txt: is not an allowed argument");
      return true;
    });
    assert.deepEqual(r.validate({ name: "echo", arguments: [] as never }), [{ path: "", message: "arguments must be a JSON object" }]);
  });
  it("a tool that throws becomes a ToolExecutionError", async () => {
    const r = new ToolRegistry([tool({ execute: () => { throw new TypeError("boom"); } })]);
    await assert.rejects(r.execute({ name: "echo", arguments: { text: "x" } }, { seed: 0 }), (e: unknown) => e instanceof ToolExecutionError && e.message === "echo failed: boom" && e.cause instanceof TypeError);
  });
  it("a tool's own ToolExecutionError passes through unchanged", async () => {
    const own = new ToolExecutionError("no such order", { tool: "echo" });
    const r = new ToolRegistry([tool({ execute: () => { throw own; } })]);
    await assert.rejects(r.execute({ name: "echo", arguments: { text: "x" } }, { seed: 0 }), (e: unknown) => e === own);
  });
  it("a timeout is a ToolExecutionError and aborts the tool's signal", async () => {
    let aborted = false;
    const r = new ToolRegistry([
      tool({
        execute: (_args, { signal }) =>
          new Promise((resolve) => {
            signal?.addEventListener("abort", () => { aborted = true; });
            setTimeout(() => resolve({ late: true }), 2000).unref();
          }),
      }),
    ]);
    await assert.rejects(r.execute({ name: "echo", arguments: { text: "x" } }, { seed: 0, timeoutMs: 20 }), (e: unknown) => e instanceof ToolExecutionError && /timed out after 20 ms/.test(e.message));
    assert.equal(aborted, true);
  });
  it("cancellation rethrows the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new Error("user stopped");
    const r = new ToolRegistry([tool({ execute: () => new Promise(() => {}) })]);
    const pending = r.execute({ name: "echo", arguments: { text: "x" } }, { seed: 0, signal: controller.signal });
    controller.abort(reason);
    await assert.rejects(pending, (e: unknown) => e === reason);
    await assert.rejects(r.execute({ name: "echo", arguments: { text: "x" } }, { seed: 0, signal: controller.signal }), (e: unknown) => e === reason);
  });
  it("the seed reaches the tool", async () => {
    const r = new ToolRegistry([tool({ execute: (_a, { seed }) => ({ seed }) })]);
    assert.deepEqual(await r.execute({ name: "echo", arguments: { text: "x" } }, { seed: 41 }), { seed: 41 });
  });
  it("subset keeps only the named tools and rejects unknown names", () => {
    const all = createDefaultRegistry();
    const some = all.subset(["calculator", "get_weather"]);
    assert.deepEqual(some.names(), ["get_weather", "calculator"]);
    assert.equal(all.size, 10);
    assert.throws(() => all.subset(["get_wether"]), UnknownToolError);
  });
  it("toJSON lists OpenAI-style function tools", () => {
    const json = new ToolRegistry([echo]).toJSON();
    assert.deepEqual(json, [{ type: "function", function: { name: "echo", description: "Echo the text.", parameters: echo.parameters } }]);
  });
});
