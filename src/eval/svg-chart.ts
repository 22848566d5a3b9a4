/**
 * Charts as SVG text, with no dependency: line charts (optionally log-x, with error bars) and
 * grouped horizontal bars. The HTML report embeds them; the experiments write them as files.
 *
 * Colours are presentation attributes, so a standalone file reads on its own and a page's CSS
 * (which outranks presentation attributes) can restyle the classes `grid`, `axis`, `label`,
 * `value` and `title` for a dark theme.
 */

/** Series colours, in order (the first a neutral grey: zero-shot or the baseline). */
export const CHART_COLORS = ["#94a3b8", "#4f46e5", "#0d9488", "#d97706", "#db2777", "#65a30d", "#2563eb", "#9333ea", "#dc2626", "#0891b2"];

/** Escapes text for XML and HTML. */
export function escapeXml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

export interface ChartFrame {
  /** Drawn at the top, inside the SVG. */
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Draw the legend inside the SVG (right of the plot). Default true. */
  legend?: boolean;
  /** A file of its own: xmlns, a size, a white background and a font. Default true. */
  standalone?: boolean;
  /** The `aria-label`; default the title. */
  ariaLabel?: string;
}

export interface LinePoint {
  x: number;
  y: number;
  /** Error bar, drawn from low to high when both are given. */
  low?: number;
  high?: number;
}

export interface LineSeries {
  label: string;
  points: readonly LinePoint[];
  /** Default: CHART_COLORS in series order. */
  color?: string;
  dashed?: boolean;
  /** Dots on the points; default when a series has at most 40 points. */
  markers?: boolean;
}

export interface LineChartOptions extends ChartFrame {
  series: readonly LineSeries[];
  /** A logarithmic x axis (every x must be > 0). */
  logX?: boolean;
  /** Tick positions on the x axis; default nice round numbers (log-x: the series' x values). */
  xTicks?: readonly number[];
  /** Bounds of the y axis; default the data's, widened to round ticks. */
  yMin?: number;
  yMax?: number;
  formatX?(x: number): string;
  formatY?(y: number): string;
}

export interface BarChartOptions extends ChartFrame {
  /** One bar per series in each group. */
  series: readonly { label: string; color?: string }[];
  /** One group per row; `values[i]` belongs to `series[i]` (null: nothing to draw). */
  groups: readonly { label: string; values: readonly (number | null)[]; notes?: readonly string[] }[];
  /** The value at the right edge. Default 1. */
  max?: number;
  /** Default: percent of `max`. */
  formatValue?(v: number): string;
  /** Room left of the bars for the group labels, in pixels. Default 190. */
  labelWidth?: number;
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"';
const TEXT = "#1b1f2a";
const MUTED = "#5f6677";
const LINE = "#e3e6ee";

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** 1, 2 or 5 times a power of ten, near `range / count`. */
function niceStep(range: number, count: number): number {
  const raw = range / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const f = raw / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
}

/** Round ticks covering [lo, hi]; returns the widened bounds too. */
export function niceTicks(lo: number, hi: number, count = 5): { ticks: number[]; lo: number; hi: number } {
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return niceTicks(lo - pad, hi + pad, count);
  }
  const step = niceStep(hi - lo, count);
  const start = Math.floor(lo / step + 1e-9) * step;
  const end = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = start; v <= end + step * 1e-6; v += step) ticks.push(Number(v.toPrecision(12)));
  return { ticks, lo: start, hi: end };
}

function defaultFormat(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 10_000) return `${num(v / 1000)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return Number(v.toFixed(2)).toString();
  return Number(v.toPrecision(2)).toString();
}

function open(width: number, height: number, frame: ChartFrame, kind: string): string {
  const label = escapeXml(frame.ariaLabel ?? frame.title ?? kind);
  if (frame.standalone === false) return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" class="chart" role="img" aria-label="${label}">`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${label}" ${FONT}><rect width="${width}" height="${height}" fill="#ffffff"/>`;
}

function close(frame: ChartFrame): string {
  return frame.standalone === false ? "</svg>" : "</svg>\n";
}

function titleText(frame: ChartFrame, width: number): string {
  if (frame.title === undefined) return "";
  // A long title shrinks (about 0.64 em a character, bold) rather than run off the canvas.
  const size = Math.max(10, Math.min(15, (width - 24) / (0.64 * frame.title.length)));
  return `<text x="${width / 2}" y="22" text-anchor="middle" class="title" font-size="${size.toFixed(1)}" font-weight="600" fill="${TEXT}">${escapeXml(frame.title)}</text>`;
}

