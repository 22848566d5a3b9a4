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
  /** "off" | "selective" | "full"; files before the selective mode hold true (full) or false. */
  recompute?: boolean | string;
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
const mode = (r: Row) => (r.recompute === true ? "full" : r.recompute === false || r.recompute === undefined ? "off" : r.recompute);
const fmt = (r: Row | undefined) => (r ? `${(r.tokens_per_s / 1000).toFixed(1)}k, ${r.peak_allocated_gib.toFixed(1)} GiB` : "—");
// the selective columns appear only for runs that measured it, so older folders print as before
const selective = ours.some((r) => mode(r) === "selective");
const lines = selective
  ? [
      "| configuration | ours (NF4) | ours + selective recompute | ours + full recompute | peer eager | peer + checkpointing | peer compiled | ours ÷ eager (speed, memory) | ours+selective ÷ eager (speed, memory) | ours+full ÷ checkpointing (speed, memory) |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
  : [
      "| configuration | ours (NF4) | ours + recompute | peer eager | peer + checkpointing | peer compiled | ours ÷ eager (speed, memory) | ours+recompute ÷ checkpointing (speed, memory) |",
      "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ];
for (const k of keys) {
  const o = ours.find((r) => key(r) === k && mode(r) === "off");
  const os = ours.find((r) => key(r) === k && mode(r) === "selective");
  const or = ours.find((r) => key(r) === k && mode(r) === "full");
  const pe = peers.find((r) => key(r) === k && r.engine.endsWith("eager"));
  const pc = peers.find((r) => key(r) === k && r.engine.endsWith("checkpointing"));
  const pk = peers.find((r) => key(r) === k && r.engine.endsWith("compile"));
  const ratio = (a?: Row, b?: Row) =>
    a && b ? `${(a.tokens_per_s / b.tokens_per_s).toFixed(2)}×, ${(a.peak_allocated_gib / b.peak_allocated_gib).toFixed(2)}×` : "—";
  const head = `| ${k} | ${fmt(o)}${o?.mfu ? ` (MFU ${(100 * o.mfu).toFixed(0)} %)` : ""} |${selective ? ` ${fmt(os)} |` : ""} ${fmt(or)} | ${fmt(pe)} | ${fmt(pc)} | ${fmt(pk)}${pk?.compile_s ? ` (+${pk.compile_s} s compile)` : ""} |`;
  lines.push(`${head} ${ratio(o, pe)} |${selective ? ` ${ratio(os, pe)} |` : ""} ${ratio(or, pc)} |`);
}
console.log(lines.join("\n"));
