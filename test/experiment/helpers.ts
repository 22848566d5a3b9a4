// Stand-ins for the experiment tests: a fine-tuning that writes a log and an adapter at once,
// and scripted models whose skill depends on the adapter they are given.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChatMessage } from "../../src/agent/chat-model.js";
import { ScriptedModel } from "../../src/agent/scripted-model.js";
import type { Task } from "../../src/data/task.js";
import type { MachineInfo } from "../../src/experiment/machine.js";
import type { ModelRequest } from "../../src/infer/resolve.js";
import { exportPeftAdapter } from "../../src/train/export-peft.js";
import type { FinetuneOptions, FinetuneResult } from "../../src/train/finetune.js";
import { tasks as evalTasks } from "../eval/fixtures.js";
import { tinyAdapter } from "../train/tiny-adapter.js";

export const MACHINE: MachineInfo = { cpu: "Test CPU 9000", cores: 2, memoryGiB: 8, os: "Linux 6.1", node: "v20.0.0" };

/** One task that needs get_weather, one that needs no tool (the evaluation tests' last two). */
export const TASKS: Task[] = evalTasks.filter((t) => t.id === "weather-oslo" || t.id === "capital");

/** Writes TASKS as a JSONL task file. */
export function writeTasks(file: string): string {
  writeFileSync(file, `${TASKS.map((t) => JSON.stringify(t)).join("\n")}\n`);
  return file;
}

/** Solves both TASKS. */
export function competent(messages: ChatMessage[]): string {
  const query = messages.find((m) => m.role === "user")?.content ?? "";
  const turn = messages.filter((m) => m.role === "assistant").length;
  if (query.includes("Oslo")) {
    return turn === 0 ? 'Thought: I need the weather.\nAction: {"name": "get_weather", "arguments": {"city": "Oslo"}}' : "Thought: I have it.\nAnswer: Oslo is cloudy today.";
  }
  return "Thought: I know this.\nAnswer: Paris.";
}

/**
 * Opens a scripted model: competent when `skilled(request)` says so, else one that writes
 * neither an Action nor an Answer. Records every request.
 */
export function scriptedOpener(skilled: (r: ModelRequest) => boolean, opened: ModelRequest[] = []) {
  return async (request: ModelRequest) => {
    opened.push(request);
    return new ScriptedModel({ id: request.model, script: (m: ChatMessage[]) => (skilled(request) ? competent(m) : "I am not sure what to do.") });
  };
}

/**
 * A fine-tuning stand-in: writes a falling loss curve (one line a step, epochs filled in) and
 * the tiny adapter, as finetune() does, and records its options.
 */
export function fakeFinetune(calls: FinetuneOptions[] = []) {
  return async (o: FinetuneOptions): Promise<FinetuneResult> => {
    calls.push(o);
    mkdirSync(o.outputDir, { recursive: true });
    const epochs = o.epochs ?? 3;
    const total = Math.ceil(o.examples.length / (o.gradAccum ?? 1)) * epochs;
    const steps = Math.min(total, o.maxSteps ?? total);
    const seed = o.lora?.seed ?? 0;
    const lines = Array.from({ length: steps }, (_, i) => ({ step: i + 1, epoch: ((i + 1) / total) * epochs, loss: 2 / (i + 1) + seed * 0.1, lr: 2e-4, grad_norm: 1, tokens: 200, tokens_per_s: 1000, elapsed_s: (i + 1) * 0.2 }));
    const logFile = join(o.outputDir, "train_log.jsonl");
    writeFileSync(logFile, lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
    const adapterDir = join(o.outputDir, "adapter");
    exportPeftAdapter(adapterDir, tinyAdapter());
    mkdirSync(join(o.outputDir, "checkpoint"), { recursive: true });
    return { steps, totalSteps: total, finalLoss: lines.at(-1)?.loss ?? Number.NaN, logFile, checkpointDir: join(o.outputDir, "checkpoint"), adapterDir, examples: o.examples.length };
  };
}