/** The legend as a column of swatches starting at (x, y). */
function legendColumn(entries: readonly { label: string; color: string; dashed?: boolean; line?: boolean }[], x: number, y: number): string {
  return entries
    .map((e, i) => {
      const cy = y + i * 18;
      const swatch = e.line
        ? `<line x1="${x}" y1="${cy}" x2="${x + 18}" y2="${cy}" stroke="${e.color}" stroke-width="2.5"${e.dashed ? ' stroke-dasharray="5 3"' : ""}/>`
        : `<rect x="${x + 3}" y="${cy - 6}" width="12" height="12" rx="3" fill="${e.color}"/>`;
      return `<g class="legend-entry">${swatch}<text x="${x + 24}" y="${cy + 4}" class="label" font-size="12" fill="${TEXT}">${escapeXml(e.label)}</text></g>`;
    })
    .join("");
}

/** The legend's width for these labels (about 7 px a character). */
function legendWidth(labels: readonly string[]): number {
  return Math.min(260, 40 + 7 * Math.max(0, ...labels.map((l) => l.length)));
}

/**
 * A line chart: axes with ticks, grid, axis labels, a title and a legend; each series a line
 * (dots and error bars where given). With `logX` the x axis is logarithmic.
 */
export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 760;
  const height = options.height ?? 380;
  const series = options.series.map((s, i) => ({ ...s, color: s.color ?? CHART_COLORS[i % CHART_COLORS.length], points: s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!options.logX || p.x > 0)) }));
  const showLegend = options.legend !== false && series.length > 0;
  const top = options.title === undefined ? 12 : 40;
  const left = options.yLabel === undefined ? 50 : 66;
  const bottom = options.xLabel === undefined ? 28 : 48;
  const right = showLegend ? legendWidth(series.map((s) => s.label)) + 16 : 20;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const all = series.flatMap((s) => s.points);
  const ys = all.flatMap((p) => [p.y, ...(p.low === undefined ? [] : [p.low]), ...(p.high === undefined ? [] : [p.high])]);
  const xs = all.map((p) => p.x);
  const fx = options.formatX ?? defaultFormat;
  const fy = options.formatY ?? defaultFormat;

  const y = niceTicks(options.yMin ?? (ys.length ? Math.min(...ys) : 0), options.yMax ?? (ys.length ? Math.max(...ys) : 1));
  const yLo = options.yMin ?? y.lo;
  const yHi = options.yMax ?? y.hi;
  const yTicks = y.ticks.filter((t) => t >= yLo - 1e-9 && t <= yHi + 1e-9);
  let tx: (x: number) => number;
  let xTicks: number[];
  if (options.logX) {
    const lo = xs.length ? Math.min(...xs) : 1;
    const hi = xs.length ? Math.max(...xs) : 10;
    // a tenth of a decade of margin each side keeps the end points off the frame
    const l0 = Math.log10(lo) - 0.1;
    const l1 = Math.log10(hi) + 0.1;
    tx = (x) => left + ((Math.log10(x) - l0) / (l1 - l0)) * plotW;
    xTicks = [...(options.xTicks ?? [...new Set(xs)].sort((a, b) => a - b))];
  } else {
    const t = niceTicks(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1, 6);
    tx = (x) => left + ((x - t.lo) / (t.hi - t.lo)) * plotW;
    xTicks = [...(options.xTicks ?? t.ticks)];
  }
  const ty = (v: number) => top + (1 - (v - yLo) / (yHi - yLo || 1)) * plotH;
  const f1 = (v: number) => v.toFixed(1);

  const parts: string[] = [open(width, height, options, "line chart"), titleText(options, width)];
  for (const t of yTicks) {
    parts.push(
      `<line x1="${left}" y1="${f1(ty(t))}" x2="${left + plotW}" y2="${f1(ty(t))}" class="grid" stroke="${LINE}"/>`,
      `<text x="${left - 6}" y="${f1(ty(t) + 4)}" text-anchor="end" class="axis" font-size="11" fill="${MUTED}">${escapeXml(fy(t))}</text>`,
    );
  }
  for (const t of xTicks) {
    const px = f1(tx(t));
    parts.push(
      `<line x1="${px}" y1="${top + plotH}" x2="${px}" y2="${top + plotH + 5}" class="grid" stroke="${MUTED}"/>`,
      `<text x="${px}" y="${top + plotH + 18}" text-anchor="middle" class="axis" font-size="11" fill="${MUTED}">${escapeXml(fx(t))}</text>`,
    );
  }
  parts.push(`<path d="M${left},${top}V${top + plotH}H${left + plotW}" fill="none" class="frame" stroke="${MUTED}"/>`);
  if (options.xLabel !== undefined) parts.push(`<text x="${left + plotW / 2}" y="${height - 10}" text-anchor="middle" class="label" font-size="12" fill="${TEXT}">${escapeXml(options.xLabel)}</text>`);
  if (options.yLabel !== undefined) {
    const cy = top + plotH / 2;
    parts.push(`<text x="16" y="${cy}" text-anchor="middle" transform="rotate(-90 16 ${cy})" class="label" font-size="12" fill="${TEXT}">${escapeXml(options.yLabel)}</text>`);
  }
  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p, i) => `${i === 0 ? "M" : "L"}${f1(tx(p.x))},${f1(ty(p.y))}`).join("");
    const bars = s.points
      .filter((p) => p.low !== undefined && p.high !== undefined)
      .map((p) => {
        const px = tx(p.x);
        const a = f1(ty(p.low as number));
        const b = f1(ty(p.high as number));
        return `<path d="M${f1(px)},${a}V${b}M${f1(px - 4)},${a}H${f1(px + 4)}M${f1(px - 4)},${b}H${f1(px + 4)}" stroke="${s.color}" stroke-width="1.5" fill="none"/>`;
      });
    const dots = (s.markers ?? s.points.length <= 40) ? s.points.map((p) => `<circle cx="${f1(tx(p.x))}" cy="${f1(ty(p.y))}" r="3" fill="${s.color}"><title>${escapeXml(`${s.label}: ${fy(p.y)} at ${fx(p.x)}`)}</title></circle>`) : [];
    parts.push(
      `<g class="series" data-label="${escapeXml(s.label)}"><path d="${d}" fill="none" stroke="${s.color}" stroke-width="2" stroke-linejoin="round"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>${bars.join("")}${dots.join("")}</g>`,
    );
  }
  if (showLegend) parts.push(legendColumn(series.map((s) => ({ label: s.label, color: s.color, dashed: s.dashed, line: true })), left + plotW + 16, top + 8));
  parts.push(close(options));
  return parts.join("");
}

