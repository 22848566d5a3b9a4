import { existsSync, statSync } from "node:fs";
import type { ChatModel } from "../agent/chat-model.js";
import type { AgentTools } from "../agent/tools.js";
import { InvalidInputError } from "../errors.js";
import { createServer, type ServeOptions } from "../serve/server.js";
import { type CommandIO, type CommandSpec, defineCommand, type FlagSpec, type FlagValues } from "./command.js";
import { deviceFlag } from "./device-flag.js";
import { ENGINE_NAMES, loadModelLazily, type ModelRequest } from "./load-model.js";

/** What the serve and demo commands need to open a model from their flags. */
export type ServeModelRequest = ModelRequest;

/** Dependencies of `serve` and `demo`, replaceable in tests. */
export interface ServeCommandDeps {
  loadModel(request: ServeModelRequest): Promise<ChatModel>;
  /** The tools of /v1/agent/run; default the built-in registry. */
  loadTools(): Promise<AgentTools>;
  /** Resolves when the server should stop; default on SIGINT or SIGTERM. */
  waitForStop(): Promise<void>;
}

const ENGINES = ENGINE_NAMES;

// Imported by name at run time so this command loads without the inference and tool modules until it runs.
const REGISTRY_MODULE = "../tools/registry.js";

const defaultLoadModel = loadModelLazily;

