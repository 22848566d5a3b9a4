// Runs the test files under test/ (or the files/folders given) with node's test runner and tsx.
// node 20's --test takes no globs, so the files are listed here.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function collect(path) {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { recursive: true })
    .map((p) => join(path, String(p)))
    .filter((p) => /\.test\.(ts|mts|js|mjs)$/.test(p) && !p.includes("node_modules"))
    .sort();
}

const targets = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const extra = process.argv.slice(2).filter((a) => a.startsWith("--"));
const files = (targets.length > 0 ? targets : ["test"]).flatMap(collect);
if (files.length === 0) {
  console.error("no test files found");
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  // A test that hangs fails after 5 minutes instead of holding CI until its limit.
  ["--import", "tsx", "--test", "--test-reporter=spec", "--test-timeout=300000", ...extra, ...files],
  { stdio: "inherit", env: { ...process.env, NODE_NO_WARNINGS: "1" } },
);
process.exit(result.status ?? 1);
