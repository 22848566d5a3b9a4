// The numbers and pictures of a study: mean and spread over seeds, the Markdown table, and the
// SVG charts (well-formed XML, every series drawn, axes labelled).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { METRICS, type MetricKey, rate } from "../../src/eval/metrics.js";
import { formatSpread, spreadOf } from "../../src/eval/stats.js";
import { barChart, lineChart, niceTicks } from "../../src/eval/svg-chart.js";
import { lossCurvesChart, metricsVsSamplesChart } from "../../src/experiment/charts.js";
import { formatScalingReport } from "../../src/experiment/scaling-report.js";
import { type ScalingResult, type ScalingRun, summarizeBySize } from "../../src/experiment/scaling-summary.js";
import { FAILURE_KINDS } from "../../src/react/types.js";
import { MACHINE } from "./helpers.js";
import { parseXml } from "./xml.js";

/** A run whose every metric is `hits` of 4 (argument match: not applicable). */
function run(size: number, seed: number, hits: number, finalLoss: number): ScalingRun {
  const metrics = Object.fromEntries(METRICS.map((m) => [m.key, m.key === "argumentMatch" ? rate(0, 0) : rate(hits, 4)])) as Record<MetricKey, ReturnType<typeof rate>>;
  const failureRates = Object.fromEntries(FAILURE_KINDS.map((k) => [k, rate(0, 4)])) as ScalingRun["failureRates"];
  return { id: `${size}-s${seed}`, size, seed, examples: size, steps: size, totalSteps: size, finalLoss, wallS: 60 + seed * 30, stepS: 50, tokens: 50_000, tokensPerS: 1000 + seed * 500, resumedTraining: false, evalWallS: 5, metrics, failureRates };
}

const runs = [run(50, 0, 1, 0.8), run(50, 1, 3, 0.6), run(100, 0, 4, 0.4)];
const result: ScalingResult = {
  version: 1,
  kind: "scaling",
  model: "smollm2-135m-instruct",
  command: "agenttune experiment scaling --model smollm2-135m-instruct --sizes 50,100 --seeds 0,1 --out results/x",
  date: "2026-12-01T10:00:00.000Z",
  machine: { ...MACHINE, gpu: "NVIDIA H200" },
  sizes: [50, 100],
  seeds: [0, 1],
  settings: {
    model: "smollm2-135m-instruct",
    backend: "cuda",
    epochs: 3,
    lr: 2e-4,
    warmupRatio: 0.03,
    batchSize: 1,
    gradAccum: 4,
    maxLength: 2048,
    lora: { rank: 16, alpha: 32, dropout: 0.05, targets: ["q", "k", "v", "o", "gate", "up", "down"] },
    evalEngine: "llama",
    device: "cpu",
    tasksFile: "data/eval/tasks.jsonl",
    evalTasks: 4,
    evalMaxSteps: 8,
    maxTokens: 256,
  },
  runs,
  bySize: summarizeBySize(runs),
};

describe("aggregation over seeds", () => {
  it("mean, sample standard deviation, min and max of the finite values", () => {
    assert.deepEqual(spreadOf([0.25, 0.75]), { mean: 0.5, std: Math.sqrt(0.125), min: 0.25, max: 0.75, n: 2 });
    assert.deepEqual(spreadOf([3]), { mean: 3, std: 0, min: 3, max: 3, n: 1 });
    assert.deepEqual(spreadOf([null, 2, Number.NaN, 4, undefined]), { mean: 3, std: Math.SQRT2, min: 2, max: 4, n: 2 });
    assert.equal(spreadOf([null, null]), null);
  });

  it("a metric that applied to no task stays empty rather than counting as 0", () => {
    const fifty = result.bySize[0];
    assert.deepEqual(fifty?.metrics.toolSelection, { mean: 0.5, std: Math.sqrt(0.125), min: 0.25, max: 0.75, n: 2 });
    assert.equal(fifty?.metrics.argumentMatch, null);
    assert.deepEqual(fifty?.tokensPerS, { mean: 1250, std: Math.sqrt(125_000), min: 1000, max: 1500, n: 2 });
  });

  it("formats the mean with the range over runs, and a single run without one", () => {
    const pct = (v: number) => (v * 100).toFixed(1);
    assert.equal(formatSpread(spreadOf([0.25, 0.75]), pct), "50.0 (25.0–75.0)");
    assert.equal(formatSpread(spreadOf([0.4]), pct), "40.0");
    assert.equal(formatSpread(null, pct), "—");
  });
});

