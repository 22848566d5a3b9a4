// Whether two evaluations of the same tasks behaved the same, task by task: the same tool calls
// (names and arguments, in order), the same answer, the same ending. The parity experiment
// reads it as "does node-llama-cpp run our adapter as our engine does".

import { rate, type Rate } from "../eval/metrics.js";
import type { EvalResult, TaskRecord } from "../eval/result.js";
import { canonicalJson } from "../react/json.js";

export interface TaskAgreement {
  id: string;
  run: number;
  sameCalls: boolean;
  sameAnswer: boolean;
  sameStatus: boolean;
  a: { status: string; calls: string[]; answer?: string };
  b: { status: string; calls: string[]; answer?: string };
}

export interface AgreementSummary {
  /** Runs present in both evaluations. */
  compared: number;
  /** Runs only one of them has (a cancelled evaluation, other task files). */
  unmatched: number;
  sameCalls: Rate;
  sameAnswer: Rate;
  sameStatus: Rate;
  /** All three at once. */
  identical: Rate;
  tasks: TaskAgreement[];
}

function calls(record: TaskRecord): string[] {
  return record.toolCalls.map((c) => `${c.name}(${canonicalJson(c.arguments)})`);
}

/** Whitespace runs count as one space; no answer on both sides is the same answer. */
function normalAnswer(answer: string | undefined): string | undefined {
  return answer?.replace(/\s+/g, " ").trim();
}

function side(record: TaskRecord): TaskAgreement["a"] {
  return { status: record.status, calls: calls(record), ...(record.answer === undefined ? {} : { answer: record.answer }) };
}

/** Pairs the runs of `a` and `b` by task id and run number and compares each pair. */
export function compareTaskByTask(a: EvalResult, b: EvalResult): AgreementSummary {
  const key = (r: TaskRecord) => `${r.id}\u0000${r.run}`;
  const byKey = new Map(b.records.map((r) => [key(r), r]));
  const tasks: TaskAgreement[] = [];
  for (const ra of a.records) {
    const rb = byKey.get(key(ra));
    if (rb === undefined) continue;
    const ca = calls(ra);
    const cb = calls(rb);
    tasks.push({
      id: ra.id,
      run: ra.run,
      sameCalls: ca.length === cb.length && ca.every((c, i) => c === cb[i]),
      sameAnswer: normalAnswer(ra.answer) === normalAnswer(rb.answer),
      sameStatus: ra.status === rb.status,
      a: side(ra),
      b: side(rb),
    });
  }
  const count = (f: (t: TaskAgreement) => boolean) => rate(tasks.filter(f).length, tasks.length);
  return {
    compared: tasks.length,
    unmatched: a.records.length + b.records.length - 2 * tasks.length,
    sameCalls: count((t) => t.sameCalls),
    sameAnswer: count((t) => t.sameAnswer),
    sameStatus: count((t) => t.sameStatus),
    identical: count((t) => t.sameCalls && t.sameAnswer && t.sameStatus),
    tasks,
  };
}
