// Gzips the bulky files of committed results: every eval.json and train_log*.jsonl under the
// folders given (default results/) becomes NAME.gz, which every agenttune command reads as the
// plain file (src/gzip-file.ts). eval.md, tables and charts stay as they are. The output is the
// same bytes for the same input (no time stamp in the gzip header), so packing twice changes nothing.
// Usage: node scripts/pack-results.mjs [folder…]
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";

const PACKED = (name) => name === "eval.json" || /^train_log.*\.jsonl$/.test(name);
const roots = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["results"];
let [files, before, after] = [0, 0, 0];
for (const root of roots) {
  for (const rel of readdirSync(root, { recursive: true })) {
    const path = join(root, String(rel));
    if (!PACKED(basename(path)) || !statSync(path).isFile()) continue;
    const plain = readFileSync(path);
    const packed = gzipSync(plain, { level: 9 });
    if (!gunzipSync(packed).equals(plain)) throw new Error(`${path}: the gzip does not give the file back`);
    writeFileSync(`${path}.gz.tmp`, packed);
    renameSync(`${path}.gz.tmp`, `${path}.gz`);
    rmSync(path);
    files++;
    before += plain.length;
    after += packed.length;
  }
}
const mb = (n) => (n / 1e6).toFixed(1);
console.log(`packed ${files} files: ${mb(before)} MB → ${mb(after)} MB`);
