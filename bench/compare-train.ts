// Prints the comparison table of a training benchmark run (bench/train-bench.sh): ours beside the
// PyTorch + PEFT peer for each configuration, with the ratios the targets speak of.
// Usage: npx tsx bench/compare-train.ts DIR   (DIR holds ours.jsonl and peer.jsonl)
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";

interface Row {
  engine: string;
  config: string;
  batch: number;
  tokens: number;
  recompute?: boolean;
  tokens_per_s: number;
  peak_allocated_gib: number;
  mfu?: number;
  compile_s?: number | null;
}
const dir = process.argv[2] ?? "bench/results/train-h100";
const read = (file: string): Row[] =>
  readFileSync(join(dir, file), "utf8")
    .split("\n")
    .filter((l) => l.trim().startsWith("{"))
    .map((l) => JSON.parse(l) as Row);
const ours = read("ours.jsonl");
const peers = read("peer.jsonl");
const key = (r: Row) => `${basename(r.config, ".json")} ${r.batch}×${r.tokens}`;
const keys = [...new Set([...ours, ...peers].map(key))];
const fmt = (r: Row | undefined) => (r ? `${(r.tokens_per_s / 1000).toFixed(1)}k, ${r.peak_allocated_gib.toFixed(1)} GiB` : "—");
const lines = [
  "| configuration | ours (NF4) | ours + recompute | peer eager | peer + checkpointing | peer compiled | ours ÷ eager (speed, memory) | ours+recompute ÷ checkpointing (speed, memory) |",
  "| --- | --- | --- | --- | --- | --- | --- | --- |",
];
for (const k of keys) {
  const o = ours.find((r) => key(r) === k && !r.recompute);
  const or = ours.find((r) => key(r) === k && r.recompute);
  const pe = peers.find((r) => key(r) === k && r.engine.endsWith("eager"));
  const pc = peers.find((r) => key(r) === k && r.engine.endsWith("checkpointing"));
  const pk = peers.find((r) => key(r) === k && r.engine.endsWith("compile"));
  const ratio = (a?: Row, b?: Row) =>
    a && b ? `${(a.tokens_per_s / b.tokens_per_s).toFixed(2)}×, ${(a.peak_allocated_gib / b.peak_allocated_gib).toFixed(2)}×` : "—";
  lines.push(`| ${k} | ${fmt(o)}${o?.mfu ? ` (MFU ${(100 * o.mfu).toFixed(0)} %)` : ""} | ${fmt(or)} | ${fmt(pe)} | ${fmt(pc)} | ${fmt(pk)}${pk?.compile_s ? ` (+${pk.compile_s} s compile)` : ""} | ${ratio(o, pe)} | ${ratio(or, pc)} |`);
}
console.log(lines.join("\n"));
