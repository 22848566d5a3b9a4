/**
 * A progress bar for long CLI jobs (evaluation, training). It writes to stderr only, so stdout
 * stays clean for results: on a terminal it redraws one line in place with the rate and the
 * time left; otherwise (CI logs, pipes) it prints a plain line now and then.
 */

/** Where progress goes: the stderr side of a CommandIO. */
export interface ProgressIO {
  err(text: string): void;
  /** True when stderr is a terminal: draw in place. */
  interactive: boolean;
}

export interface ProgressOptions {
  total: number;
  /** Shown before the bar, e.g. "eval". */
  label: string;
  io: ProgressIO;
  /** Unit shown in the rate, e.g. "tasks" → "1.2 tasks/s". Default "it". */
  unit?: string;
  /** Width of the bar in characters on a terminal. Default 24. */
  width?: number;
  /** Without a terminal: the least time between two plain lines, in ms. Default 10 000. */
  plainIntervalMs?: number;
  /** The clock, in ms (tests pass their own). Default Date.now. */
  now?: () => number;
}

export interface Progress {
  /** Advances by n (default 1); `info` is a short note shown after the counts (e.g. "loss 1.23"). */
  tick(n?: number, info?: string): void;
  /** Sets the note without advancing. */
  note(info: string): void;
  /** Ends the bar: the final line, then a newline on a terminal. Idempotent. */
  done(info?: string): void;
}

/** `75` s → `1m15s`; `3725` s → `1h02m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

function formatRatePerSecond(perSecond: number, unit: string): string {
  if (perSecond === 0 || !Number.isFinite(perSecond)) return `– ${unit}/s`;
  if (perSecond >= 1) return `${perSecond.toFixed(perSecond >= 100 ? 0 : 2)} ${unit}/s`;
  return `${(1 / perSecond).toFixed(1)} s/${unit.replace(/s$/, "")}`;
}

/** Creates a progress bar over `total` units. */
export function createProgress(options: ProgressOptions): Progress {
  const { total, label, io } = options;
  const unit = options.unit ?? "it";
  const width = options.width ?? 24;
  const interval = options.plainIntervalMs ?? 10_000;
  const now = options.now ?? Date.now;
  const start = now();
  let count = 0;
  let info = "";
  let lastPlain = Number.NEGATIVE_INFINITY;
  let lastPlainCount = -1;
  let finished = false;
  let lastLength = 0;

  function line(): string {
    const elapsed = (now() - start) / 1000;
    const perSecond = elapsed > 0 ? count / elapsed : 0;
    const left = total > count && perSecond > 0 ? (total - count) / perSecond : count >= total ? 0 : Number.NaN;
    const share = total > 0 ? Math.min(1, count / total) : 1;
    const parts = [`${label}`];
    if (io.interactive) {
      const filled = Math.round(share * width);
      parts.push(`[${"█".repeat(filled)}${"░".repeat(width - filled)}]`);
    }
    parts.push(`${count}/${total}`, `${(share * 100).toFixed(0)}%`, formatRatePerSecond(perSecond, unit));
    parts.push(count >= total ? `in ${formatDuration(elapsed)}` : `elapsed ${formatDuration(elapsed)}, ETA ${formatDuration(left)}`);
    if (info !== "") parts.push(`· ${info}`);
    return parts.join(" ");
  }

  function draw(force: boolean): void {
    if (io.interactive) {
      const text = line();
      // Pad over the previous line's leftovers instead of relying on terminal escape codes.
      io.err(`\r${text}${" ".repeat(Math.max(0, lastLength - text.length))}`);
      lastLength = text.length;
      return;
    }
    const t = now();
    if (force || t - lastPlain >= interval) {
      if (count === lastPlainCount && !force) return;
      io.err(`${line()}\n`);
      lastPlain = t;
      lastPlainCount = count;
    }
  }

  draw(false);
  return {
    tick(n = 1, note) {
      if (finished) return;
      count += n;
      if (note !== undefined) info = note;
      draw(false);
    },
    note(note) {
      if (finished) return;
      info = note;
      if (io.interactive) draw(false);
    },
    done(note) {
      if (finished) return;
      finished = true;
      if (note !== undefined) info = note;
      if (io.interactive) {
        draw(true);
        io.err("\n");
      } else if (lastPlainCount !== count || note !== undefined) {
        draw(true);
      }
    },
  };
}
