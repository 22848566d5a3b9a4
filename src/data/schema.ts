import type { ChatMessage } from "../agent/chat-model.js";
import { canonicalJson, isJsonObject } from "../react/json.js";
import { parseFunctionCall, parseMessages } from "../react/parse.js";
import type { JsonValue } from "../tools/types.js";
import type { Task, TrainingExample } from "./task.js";

/**
 * Validation of task and training-example objects (SPECS §3). Problems come back as data with
 * the field that has them (zod-style), never as exceptions; unknown fields are kept and ignored.
 */

/** One problem with one object; `field` is a path such as `expected_calls[0].arguments`. */
export interface SchemaIssue {
  /** The field's path; absent when the problem is the whole line (not an object). */
  field?: string;
  problem: string;
}

/** The categories the builder writes; other category names are allowed in user files. */
export const CATEGORIES = ["single", "chain", "conditional", "arithmetic", "abstention", "missing_tool", "function_call"] as const;
export type Category = (typeof CATEGORIES)[number];

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function checkStringList(value: unknown, field: string, issues: SchemaIssue[], nonEmptyItems = true): void {
  if (!Array.isArray(value)) {
    issues.push({ field, problem: `must be a list of strings, got ${typeName(value)}` });
    return;
  }
  value.forEach((item, i) => {
    if (typeof item !== "string") issues.push({ field: `${field}[${i}]`, problem: `must be a string, got ${typeName(item)}` });
    else if (nonEmptyItems && item.trim() === "") issues.push({ field: `${field}[${i}]`, problem: "must not be empty" });
  });
}

function checkCall(value: unknown, field: string, issues: SchemaIssue[]): void {
  if (!isJsonObject(value)) {
    issues.push({ field, problem: `must be an object {"name", "arguments"}, got ${typeName(value)}` });
    return;
  }
  if (typeof value.name !== "string" || value.name === "") issues.push({ field: `${field}.name`, problem: "must be a non-empty string" });
  if (!isJsonObject(value.arguments)) issues.push({ field: `${field}.arguments`, problem: `must be an object, got ${typeName(value.arguments)}` });
}

function checkCount(value: unknown, field: string, issues: SchemaIssue[], min: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    issues.push({ field, problem: `must be a whole number of at least ${min}, got ${JSON.stringify(value) ?? typeName(value)}` });
  }
}

/** Validates an evaluation task: required `id`, `query`, `expected_tools`; types of the optional fields. */
export function validateTask(value: unknown): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  if (!isJsonObject(value)) return [{ problem: `must be a JSON object, got ${typeName(value)}` }];
  for (const key of ["id", "query"] as const) {
    if (!(key in value)) issues.push({ field: key, problem: "is missing (required)" });
    else if (typeof value[key] !== "string" || (value[key] as string).trim() === "") issues.push({ field: key, problem: `must be a non-empty string, got ${typeName(value[key])}` });
  }
  if (!("expected_tools" in value)) issues.push({ field: "expected_tools", problem: "is missing (required; [] for a task that needs no tool)" });
  else checkStringList(value.expected_tools, "expected_tools", issues);
  if (value.expected_calls !== undefined) {
    if (!Array.isArray(value.expected_calls)) issues.push({ field: "expected_calls", problem: `must be a list of calls, got ${typeName(value.expected_calls)}` });
    else {
      for (const [i, call] of value.expected_calls.entries()) checkCall(call, `expected_calls[${i}]`, issues);
    }
  }
  if (value.min_steps !== undefined) checkCount(value.min_steps, "min_steps", issues, 1);
  if (value.max_steps !== undefined) checkCount(value.max_steps, "max_steps", issues, 1);
  if (typeof value.min_steps === "number" && typeof value.max_steps === "number" && value.min_steps > value.max_steps) {
    issues.push({ field: "max_steps", problem: `is below min_steps (${value.max_steps} < ${value.min_steps})` });
  }
  if (value.answer_contains !== undefined) checkStringList(value.answer_contains, "answer_contains", issues);
  if (value.category !== undefined && typeof value.category !== "string") issues.push({ field: "category", problem: `must be a string, got ${typeName(value.category)}` });
  if (value.tools !== undefined) checkStringList(value.tools, "tools", issues);
  if (value.seed !== undefined && (typeof value.seed !== "number" || !Number.isInteger(value.seed))) {
    issues.push({ field: "seed", problem: `must be an integer, got ${JSON.stringify(value.seed) ?? typeName(value.seed)}` });
  }
  if (Array.isArray(value.expected_tools) && Array.isArray(value.tools)) {
    const offered = new Set(value.tools);
    value.expected_tools.forEach((name, i) => {
      if (typeof name === "string" && !offered.has(name)) issues.push({ field: `expected_tools[${i}]`, problem: `"${name}" is not among the offered tools` });
    });
  }
  return issues;
}