async function defaultLoadTools(): Promise<AgentTools> {
  const { createDefaultRegistry } = (await import(REGISTRY_MODULE)) as { createDefaultRegistry(): AgentTools };
  return createDefaultRegistry();
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

const DEFAULT_DEPS: ServeCommandDeps = { loadModel: defaultLoadModel, loadTools: defaultLoadTools, waitForStop: waitForSignal };

const FLAGS: Record<string, FlagSpec> = {
  model: { type: "string", description: "a GGUF file, a model folder or id, or a server's model name", placeholder: "model", aliases: ["model_id", "model-path"] },
  adapter: { type: "string", description: "a LoRA adapter to apply (PEFT folder or GGUF LoRA)", placeholder: "path", aliases: ["adapter_path"] },
  engine: { type: "string", description: `how to run the model: ${ENGINES.join(" | ")} (default: from --model and --base-url)`, placeholder: "engine" },
  "base-url": { type: "string", description: "an upstream OpenAI-compatible server (engine openai)", placeholder: "url" },
  device: { type: "string", description: "cpu or cuda: where the llama and own engines run", default: "cpu" },
  "upstream-key": { type: "string", description: "key for the upstream server", placeholder: "key" },
  port: { type: "number", description: "port to listen on (0: any free one)", default: 8080, aliases: ["server_port"] },
  host: { type: "string", description: "address to bind; other than 127.0.0.1 exposes the server to the network", default: "127.0.0.1", aliases: ["server_name"] },
  "api-key": { type: "string", description: "require `Authorization: Bearer <key>` on /v1 (default: $AGENTTUNE_API_KEY)", placeholder: "key" },
  "max-concurrency": { type: "number", description: "requests the model runs at once (our engine computes their replies together)", default: 1 },
  queue: { type: "number", description: "requests that may wait; past that the server answers 429", default: 16 },
  "max-body": { type: "number", description: "largest request body in bytes", default: 1048576 },
  "max-tokens": { type: "number", description: "largest max_tokens a request may ask for", default: 2048 },
  "max-steps": { type: "number", description: "largest max_steps an agent run may ask for", default: 16 },
  report: { type: "string", description: "an HTML report (agenttune report) served at /report and linked from the demo", placeholder: "file" },
};

function positive(flags: FlagValues, name: string): number {
  const value = flags[name] as number;
  if (!Number.isInteger(value) || value < (name === "queue" ? 0 : 1)) {
    throw new InvalidInputError(`--${name} must be a ${name === "queue" ? "non-negative" : "positive"} integer, got ${value}`, { field: name });
  }
  return value;
}

/** Builds `serve` (the API) or `demo` (the API and the web page). */
export function createServeCommand(kind: "serve" | "demo", deps: ServeCommandDeps = DEFAULT_DEPS): CommandSpec {
  return defineCommand({
    name: kind,
    summary:
      kind === "serve"
        ? "serve a model (and adapter) over an OpenAI-compatible API, with /v1/agent/run for the full agent loop"
        : "serve the web demo: ask a question and watch each Thought, Action and Observation live",
    flags: FLAGS,
    details:
      kind === "serve"
        ? `Routes: GET /v1/models, POST /v1/chat/completions (tools → ReAct; Actions come back as tool_calls;
stream: true for server-sent chunks), POST /v1/agent/run (the agent loop with the built-in tools, events as SSE),
GET /health. Binds 127.0.0.1 unless --host says otherwise. Stop with Ctrl-C (requests in flight get 5 s).
Examples:
  agenttune serve --model smollm2-135m-instruct --port 8080
  agenttune serve --model_id HuggingFaceTB/SmolLM2-135M-Instruct --adapter_path runs/smol/adapter --api-key secret`
        : `The page at / runs /v1/agent/run and shows every step as it streams, with per-step timing; with
--adapter a toggle compares the base model and the adapter side by side. Everything is served locally.
Examples:
  agenttune demo --model smollm2-135m-instruct
  agenttune demo --model_id HuggingFaceTB/SmolLM2-135M-Instruct --adapter_path runs/smol/adapter --report results/report.html`,
    async run(flags, _positionals, io: CommandIO) {
      const model = flags.model as string | undefined;
      if (model === undefined || model === "") {
        throw new InvalidInputError(`agenttune ${kind} needs --model`, { field: "model", hint: `e.g. agenttune ${kind} --model smollm2-135m-instruct` });
      }
      const engine = flags.engine as string | undefined;
      if (engine !== undefined && !ENGINES.includes(engine)) {
        throw new InvalidInputError(`--engine must be one of ${ENGINES.join(", ")}, got "${engine}"`, { field: "engine" });
      }
      const port = flags.port as number;
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidInputError(`--port must be 0-65535, got ${port}`, { field: "port" });
      const adapter = flags.adapter as string | undefined;
      const request: ServeModelRequest = {
        model,
        ...(engine === undefined ? {} : { engine }),
        ...(flags["base-url"] === undefined ? {} : { baseUrl: flags["base-url"] as string }),
        ...(flags["upstream-key"] === undefined ? {} : { apiKey: flags["upstream-key"] as string }),
        device: deviceFlag(flags.device),
        ...((flags["max-concurrency"] as number) > 1 ? { maxBatch: flags["max-concurrency"] as number } : {}),
      };
      if (flags.report !== undefined && !(existsSync(flags.report as string) && statSync(flags.report as string).isFile())) {
        throw new InvalidInputError(`the report ${String(flags.report)} does not exist`, { field: "report", hint: "make it with agenttune report, or leave --report out" });
      }
      io.err(`loading ${model}${adapter === undefined ? "" : ` with ${adapter}`}…\n`);
      const served = await deps.loadModel(adapter === undefined ? request : { ...request, adapter });
      // The demo compares the base model with the adapter; the API offers the base as "<name>:base".
      const baseModel = adapter === undefined ? undefined : await deps.loadModel(request);
      const options: ServeOptions = {
        model: served,
        modelName: model,
        ...(adapter === undefined ? {} : { adapter }),
        ...(baseModel === undefined ? {} : { baseModel }),
        tools: await deps.loadTools(),
        maxConcurrency: positive(flags, "max-concurrency"),
        maxQueue: positive(flags, "queue"),
        maxBodyBytes: positive(flags, "max-body"),
        limits: { maxTokens: positive(flags, "max-tokens"), maxSteps: positive(flags, "max-steps") },
        demo: kind === "demo",
        ...(engine === undefined ? {} : { engine }),
        ...(flags.report === undefined ? {} : { reportFile: flags.report as string }),
      };
      const apiKey = (flags["api-key"] as string | undefined) ?? process.env.AGENTTUNE_API_KEY;
      if (apiKey !== undefined && apiKey !== "") options.apiKey = apiKey;
      const server = createServer(options);
      const url = await server.listen(port, flags.host as string);
      io.out(`${kind === "demo" ? "demo" : "API"} at ${url}${kind === "demo" ? "/" : "/v1"}${options.apiKey === undefined ? "" : " (API key required)"}\n`);
      if (flags.host !== "127.0.0.1" && flags.host !== "localhost" && flags.host !== "::1" && options.apiKey === undefined) {
        io.err("warning: listening beyond loopback without --api-key\n");
      }
      await deps.waitForStop();
      io.err("stopping…\n");
      await server.close(5000);
      return 0;
    },
  });
}

export const serveCommand = createServeCommand("serve");
export const demoCommand = createServeCommand("demo");
