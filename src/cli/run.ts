import type { ChatModel } from "../agent/chat-model.js";
import { streamAgent } from "../agent/run-agent.js";
import type { AgentTools } from "../agent/tools.js";
import type { AgentEvent, AgentResult } from "../agent/types.js";
import { AgentTuneError, InvalidInputError } from "../errors.js";
import { renderAction, renderObservation } from "../react/render.js";
import { type CommandIO, type CommandSpec, defineCommand, type FlagValues } from "./command.js";
import { deviceFlag } from "./device-flag.js";
import { ENGINE_NAMES, loadModelLazily, type ModelRequest } from "./load-model.js";

/** What the run command needs to open a model from its flags. */
export type RunModelRequest = ModelRequest;

/** The tools of one run and how to let them go (MCP servers stop on close). */
export interface RunTools {
  tools: AgentTools;
  close(): Promise<void>;
}

/** Dependencies of the run command, replaceable in tests. */
export interface RunCommandDeps {
  loadModel(request: RunModelRequest): Promise<ChatModel>;
  /** The built-in tools plus the user's tool files and MCP servers. */
  openTools(options: { files: string[]; mcp: string[] }): Promise<RunTools>;
  /** Calls `cancel` on Ctrl-C; returns the function that stops listening. Default: SIGINT. */
  onInterrupt?(cancel: () => void): () => void;
}

const ENGINES = ENGINE_NAMES;

// Imported by name at run time: the engines and tools load only when the command runs.
const TOOL_SET_MODULE = "../tools/tool-set.js";

const defaultLoadModel = loadModelLazily;

async function defaultOpenTools(options: { files: string[]; mcp: string[] }): Promise<RunTools> {
  const { openToolSet } = (await import(TOOL_SET_MODULE)) as typeof import("../tools/tool-set.js");
  const set = await openToolSet({ builtins: true, files: options.files, mcp: options.mcp });
  return { tools: set.registry, close: set.close };
}

function onSigint(cancel: () => void): () => void {
  process.once("SIGINT", cancel);
  return () => process.removeListener("SIGINT", cancel);
}

const DEFAULT_DEPS: RunCommandDeps = { loadModel: defaultLoadModel, openTools: defaultOpenTools, onInterrupt: onSigint };

function whole(flags: FlagValues, name: string, min: number): number {
  const value = flags[name] as number;
  if (!Number.isInteger(value) || value < min) throw new InvalidInputError(`--${name} must be a whole number of at least ${min}, got ${value}`, { field: name });
  return value;
}

/** The human-readable lines of one event (nothing for `done`; the summary goes to stderr). */
export function formatEvent(event: AgentEvent): string {
  switch (event.type) {
    case "thought":
      return `Thought: ${event.text}\n`;
    case "action":
      return `Action: ${renderAction(event.call)}\n`;
    case "observation":
      return `${renderObservation(event.observation)}\n`;
    case "answer":
      return `Answer: ${event.text}\n`;
    case "error": {
      const line = `Error (${event.kind}): ${event.message}${event.recovered ? " — sent back to the model as the Observation" : ""}\n`;
      // A malformed Action is shown as the model wrote it (its Thought is already printed). For
      // no_answer the parser's thought is the whole reply, so there is nothing more to show.
      const raw = event.kind === "malformed_action" ? event.raw?.trim() : undefined;
      if (!raw) return line;
      const at = raw.search(/^Action\s*:/m);
      return `${line}${(at >= 0 ? raw.slice(at) : raw).replace(/^/gm, "  | ")}\n`;
    }
    case "done":
      return "";
  }
}

/** The JSONL line of one event; `done` carries the outcome without the prompt and raw replies. */
export function eventJson(event: AgentEvent): string {
  if (event.type !== "done") return `${JSON.stringify(event)}\n`;
  const r: AgentResult = event.result;
  return `${JSON.stringify({
    type: "done",
    status: r.status,
    ...(r.answer === undefined ? {} : { answer: r.answer }),
    steps: r.steps,
    toolCalls: r.toolCalls,
    failures: r.failures,
    trajectory: r.trajectory,
    elapsedMs: Math.round(r.elapsedMs),
  })}\n`;
}

