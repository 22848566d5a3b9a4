import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { CommandIO } from "../../src/cli/command.js";
import { runCli } from "../../src/cli/main.js";
import { toolsListCommand } from "../../src/cli/tools-list.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "tools");

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CommandIO = { out: (t) => { out += t; }, err: (t) => { err += t; }, interactive: false };
  const code = await runCli(argv, io, [toolsListCommand]);
  return { code, out, err };
}

describe("agenttune tools list", () => {
  it("prints the built-in tools with their arguments", async () => {
    const { code, out } = await cli(["tools", "list"]);
    assert.equal(code, 0);
    const lines = out.trim().split("\n");
    assert.match(lines[0], /^NAME\s+ARGUMENTS\s+DESCRIPTION$/);
    assert.equal(lines.length, 11);
    assert.match(out, /\nget_weather\s+city, \[unit\]\s+Get the current weather/);
    assert.match(out, /\nconvert_currency\s+amount, from, to\s+Convert/);
  });
  it("--json prints OpenAI-style tools with schemas", async () => {
    const { code, out } = await cli(["tools", "list", "--json"]);
    assert.equal(code, 0);
    const tools = JSON.parse(out) as { type: string; function: { name: string; parameters: { required: string[] } } }[];
    assert.equal(tools.length, 10);
    assert.equal(tools[0].type, "function");
    assert.deepEqual(tools[0].function.parameters.required, ["city"]);
  });
  it("adds user tool files and MCP servers", async () => {
    const { code, out, err } = await cli([
      "tools", "list", "--no-builtins",
      "--tools", join(FIXTURES, "orders.json"),
      "--tools", join(FIXTURES, "module-tools.mjs"),
      "--mcp", `"${process.execPath}" "${join(FIXTURES, "mcp-server.mjs")}"`,
    ]);
    assert.equal(err, "");
    assert.equal(code, 0);
    const names = out.trim().split("\n").slice(1).map((l) => l.split(/\s+/)[0]);
    assert.deepEqual(names, ["get_order_status", "roll_dice", "slow_tool", "add", "echo"]);
    assert.match(out, /get_order_status\s+order_id, \[verbose\]/);
  });
  it("a malformed tool file exits 2 with the file and field", async () => {
    const { code, err } = await cli(["tools", "list", "--tools", join(FIXTURES, "missing.json")]);
    assert.equal(code, 2);
    assert.match(err, /missing\.json: cannot read: ENOENT/);
    assert.doesNotMatch(err, /\(file\)/);
  });
  it("--help describes the flags", async () => {
    const { code, out } = await cli(["tools", "list", "--help"]);
    assert.equal(code, 0);
    assert.match(out, /--tools <file>/);
    assert.match(out, /--mcp <"cmd args">/);
  });
});
