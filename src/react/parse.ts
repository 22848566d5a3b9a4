import type { ChatMessage } from "../agent/chat-model.js";
import type { JsonValue, ToolCall } from "../tools/types.js";
import { isJsonObject, scanBalanced, tryParseJson } from "./json.js";
import type { ReActStep, Trajectory } from "./types.js";

/**
 * Parsing of model replies in the ReAct format (SPECS §1). Nothing here throws: every problem
 * comes back as a failure value whose `kind` is one of the failure kinds of SPECS §1.
 *
 * How a reply is read:
 * - Keywords (`Thought:`, `Action:`, `Answer:`, `Final Answer:`, `Observation:`) count at the
 *   start of a line in any letter case (after spaces, `#` or `**`), and also in the middle of a
 *   line when spelled exactly so, after the end of a sentence (`I know. Answer: 4`) or, for an
 *   Action, right before its JSON (`I'll look Action: {…}`) — not in prose like `next Action: x`.
 * - The Thought is the text after `Thought:` up to the next keyword; with `Thought:` missing it
 *   is the text before the Action or Answer. It is trimmed.
 * - The first Action or Answer wins: anything after it (a second Action, an Answer written
 *   before the Observation came back, prose) is ignored.
 * - An `Observation:` written by the model is a hallucination: the reply is cut there. Before
 *   any Action or Answer it leaves a reply with neither (`no_answer`).
 * - `Action:` must be followed by one JSON object, optionally inside a code fence or backticks;
 *   the first balanced object is taken (strings and escapes honoured) and text after it ignored.
 * - The object is `{"name": string, "arguments": object}`. Unless `strict`, the aliases
 *   `"tool"` for `"name"` and `"args"` / `"parameters"` for `"arguments"` are accepted (other
 *   model families write them) and extra keys are ignored; the call is reported with
 *   `aliased: true` so data validation can reject it.
 * - The Answer is the text after `Answer:` up to the next keyword at the start of a line
 *   (so it may span several lines), trimmed; an empty Answer counts as no answer.
 */

export interface ParseOptions {
  /** Reject the key aliases and extra keys in an Action (data validation uses this). */
  strict?: boolean;
}

/** A reply that parsed: a Thought and either one tool call or the final answer. */
export type ParsedReply =
  | { ok: true; kind: "action"; thought: string; action: ToolCall; aliased: boolean }
  | { ok: true; kind: "answer"; thought: string; answer: string };

/** Why a reply did not parse. `raw` is the reply as given; `thought` whatever Thought was read. */
export interface ReplyParseFailure {
  ok: false;
  kind: "malformed_action" | "no_answer";
  message: string;
  raw: string;
  thought: string;
}

export type ReplyParse = ParsedReply | ReplyParseFailure;

type MarkerKind = "thought" | "action" | "answer" | "observation";

interface Marker {
  kind: MarkerKind;
  /** Where the keyword (with any `**` before it) starts. */
  start: number;
  /** Just past the colon (and any `**` after it). */
  end: number;
}

const MARKER_RE = /(\**)(final[ \t]+answer|thought|action|answer|observation)(\**)[ \t]*:(\**)/gi;
const INLINE_SPELLINGS = new Set(["Thought", "Action", "Answer", "Final Answer", "Observation"]);

function markerKind(word: string): MarkerKind {
  const w = word.toLowerCase();
  if (w.startsWith("final")) return "answer";
  return w as MarkerKind;
}

function atLineStart(text: string, index: number): boolean {
  for (let i = index - 1; i >= 0; i--) {
    const c = text[i];
    if (c === "\n") return true;
    if (c !== " " && c !== "\t" && c !== "#") return false;
  }
  return true;
}

/**
 * A keyword in the middle of a line counts after the end of a sentence (`I know. Answer: 4`), or,
 * for an Action, when a JSON object follows (`I'll check Action: {…}`); not inside prose such as
 * `my next Action: check the weather`.
 */