/** Builds the `run` command over the given model loader and tools. */
export function createRunCommand(deps: RunCommandDeps = DEFAULT_DEPS): CommandSpec {
  return defineCommand({
    name: "run",
    summary: "run the agent on one question and print each Thought, Action, Observation and the Answer as they happen",
    positionals: ['"<query>"'],
    flags: {
      model: { type: "string", description: "a GGUF file, a catalog name, a model folder or ORG/NAME id, or a server's model name", placeholder: "model", aliases: ["model_id", "model-path"] },
      engine: { type: "string", description: `how to run the model: ${ENGINES.join(" | ")} (default: openai with --base-url, llama for a .gguf, own for a folder)`, placeholder: "engine" },
      adapter: { type: "string", description: "a LoRA adapter: a GGUF LoRA file (llama) or a PEFT folder (own)", placeholder: "path", aliases: ["adapter_path"] },
      "base-url": { type: "string", description: "an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1", placeholder: "url" },
      device: { type: "string", description: "cpu or cuda: where the llama and own engines run", default: "cpu" },
      "api-key": { type: "string", description: "key for the server (default: $OPENAI_API_KEY)", placeholder: "key" },
      tools: { type: "string", multiple: true, description: "a user tool file (.json, .js, .mjs, .ts) added to the built-ins; repeatable", placeholder: "file" },
      mcp: { type: "string", multiple: true, description: "an MCP server to start over stdio, as one command line; repeatable", placeholder: '"cmd args"' },
      "max-steps": { type: "number", description: "model replies allowed before the run ends with step_limit", default: 8 },
      "max-tokens": { type: "number", description: "tokens a reply may have", default: 256, aliases: ["max_new_tokens"] },
      temperature: { type: "number", description: "sampling temperature (0: greedy)", default: 0 },
      seed: { type: "number", description: "seed of the sampler and the tool simulators", default: 0 },
      json: { type: "boolean", description: "print the events as JSON lines instead of text" },
    },
    details: `Each step prints as it happens: "Thought: …", "Action: {json}", "Observation: {json}", "Answer: …";
a failure prints as "Error (<kind>): <message>" (malformed_action, unknown_tool, invalid_arguments,
tool_error are sent back to the model and the run goes on; loop, no_answer and step_limit end it).
With --json every event is one JSON object a line, the last {"type": "done", "status", …}.
Loading messages and the outcome go to stderr. Ctrl-C cancels the run (a second Ctrl-C quits at once).
Exit code: 0 when the run ends in an Answer, 1 when it ends without one (or the model fails),
130 when cancelled, 2 for bad flags or files.
Examples:
  agenttune run "What's the weather in Tokyo? If it's cold, recommend a ramen place." --model smollm2-135m-instruct
  agenttune run "What is 17% of 240?" --model smollm2-135m-instruct --engine own --adapter runs/smol/adapter
  agenttune run "Convert 100 USD to EUR" --engine openai --base-url http://127.0.0.1:8080/v1 --model qwen2.5-3b --json`,
    async run(flags, positionals, io: CommandIO) {
      const query = positionals.join(" ").trim();
      if (query === "") throw new InvalidInputError("agenttune run needs a question", { hint: 'e.g. agenttune run "What\'s the weather in Tokyo?" --model smollm2-135m-instruct' });
      const model = flags.model as string | undefined;
      if (model === undefined || model === "") throw new InvalidInputError("agenttune run needs --model", { field: "model", hint: "e.g. --model smollm2-135m-instruct (agenttune models list shows the catalog)" });
      const engine = flags.engine as string | undefined;
      if (engine !== undefined && !ENGINES.includes(engine)) throw new InvalidInputError(`--engine must be one of ${ENGINES.join(", ")}, got "${engine}"`, { field: "engine" });
      const maxSteps = whole(flags, "max-steps", 1);
      const maxTokens = whole(flags, "max-tokens", 1);
      const seed = whole(flags, "seed", 0);
      const temperature = flags.temperature as number;
      if (!(temperature >= 0)) throw new InvalidInputError(`--temperature must be 0 or more, got ${temperature}`, { field: "temperature" });
      const adapter = flags.adapter as string | undefined;
      const baseUrl = flags["base-url"] as string | undefined;
      const apiKey = (flags["api-key"] as string | undefined) ?? process.env.OPENAI_API_KEY;
      const json = flags.json === true;

      const tools = await deps.openTools({ files: (flags.tools as string[] | undefined) ?? [], mcp: (flags.mcp as string[] | undefined) ?? [] });
      let chatModel: ChatModel | undefined;
      const controller = new AbortController();
      const stopListening = (deps.onInterrupt ?? onSigint)(() => {
        io.err("\ncancelling…\n");
        controller.abort();
      });
      try {
        io.err(`loading ${model}${adapter === undefined ? "" : ` with ${adapter}`}…\n`);
        chatModel = await deps.loadModel({
          model,
          ...(adapter === undefined ? {} : { adapter }),
          ...(engine === undefined ? {} : { engine }),
          ...(baseUrl === undefined ? {} : { baseUrl }),
          ...(apiKey === undefined ? {} : { apiKey }),
          device: deviceFlag(flags.device),
        });
        if (controller.signal.aborted) return 130;
        let result: AgentResult | undefined;
        for await (const event of streamAgent({
          model: chatModel,
          tools: tools.tools,
          query,
          maxSteps,
          seed,
          signal: controller.signal,
          generate: { temperature, maxTokens, seed },
        })) {
          io.out(json ? eventJson(event) : formatEvent(event));
          if (event.type === "done") result = event.result;
        }
        if (result === undefined) throw new AgentTuneError("the agent stopped without a result");
        const seconds = (result.elapsedMs / 1000).toFixed(1);
        if (result.status === "answered") {
          io.err(`answered in ${result.steps} step${result.steps === 1 ? "" : "s"} (${seconds} s)\n`);
          return 0;
        }
        if (result.status === "aborted") {
          io.err(`cancelled after ${result.steps} step${result.steps === 1 ? "" : "s"}\n`);
          return 130;
        }
        io.err(`ended without an answer: ${result.status} after ${result.steps} step${result.steps === 1 ? "" : "s"} (${seconds} s)\n`);
        return 1;
      } finally {
        stopListening();
        await chatModel?.dispose?.();
        await tools.close();
      }
    },
  });
}

/** `agenttune run "<query>"`: one agent episode, printed live. */
export const runCommand = createRunCommand();
