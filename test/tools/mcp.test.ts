import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { McpServerError, ToolArgumentsError, ToolExecutionError } from "../../src/tools/errors.js";
import { connectMcpServer, observationFromContent, splitCommandLine } from "../../src/tools/mcp.js";
import { ToolRegistry } from "../../src/tools/registry.js";

const SERVER = join(import.meta.dirname, "..", "fixtures", "tools", "mcp-server.mjs");

describe("MCP tools", () => {
  it("lists a server's tools, calls them and closes", async () => {
    const connection = await connectMcpServer({ command: process.execPath, args: [SERVER] });
    try {
      const registry = new ToolRegistry(connection.tools);
      assert.deepEqual(registry.names(), ["add", "echo"]);
      const add = registry.get("add");
      assert.equal(add?.description, "Add two numbers.");
      assert.deepEqual(add?.parameters.required, ["a", "b"]);
      assert.equal(add?.parameters.$schema, undefined);
      assert.deepEqual(await registry.execute({ name: "add", arguments: { a: 2, b: 3.5 } }, { seed: 0 }), { sum: 5.5 });
      assert.deepEqual(await registry.execute({ name: "echo", arguments: { text: "hi" } }, { seed: 0 }), { text: "you said: hi" });
      await assert.rejects(registry.execute({ name: "echo", arguments: { text: "fail" } }, { seed: 0 }), (e: unknown) => e instanceof ToolExecutionError && e.message === "echo refused: fail");
      await assert.rejects(registry.execute({ name: "add", arguments: { a: "2", b: 3 } }, { seed: 0 }), (e: unknown) => e instanceof ToolArgumentsError && e.issues[0].path === "/a");
    } finally {
      await connection.close();
    }
  });
  it("a command that does not start is an McpServerError naming it", async () => {
    await assert.rejects(connectMcpServer({ command: "agenttune-no-such-command" }), (e: unknown) => e instanceof McpServerError && /agenttune-no-such-command/.test(e.message));
  });
  it("a server that exits at once is an McpServerError with what it printed", async () => {
    await assert.rejects(
      connectMcpServer({ command: process.execPath, args: ["-e", "console.error('port already in use'); process.exit(3)"], startTimeoutMs: 5000 }),
      (e: unknown) => e instanceof McpServerError && /port already in use/.test(e.message),
    );
  });
  it("text content becomes JSON when it is JSON, else {text}", () => {
    assert.deepEqual(observationFromContent([{ type: "text", text: ' {"a": 1} ' }]), { a: 1 });
    assert.deepEqual(observationFromContent([{ type: "text", text: "{not json" }]), { text: "{not json" });
    assert.deepEqual(observationFromContent([{ type: "text", text: "one" }, { type: "image" }]), { text: "one\n[image]" });
  });
  it("command lines split on spaces and respect quotes", () => {
    assert.deepEqual(splitCommandLine(`node "my server.mjs" --name 'a b' x`), { command: "node", args: ["my server.mjs", "--name", "a b", "x"] });
    assert.throws(() => splitCommandLine("   "), McpServerError);
  });
});