function checkSteps(value: unknown, issues: SchemaIssue[]): boolean {
  if (!Array.isArray(value)) {
    issues.push({ field: "steps", problem: `must be a list of steps, got ${typeName(value)}` });
    return false;
  }
  if (value.length === 0) {
    issues.push({ field: "steps", problem: "must hold at least one step" });
    return false;
  }
  const before = issues.length;
  value.forEach((step, i) => {
    const field = `steps[${i}]`;
    if (!isJsonObject(step)) {
      issues.push({ field, problem: `must be an object, got ${typeName(step)}` });
      return;
    }
    if (typeof step.thought !== "string") issues.push({ field: `${field}.thought`, problem: `must be a string, got ${typeName(step.thought)}` });
    if (step.weight !== undefined && step.weight !== 0) issues.push({ field: `${field}.weight`, problem: `must be 0 (an untrained reply) or left out, got ${JSON.stringify(step.weight) ?? typeName(step.weight)}` });
    if (step.kind === "action") {
      checkCall(step.action, `${field}.action`, issues);
      if (!("observation" in step)) issues.push({ field: `${field}.observation`, problem: "is missing (every action step carries its observation)" });
      if (i === value.length - 1) issues.push({ field, problem: "the trajectory must end with an answer step" });
    } else if (step.kind === "answer") {
      if (typeof step.answer !== "string" || step.answer.trim() === "") issues.push({ field: `${field}.answer`, problem: "must be a non-empty string" });
      if (i !== value.length - 1) issues.push({ field, problem: "an answer step must be the last step" });
    } else {
      issues.push({ field: `${field}.kind`, problem: `must be "action" or "answer", got ${JSON.stringify(step.kind) ?? typeName(step.kind)}` });
    }
  });
  return issues.length === before;
}

function checkMessages(value: unknown, issues: SchemaIssue[]): value is ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) {
    issues.push({ field: "messages", problem: `must be a non-empty list of messages, got ${typeName(value)}` });
    return false;
  }
  const before = issues.length;
  value.forEach((m, i) => {
    if (!isJsonObject(m)) issues.push({ field: `messages[${i}]`, problem: `must be an object {"role", "content"}, got ${typeName(m)}` });
    else {
      if (!["system", "user", "assistant", "tool"].includes(m.role as string)) issues.push({ field: `messages[${i}].role`, problem: `must be system, user, assistant or tool, got ${JSON.stringify(m.role) ?? typeName(m.role)}` });
      if (typeof m.content !== "string") issues.push({ field: `messages[${i}].content`, problem: `must be a string, got ${typeName(m.content)}` });
      if (m.weight !== undefined) {
        if (m.weight !== 0 && m.weight !== 1) issues.push({ field: `messages[${i}].weight`, problem: `must be 0 (no loss on this reply) or 1, got ${JSON.stringify(m.weight) ?? typeName(m.weight)}` });
        else if (m.role !== "assistant") issues.push({ field: `messages[${i}].weight`, problem: `only an assistant message carries a weight, this one is ${JSON.stringify(m.role)}` });
      }
    }
  });
  return issues.length === before;
}