describe("scaling.md", () => {
  const md = formatScalingReport(result);

  it("has the table per size with the mean and min–max over seeds", () => {
    assert.match(md, /\| Samples \| Runs \| Tool selection \(%\) \| Exact tool match \(%\) \| Argument match \(%\) \| Answer correctness \(%\) \| Final loss \| Wall time \| Tokens\/s \|/);
    assert.match(md, /\| 50 \| 2 \| 50\.0 \(25\.0–75\.0\) \| 50\.0 \(25\.0–75\.0\) \| — \| 50\.0 \(25\.0–75\.0\) \| 0\.700 \(0\.600–0\.800\) \| 75\.0 s \(60\.0 s–90\.0 s\) \| 1\.3k \(1\.0k–1\.5k\) \|/);
    assert.match(md, /\| 100 \| 1 \| 100\.0 \| 100\.0 \| — \| 100\.0 \| 0\.400 \| 60\.0 s \| 1\.0k \|/);
  });

  it("lists every run with its counts", () => {
    assert.match(md, /\| 50-s1 \| 50 \| 1 \| 50 \| 50\/50 \| 3\/4 \(75\.0 %\) \| 3\/4 \(75\.0 %\) \| — \| 3\/4 \(75\.0 %\) \| 0\.600 \| 90\.0 s \| 1\.5k \|/);
  });

  it("says how it was made: the command, the date, the machine with its GPU, the recipe; links the charts", () => {
    assert.ok(md.includes("```sh\nagenttune experiment scaling --model smollm2-135m-instruct --sizes 50,100 --seeds 0,1 --out results/x\n```"));
    assert.match(md, /- Date: 2026-12-01T10:00:00\.000Z/);
    assert.match(md, /- Machine: Test CPU 9000 \(2 cores, 8 GiB\), Linux 6\.1, Node v20\.0\.0; GPU NVIDIA H200/);
    assert.match(md, /NF4 base, LoRA r16\/α32 dropout 0\.05 on q, k, v, o, gate, up, down; lr 0\.0002 cosine with 3 % warm-up; 3 epochs/);
    assert.match(md, /- Runs finished: 3 of 4; not run: 100-s1 \(run the command again/);
    assert.match(md, /!\[Training loss of every run\]\(loss-curves\.svg\)/);
    assert.match(md, /!\[Held-out metrics vs training samples\]\(metrics-vs-samples\.svg\)/);
  });
});

describe("SVG charts", () => {
  const texts = (svg: string) =>
    parseXml(svg)
      .filter((e) => e.name === "text")
      .map((e) => e.text);

  it("loss curves: one line per run, a legend naming each, axes with ticks and labels, a title", () => {
    const log = (n: number, start: number) => Array.from({ length: n }, (_, i) => ({ step: i + 1, epoch: ((i + 1) / n) * 3, loss: start / (i + 1) }));
    const svg = lossCurvesChart([
      { size: 50, seed: 0, log: log(30, 2) },
      { size: 50, seed: 1, log: log(30, 2.2) },
      { size: 1000, seed: 0, log: log(600, 1.8) },
    ]);
    const elements = parseXml(svg);
    assert.equal(elements[0]?.name, "svg");
    assert.equal(elements[0]?.attributes.xmlns, "http://www.w3.org/2000/svg");
    const series = elements.filter((e) => e.name === "g" && e.attributes.class === "series");
    assert.deepEqual(
      series.map((g) => g.attributes["data-label"]),
      ["50 samples, seed 0", "50 samples, seed 1", "1000 samples, seed 0"],
    );
    const t = texts(svg);
    for (const label of ["50 samples, seed 0", "50 samples, seed 1", "1000 samples, seed 0", "epoch", "loss (cross-entropy per target token)"]) assert.ok(t.includes(label), label);
    assert.ok(t.some((x) => x.startsWith("Training loss of every run")));
    // the 600-step run is averaged down to at most 150 points
    const paths = elements.filter((e) => e.name === "path" && e.attributes.d?.startsWith("M") && e.attributes.fill === "none" && e.attributes["stroke-width"] === "2");
    assert.ok((paths[2]?.attributes.d?.split("L").length ?? 0) <= 150);
    assert.ok(t.includes("0") && t.includes("3"), "x ticks from 0 to 3 epochs");
  });

  it("metrics vs samples: log-x ticks at the sizes, percent y axis, error bars where seeds differ", () => {
    const svg = metricsVsSamplesChart(result.bySize);
    const elements = parseXml(svg);
    const t = texts(svg);
    for (const label of ["50", "100", "0 %", "100 %", "Tool selection", "Exact tool match", "Argument match", "Answer correctness", "training samples (log scale)", "share of tasks"]) assert.ok(t.includes(label), label);
    const series = elements.filter((e) => e.name === "g" && e.attributes.class === "series");
    // argument match applies to no task here: no series is drawn for it
    assert.deepEqual(
      series.map((g) => g.attributes["data-label"]),
      ["Tool selection", "Exact tool match", "Answer correctness"],
    );
    // one error bar per metric at 50 samples (two seeds), none at 100 (one)
    const bars = elements.filter((e) => e.name === "path" && e.attributes["stroke-width"] === "1.5");
    assert.equal(bars.length, 3);
  });

  it("escapes text and keeps bars inside the plot", () => {
    const svg = barChart({ title: "A & B <test>", series: [{ label: "x" }, { label: "y" }], groups: [{ label: "m", values: [0.5, 2] }] });
    const elements = parseXml(svg);
    assert.ok(svg.includes("A &amp; B &lt;test&gt;"));
    const rects = elements.filter((e) => e.name === "rect" && e.attributes.rx === "3" && e.attributes.height === "14");
    assert.equal(Number(rects[1]?.attributes.width), 760 - 190 - 70);
    assert.doesNotThrow(() => parseXml(lineChart({ series: [], title: "empty" })));
  });

  it("a bar legend wider than the chart wraps onto more rows, every swatch inside, the bars below it", () => {
    const series = ["Tool selection", "Exact tool match", "Argument match", "Answer correctness", "Abstention"].map((label) => ({ label }));
    const svg = barChart({ title: "t", series, labelWidth: 300, width: 870, groups: [{ label: "a long setting name", values: [0.1, 0.2, 0.3, 0.4, 0.5] }] });
    const elements = parseXml(svg);
    const swatches = elements.filter((e) => e.name === "rect" && e.attributes.width === "12");
    assert.equal(swatches.length, 5);
    const rows = new Set(swatches.map((e) => e.attributes.y));
    assert.ok(rows.size >= 2, `legend rows at y ${[...rows].join(", ")}`);
    for (const e of swatches) assert.ok(Number(e.attributes.x) + 12 <= 870, `a swatch at x ${e.attributes.x}`);
    const bars = elements.filter((e) => e.name === "rect" && e.attributes.height === "14");
    const lowestSwatch = Math.max(...swatches.map((e) => Number(e.attributes.y) + 12));
    for (const b of bars) {
      assert.ok(Number(b.attributes.y) > lowestSwatch, "bars start below the legend");
      assert.equal(Number(b.attributes.x), 300, "bars start at the label width");
    }
  });

  it("ticks are round numbers covering the data", () => {
    assert.deepEqual(niceTicks(0.13, 1.92), { ticks: [0, 0.5, 1, 1.5, 2], lo: 0, hi: 2 });
    assert.deepEqual(niceTicks(3, 3).ticks.length > 1, true);
  });
});