function inlineMarker(text: string, start: number, end: number): boolean {
  if (!/\s/.test(text[start - 1] ?? "")) return false;
  let i = start - 1;
  while (i >= 0 && /\s/.test(text[i])) i--;
  if (i >= 0 && /[.!?;:)"'`*]/.test(text[i])) return true;
  if (text.slice(start, start + 6).toLowerCase() !== "action") return false;
  let j = end;
  while (j < text.length && /\s/.test(text[j])) j++;
  return text[j] === "{" || text[j] === "`";
}

/** The next keyword at or after `from`; with `lineStartOnly`, only keywords that begin a line. */
function findMarker(text: string, from: number, lineStartOnly: boolean): Marker | null {
  const re = new RegExp(MARKER_RE.source, "gi");
  re.lastIndex = from;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const word = m[2];
    const lineStart = atLineStart(text, m.index);
    const inline = !lineStartOnly && m[1] === "" && INLINE_SPELLINGS.has(word.replace(/[ \t]+/, " ")) && inlineMarker(text, m.index, m.index + m[0].length);
    if (lineStart || inline) return { kind: markerKind(word), start: m.index, end: m.index + m[0].length };
  }
  return null;
}

/** The first line-start `Observation:` in `text` at or after `from`, or null. */
function findObservation(text: string, from: number): Marker | null {
  for (let m = findMarker(text, from, true); m !== null; m = findMarker(text, m.end, true)) {
    if (m.kind === "observation") return m;
  }
  return null;
}

/**
 * Where a model's reply should have stopped: the index of the first `Observation:` that starts a
 * line (the model writing the tool's result itself), or -1. The runtime cuts replies there even
 * when a server ignored the stop string.
 */
export function observationIndex(text: string): number {
  return findObservation(text, 0)?.start ?? -1;
}

function normalize(raw: string): string {
  return raw.replace(/\r\n?/g, "\n");
}