/**
 * Grouped horizontal bars, one group a row (e.g. one metric, a bar per run), with the value
 * printed after each bar, a percentage axis along the bottom, a title and a legend.
 */
export function barChart(options: BarChartOptions): string {
  const width = options.width ?? 760;
  const max = options.max ?? 1;
  const format = options.formatValue ?? ((v: number) => `${((v / max) * 100).toFixed(1)} %`);
  const colors = options.series.map((s, i) => s.color ?? CHART_COLORS[i % CHART_COLORS.length]);
  const showLegend = options.legend !== false && options.series.length > 0;
  const barH = 14;
  const gap = 4;
  const groupH = options.series.length * (barH + gap) + 14;
  const left = options.labelWidth ?? 190;
  // legend swatches in rows under the title, from the bars' left edge, wrapped at the chart's width
  const legendRows: { label: string; color: string; x: number }[][] = [[]];
  let legendX = left;
  options.series.forEach((s, i) => {
    const w = legendWidth([s.label]);
    if (legendX + w > width - 10 && (legendRows.at(-1)?.length ?? 0) > 0) {
      legendRows.push([]);
      legendX = left;
    }
    legendRows.at(-1)?.push({ label: s.label, color: colors[i] as string, x: legendX });
    legendX += w;
  });
  const top = (options.title === undefined ? 6 : 40) + (showLegend ? 20 * legendRows.length : 0);
  const plotW = width - left - 70;
  const plotBottom = top + options.groups.length * groupH;
  const height = options.height ?? plotBottom + (options.xLabel === undefined ? 24 : 44);
  const parts: string[] = [open(width, height, options, "bar chart"), titleText(options, width)];
  if (showLegend) {
    legendRows.forEach((row, r) => {
      for (const entry of row) parts.push(legendColumn([entry], entry.x, top - 14 - 20 * (legendRows.length - 1 - r)));
    });
  }
  for (const share of [0, 0.25, 0.5, 0.75, 1]) {
    const px = left + share * plotW;
    parts.push(
      `<line x1="${px}" y1="${top - 4}" x2="${px}" y2="${plotBottom}" class="grid" stroke="${LINE}"/>`,
      `<text x="${px}" y="${plotBottom + 16}" class="axis" text-anchor="middle" font-size="11" fill="${MUTED}">${escapeXml(options.formatValue ? format(share * max) : `${share * 100} %`)}</text>`,
    );
  }
  if (options.xLabel !== undefined) parts.push(`<text x="${left + plotW / 2}" y="${plotBottom + 36}" text-anchor="middle" class="label" font-size="12" fill="${TEXT}">${escapeXml(options.xLabel)}</text>`);
  options.groups.forEach((g, gi) => {
    const y0 = top + gi * groupH + 6;
    parts.push(`<text x="${left - 10}" y="${y0 + (options.series.length * (barH + gap)) / 2 + 4}" text-anchor="end" class="label" font-size="12" fill="${TEXT}">${escapeXml(g.label)}</text>`);
    g.values.forEach((v, si) => {
      const w = v === null ? 0 : Math.max(0, Math.min(1, v / max)) * plotW;
      const y = y0 + si * (barH + gap);
      const note = g.notes?.[si] ?? (v === null ? "—" : format(v));
      parts.push(
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" rx="3" fill="${colors[si]}"><title>${escapeXml(`${options.series[si]?.label ?? ""}: ${note}`)}</title></rect>`,
        `<text x="${(left + w + 6).toFixed(1)}" y="${y + barH - 3}" class="value" font-size="11" fill="${TEXT}">${escapeXml(v === null ? "—" : format(v))}</text>`,
      );
    });
  });
  parts.push(close(options));
  return parts.join("");
}
