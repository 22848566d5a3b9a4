import assert from "node:assert/strict";
import { test } from "node:test";
import { createProgress, formatDuration } from "../../src/cli/progress.js";

function fakeIo(interactive: boolean) {
  const written: string[] = [];
  return { written, io: { err: (t: string) => written.push(t), interactive } };
}

test("on a terminal the bar redraws in place with the count, rate and ETA, and ends with a newline", () => {
  let clock = 0;
  const { written, io } = fakeIo(true);
  const bar = createProgress({ total: 4, label: "eval", io, unit: "tasks", width: 4, now: () => clock });
  clock = 2000;
  bar.tick(1, "t1 ok");
  const last = written.at(-1) ?? "";
  assert.ok(last.startsWith("\r"), "redraws from the line start");
  assert.match(last, /eval \[█░░░\] 1\/4 25% 2\.0 s\/task elapsed 2s, ETA 6s · t1 ok/);
  clock = 4000;
  bar.tick(3);
  bar.done();
  assert.match(written.at(-2) ?? "", /4\/4 100% 1\.00 tasks\/s in 4s/);
  assert.equal(written.at(-1), "\n");
  assert.ok(written.every((t) => !t.includes("\n") || t === "\n"), "only the final newline");
});

test("without a terminal it prints plain lines at most once an interval, and a last line at the end", () => {
  let clock = 0;
  const { written, io } = fakeIo(false);
  const bar = createProgress({ total: 10, label: "eval", io, plainIntervalMs: 1000, now: () => clock });
  const before = written.length;
  for (let i = 0; i < 5; i++) {
    clock += 100;
    bar.tick();
  }
  assert.equal(written.length - before, 0, "no line within the interval");
  clock += 1000;
  bar.tick();
  assert.equal(written.length - before, 1);
  assert.match(written.at(-1) ?? "", /^eval 6\/10 60% .*\n$/);
  assert.ok(!(written.at(-1) ?? "").includes("\r"));
  bar.tick(4);
  bar.done();
  assert.match(written.at(-1) ?? "", /^eval 10\/10 100% .* in \d+s\n$/);
  const count = written.length;
  bar.done();
  bar.tick();
  assert.equal(written.length, count, "done is final");
});

test("durations read as seconds, minutes and hours", () => {
  assert.equal(formatDuration(5), "5s");
  assert.equal(formatDuration(75), "1m15s");
  assert.equal(formatDuration(3725), "1h02m");
  assert.equal(formatDuration(Number.NaN), "?");
});