function snippet(text: string, max = 40): string {
  const s = text.trim().split("\n")[0] ?? "";
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** Turns a parsed Action object into a call, or says what is wrong with its shape. */
export function toToolCall(
  value: unknown,
  options: ParseOptions = {},
): { ok: true; call: ToolCall; aliased: boolean } | { ok: false; message: string } {
  if (!isJsonObject(value)) {
    const got = Array.isArray(value) ? "an array" : value === null ? "null" : `a ${typeof value}`;
    return { ok: false, message: `the Action must be one JSON object {"name": …, "arguments": {…}}, got ${got}` };
  }
  const has = (k: string) => Object.hasOwn(value, k);
  const nameKey = has("name") ? "name" : !options.strict && has("tool") ? "tool" : undefined;
  const argsKey = has("arguments")
    ? "arguments"
    : options.strict
      ? undefined
      : ["args", "parameters"].find((k) => has(k));
  if (nameKey === undefined) return { ok: false, message: 'the Action has no "name"' };
  const name = value[nameKey];
  if (typeof name !== "string" || name.trim() === "") {
    return { ok: false, message: 'the Action\'s "name" must be a non-empty string' };
  }
  if (argsKey === undefined) return { ok: false, message: 'the Action has no "arguments" object' };
  const args = value[argsKey];
  if (!isJsonObject(args)) {
    const got = Array.isArray(args) ? "an array" : args === null ? "null" : `a ${typeof args}`;
    return { ok: false, message: `the Action's "arguments" must be a JSON object, got ${got}` };
  }
  if (options.strict) {
    const extra = Object.keys(value).filter((k) => k !== "name" && k !== "arguments");
    if (extra.length > 0) return { ok: false, message: `the Action has unexpected keys: ${extra.join(", ")}` };
  }
  return { ok: true, call: { name, arguments: args }, aliased: nameKey !== "name" || argsKey !== "arguments" };
}

/**
 * Reads the JSON object that starts at or after `from` (skipping whitespace and an optional code
 * fence or backtick). Returns the value and the index just past the object (and a closing fence).
 */
function readJsonObjectAt(
  text: string,
  from: number,
): { ok: true; value: unknown; end: number } | { ok: false; message: string; empty: boolean } {
  let i = from;
  const skipWs = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  skipWs();
  let fence = "";
  if (text.startsWith("```", i)) {
    fence = "```";
    i += 3;
    while (i < text.length && /[A-Za-z0-9_+-]/.test(text[i])) i++;
    skipWs();
  } else if (text[i] === "`") {
    fence = "`";
    i++;
    skipWs();
  }
  if (i >= text.length) return { ok: false, message: "nothing follows Action:", empty: true };
  if (text[i] !== "{") {
    return {
      ok: false,
      message: `Action: must be followed by one JSON object {"name": …, "arguments": {…}}, got "${snippet(text.slice(i))}"`,
      empty: false,
    };
  }
  const end = scanBalanced(text, i);
  if (end < 0) return { ok: false, message: "the Action's JSON object is not closed (the reply was cut off?)", empty: false };
  const parsed = tryParseJson(text.slice(i, end));
  if (!parsed.ok) return { ok: false, message: `the Action is not valid JSON: ${parsed.message}`, empty: false };
  let after = end;
  if (fence !== "") {
    let j = end;
    while (j < text.length && /\s/.test(text[j])) j++;
    if (text.startsWith(fence, j)) after = j + fence.length;
  }
  return { ok: true, value: parsed.value, end: after };
}

type ParseAt = { result: ReplyParse; end: number };

/** Parses one reply inside `text` from `from`; `end` is where what was read stops. */
function parseReplyAt(text: string, from: number, limit: number, raw: string, options: ParseOptions): ParseAt {
  const body = text.slice(0, limit);
  const thoughts: string[] = [];
  const thought = () => thoughts.filter((t) => t !== "").join("\n");
  const fail = (kind: ReplyParseFailure["kind"], message: string, end: number): ParseAt => ({
    result: { ok: false, kind, message, raw, thought: thought() },
    end,
  });

  let marker = findMarker(body, from, false);
  const preamble = body.slice(from, marker?.start ?? limit).trim();
  if (marker === null) {
    thoughts.push(preamble);
    return fail("no_answer", "the reply has neither an Action nor an Answer", limit);
  }
  if (marker.kind !== "thought") thoughts.push(preamble);

  while (marker !== null) {
    switch (marker.kind) {
      case "observation":
        return fail(
          "no_answer",
          "the reply has neither an Action nor an Answer (it wrote an Observation, which comes from the tools)",
          marker.start,
        );
      case "thought": {
        const next = findMarker(body, marker.end, false);
        thoughts.push(body.slice(marker.end, next?.start ?? limit).trim());
        marker = next;
        break;
      }
      case "action": {
        const obs = findObservation(body, marker.end);
        const actionText = body.slice(0, obs?.start ?? limit);
        const read = readJsonObjectAt(actionText, marker.end);
        if (!read.ok) return fail("malformed_action", read.message, obs?.start ?? limit);
        const call = toToolCall(read.value, options);
        if (!call.ok) return fail("malformed_action", call.message, read.end);
        return {
          result: { ok: true, kind: "action", thought: thought(), action: call.call, aliased: call.aliased },
          end: read.end,
        };
      }
      case "answer": {
        const next = findMarker(body, marker.end, true);
        const end = next?.start ?? limit;
        const answer = body.slice(marker.end, end).trim();
        if (answer === "") return fail("no_answer", "the Answer is empty", end);
        return { result: { ok: true, kind: "answer", thought: thought(), answer }, end };
      }
    }
  }
  return fail("no_answer", "the reply has neither an Action nor an Answer", limit);
}

/**
 * Parses one model reply (one assistant message) into a Thought plus an Action or an Answer, or
 * a failure (`malformed_action` or `no_answer`). Never throws.
 */
export function parseReply(raw: string, options: ParseOptions = {}): ReplyParse {
  if (typeof raw !== "string") {
    return { ok: false, kind: "no_answer", message: "the reply is not text", raw: String(raw), thought: "" };
  }
  const text = normalize(raw);
  return parseReplyAt(text, 0, text.length, raw, options).result;
}

/**
 * Parses the single-turn function-calling format: the whole reply is one JSON call
 * `{"name": …, "arguments": {…}}` (a code fence around it is accepted; with `strict`, nothing may
 * follow it). A reply without any JSON object is `no_answer`; a broken one `malformed_action`.
 */
export function parseFunctionCall(
  raw: string,
  options: ParseOptions = {},
): { ok: true; call: ToolCall; aliased: boolean } | ReplyParseFailure {
  const fail = (kind: ReplyParseFailure["kind"], message: string): ReplyParseFailure => ({
    ok: false,
    kind,
    message,
    raw: String(raw),
    thought: "",
  });
  if (typeof raw !== "string") return fail("no_answer", "the reply is not text");
  const text = normalize(raw);
  const read = readJsonObjectAt(text, 0);
  if (!read.ok) {
    return read.empty || !text.includes("{")
      ? fail("no_answer", "the reply is not a JSON call")
      : fail("malformed_action", read.message.replace("Action: must", "the reply must"));
  }
  if (options.strict && text.slice(read.end).trim() !== "") return fail("malformed_action", "text follows the JSON call");
  const call = toToolCall(read.value, options);
  return call.ok ? call : fail("malformed_action", call.message);
}

/** Why a whole trajectory text or message list did not parse, and at which step (1-based). */
export interface TrajectoryParseFailure {
  ok: false;
  /** The reply failure kinds, or a problem with the runtime's part of the text. */
  kind: "malformed_action" | "no_answer" | "malformed_observation" | "missing_observation" | "trailing_text";
  step: number;
  message: string;
}

/** The result of reading back a whole trajectory. `aliased` is true when an Action used key aliases. */
export type TrajectoryParse =
  | { ok: true; steps: ReActStep[]; aliased: boolean }
  | TrajectoryParseFailure;

/** Reads a JSON value (an Observation) at `from`: an object or array by balance, else the rest of the line. */
function readJsonValueAt(text: string, from: number): { ok: true; value: unknown; end: number } | { ok: false; message: string } {
  let i = from;
  while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
  let end: number;
  if (text[i] === "{" || text[i] === "[") {
    end = scanBalanced(text, i);
    if (end < 0) return { ok: false, message: "the Observation's JSON is not closed" };
  } else {
    end = text.indexOf("\n", i);
    if (end < 0) end = text.length;
  }
  const parsed = tryParseJson(text.slice(i, end));
  if (!parsed.ok) return { ok: false, message: `the Observation is not valid JSON: ${parsed.message}` };
  return { ok: true, value: parsed.value, end };
}

/**
 * Reads a trajectory text (as `renderTrajectoryText` writes it) back into steps. Used by data
 * validation, so it is stricter than the runtime about the runtime's own parts: every Action is
 * followed by `Observation: <json>`, and after the Answer only whitespace may follow.
 */
export function parseTrajectoryText(raw: string, options: ParseOptions = {}): TrajectoryParse {
  if (typeof raw !== "string") return { ok: false, kind: "no_answer", step: 1, message: "the trajectory is not text" };
  const text = normalize(raw);
  const steps: ReActStep[] = [];
  let aliased = false;
  let pos = 0;
  for (let step = 1; ; step++) {
    if (text.slice(pos).trim() === "") {
      if (steps.length === 0) return { ok: false, kind: "no_answer", step, message: "the trajectory is empty" };
      return { ok: true, steps, aliased };
    }
    const obs = findObservation(text, pos);
    const limit = obs?.start ?? text.length;
    const { result, end } = parseReplyAt(text, pos, limit, text.slice(pos, limit), options);
    if (!result.ok) return { ok: false, kind: result.kind, step, message: result.message };
    if (result.kind === "answer") {
      steps.push({ kind: "answer", thought: result.thought, answer: result.answer });
      if (text.slice(end).trim() !== "") {
        return { ok: false, kind: "trailing_text", step, message: `text follows the Answer: "${snippet(text.slice(end))}"` };
      }
      return { ok: true, steps, aliased };
    }
    aliased ||= result.aliased;
    if (obs === null) {
      return { ok: false, kind: "missing_observation", step, message: "the Action is not followed by an Observation" };
    }
    if (text.slice(end, obs.start).trim() !== "") {
      return { ok: false, kind: "trailing_text", step, message: `text between the Action and its Observation: "${snippet(text.slice(end, obs.start))}"` };
    }
    const value = readJsonValueAt(text, obs.end);
    if (!value.ok) return { ok: false, kind: "malformed_observation", step, message: value.message };
    steps.push({ kind: "action", thought: result.thought, action: result.action, observation: value.value as JsonValue });
    pos = value.end;
  }
}

/**
 * Reads a conversation in the chat mapping (see render.ts) back into a trajectory: an optional
 * system message, the user's query, then assistant replies, each Action followed by a user (or
 * tool) message `Observation: <json>` (a tool message may also hold the bare JSON). The last
 * reply need not be an Answer (an unfinished episode), but an Action needs its Observation.
 * A reply with `weight: 0` gives a step with `weight: 0`.
 */
export function parseMessages(
  messages: readonly ChatMessage[],
  options: ParseOptions = {},
): { ok: true; trajectory: Trajectory; systemPrompt?: string; aliased: boolean } | TrajectoryParseFailure {
  const fail = (kind: TrajectoryParseFailure["kind"], step: number, message: string): TrajectoryParseFailure => ({
    ok: false,
    kind,
    step,
    message,
  });
  if (!Array.isArray(messages)) return fail("no_answer", 1, "the messages are not a list");
  let i = 0;
  let systemPrompt: string | undefined;
  if (messages[0]?.role === "system") {
    systemPrompt = String(messages[0].content);
    i = 1;
  }
  const first = messages[i];
  if (first?.role !== "user" || typeof first.content !== "string") {
    return fail("no_answer", 1, `message ${i + 1} must be the user's query`);
  }
  const trajectory: Trajectory = { query: first.content, steps: [] };
  let aliased = false;
  i++;
  for (let step = 1; i < messages.length; step++) {
    const reply = messages[i];
    if (reply?.role !== "assistant" || typeof reply.content !== "string") {
      return fail("no_answer", step, `message ${i + 1} must be an assistant reply, got role "${String(reply?.role)}"`);
    }
    const parsed = parseReply(reply.content, options);
    if (!parsed.ok) return fail(parsed.kind, step, parsed.message);
    i++;
    // An untrained reply (`weight: 0`) stays so on its step; weight 1 is the default and left out.
    const untrained = reply.weight === 0 ? { weight: 0 as const } : {};
    if (parsed.kind === "answer") {
      trajectory.steps.push({ kind: "answer", thought: parsed.thought, answer: parsed.answer, ...untrained });
      if (i < messages.length) return fail("trailing_text", step, `${messages.length - i} message(s) follow the Answer`);
      break;
    }
    aliased ||= parsed.aliased;
    const obs = messages[i];
    if (obs === undefined || (obs.role !== "user" && obs.role !== "tool") || typeof obs.content !== "string") {
      return fail("missing_observation", step, "the Action is not followed by an Observation message");
    }
    const content = obs.content.trimStart();
    let from = 0;
    if (content.startsWith("Observation:")) from = "Observation:".length;
    else if (obs.role === "user") {
      return fail("missing_observation", step, `message ${i + 1} must start with "Observation:"`);
    }
    const value = readJsonValueAt(content, from);
    if (!value.ok) return fail("malformed_observation", step, value.message);
    if (content.slice(value.end).trim() !== "") {
      return fail("malformed_observation", step, "text follows the Observation's JSON");
    }
    trajectory.steps.push({ kind: "action", thought: parsed.thought, action: parsed.action, observation: value.value as JsonValue, ...untrained });
    i++;
  }
  return systemPrompt === undefined ? { ok: true, trajectory, aliased } : { ok: true, trajectory, systemPrompt, aliased };
}