/**
 * Validates a training example: the task fields, then the trajectory. A ReAct example needs
 * `steps` or `messages` (both, when given, must describe the same trajectory, parsed strictly);
 * it must end with an Answer; its called tools (those of untrained, weight-0 replies left out)
 * must equal `expected_tools` and lie within `tools` when that is given. A message's `weight`,
 * when given, is 0 or 1 and only on an assistant message. A function-call example needs `messages` ending in one strict JSON call.
 */
export function validateTrainingExample(value: unknown): SchemaIssue[] {
  const issues = validateTask(value);
  if (!isJsonObject(value)) return issues;
  const format = value.format ?? "react";
  if (format !== "react" && format !== "function_call") {
    issues.push({ field: "format", problem: `must be "react" or "function_call", got ${JSON.stringify(format)}` });
    return issues;
  }
  if (value.steps === undefined && value.messages === undefined) {
    issues.push({ field: "messages", problem: 'is missing: a training example needs "messages" or "steps"' });
    return issues;
  }
  const stepsOk = value.steps === undefined ? undefined : checkSteps(value.steps, issues);
  const messagesOk = value.messages === undefined ? undefined : checkMessages(value.messages, issues);
  const example = value as unknown as TrainingExample;

  if (format === "function_call") {
    if (messagesOk !== true) {
      if (messagesOk === undefined) issues.push({ field: "messages", problem: "is missing (a function-call example is its messages)" });
      return issues;
    }
    const messages = example.messages as ChatMessage[];
    const last = messages[messages.length - 1];
    if (last.role !== "assistant") {
      issues.push({ field: `messages[${messages.length - 1}]`, problem: "the last message must be the assistant's JSON call" });
      return issues;
    }
    const parsed = parseFunctionCall(last.content, { strict: true });
    if (!parsed.ok) issues.push({ field: `messages[${messages.length - 1}].content`, problem: `not one JSON call: ${parsed.message}` });
    else {
      checkCalledTools([parsed.call.name], example, issues);
      const pinned = example.expected_calls?.[0];
      if (pinned !== undefined && canonicalJson(pinned as unknown as JsonValue) !== canonicalJson(parsed.call as unknown as JsonValue)) {
        issues.push({ field: "expected_calls[0]", problem: "differs from the call in the messages" });
      }
    }
    return issues;
  }

  let steps = stepsOk === true ? example.steps : undefined;
  if (messagesOk === true) {
    const parsed = parseMessages(example.messages as ChatMessage[], { strict: true });
    if (!parsed.ok) issues.push({ field: "messages", problem: `step ${parsed.step}: ${parsed.message} (${parsed.kind})` });
    else {
      const last = parsed.trajectory.steps[parsed.trajectory.steps.length - 1];
      if (last === undefined || last.kind !== "answer") issues.push({ field: "messages", problem: "the conversation must end with an Answer" });
      if (typeof example.query === "string" && parsed.trajectory.query !== example.query) issues.push({ field: "messages", problem: "the user message differs from the query" });
      if (steps !== undefined && canonicalJson(steps as unknown as JsonValue) !== canonicalJson(parsed.trajectory.steps as unknown as JsonValue)) {
        issues.push({ field: "messages", problem: "the messages and the steps describe different trajectories" });
      }
      steps ??= parsed.trajectory.steps;
    }
  }
  if (steps !== undefined) {
    // An untrained (weight 0) call is a recovery trajectory's mistake, not one a correct run makes.
    checkCalledTools(
      steps.flatMap((s) => (s.kind === "action" && s.weight !== 0 ? [s.action.name] : [])),
      example,
      issues,
    );
  }
  return issues;
}

function checkCalledTools(called: string[], example: Task, issues: SchemaIssue[]): void {
  if (Array.isArray(example.expected_tools) && example.expected_tools.join("\u0000") !== called.join("\u0000")) {
    issues.push({ field: "expected_tools", problem: `is [${example.expected_tools.join(", ")}] but the trajectory calls [${called.join(", ")}]` });
  }
  if (Array.isArray(example.tools)) {
    const offered = new Set(example.tools);
    for (const name of called) {
      if (!offered.has(name)) issues.push({ field: "tools", problem: `the trajectory calls "${name}", which is not offered` });
    }
  }
}
