// From the CLI's --model / --adapter / --engine / --base-url to a ChatModel: which engine runs the
// model, where its files are (catalog names, paths, hub ids), and whether the adapter is of the
// kind that engine applies. The engines load lazily: only the one chosen is imported.

import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ChatModel } from "../agent/chat-model.js";
import { InvalidInputError } from "../errors.js";
import { openGguf } from "../model/gguf.js";
import { hasGgufMagic, type LocateOptions, locateModel, ModelPathError } from "../model/locate.js";

export { ModelPathError };

/** The engines a model can run on: node-llama-cpp, an OpenAI-compatible server, our own engine. */
export const ENGINES = ["llama", "openai", "own"] as const;
export type EngineName = (typeof ENGINES)[number];

/** What the CLI asks for (the flags of eval, serve, demo and run). */
export interface ModelRequest {
  /** A `.gguf` file, a model folder, a catalog name, an `ORG/NAME` hub id, or (engine openai) the server's model name. */
  model: string;
  /** A GGUF LoRA file (either engine) or a PEFT adapter folder (own). */
  adapter?: string;
  /** llama | openai | own; default openai with a base URL, llama for a .gguf, own for a folder or id. */
  engine?: string;
  /** An OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1. */
  baseUrl?: string;
  apiKey?: string;
  /** Where the llama and own engines run: cpu (default) or cuda (own: the CUDA backend; llama: its GPU build). */
  device?: "cpu" | "cuda";
  /** KV cache / context size in tokens (llama and own). */
  contextSize?: number;
  /** Own engine: replies computed together (one KV cache each). Default 4. */
  maxBatch?: number;
}

/** Where the model runs and from which files. */
export type ModelPlan =
  | { engine: "llama"; modelPath: string; loraPath?: string }
  | { engine: "own"; modelPath: string; adapterPath?: string }
  | { engine: "openai"; baseURL: string; model: string; apiKey?: string };

/** --engine names no engine. */
export class UnknownEngineError extends InvalidInputError {
  constructor(engine: string) {
    super(`unknown engine "${engine}"`, { field: "engine", hint: `use one of ${ENGINES.join(", ")} (llama: node-llama-cpp on a GGUF; own: AgentTune's engine; openai: a server at --base-url)` });
  }
}

/** The adapter is not of the kind the chosen engine applies. */
export class AdapterKindError extends InvalidInputError {
  constructor(message: string, hint: string) {
    super(message, { field: "adapter", hint });
  }
}

/** Options of `planModel` and `resolveModel`, mostly for tests: the cache folder and the environment (also for OPENAI_API_KEY). */
export type ResolveOptions = Omit<LocateOptions, "hubIds">;

/**
 * Decides the engine and checks the files, without loading anything (a hub id on the own
 * engine is downloaded unless cached or $HF_HUB_OFFLINE is set). Throws UnknownEngineError,
 * AdapterKindError, ModelPathError, ModelNotFetchedError (a catalog model not fetched yet), or
 * InvalidInputError for flags that do not go together.
 */
export async function planModel(request: ModelRequest, options: ResolveOptions = {}): Promise<ModelPlan> {
  const asked = request.engine;
  if (asked !== undefined && !(ENGINES as readonly string[]).includes(asked)) throw new UnknownEngineError(asked);
  const baseUrl = request.baseUrl;
  if (asked === "openai" || (asked === undefined && baseUrl !== undefined)) {
    if (baseUrl === undefined || baseUrl === "") {
      throw new InvalidInputError("--engine openai needs --base-url", { field: "base-url", hint: "e.g. --base-url http://127.0.0.1:8080/v1 (llama-server, vLLM, Ollama's /v1, …)" });
    }
    if (request.adapter !== undefined) {
      throw new AdapterKindError("an adapter cannot be applied to a model on an OpenAI-compatible server", "load the adapter in the server and pass its model name with --model, or run locally with --engine own or llama");
    }
    const apiKey = request.apiKey ?? (options.env ?? process.env).OPENAI_API_KEY;
    return { engine: "openai", baseURL: baseUrl, model: request.model, ...(apiKey === undefined || apiKey === "" ? {} : { apiKey }) };
  }
  if (baseUrl !== undefined) {
    throw new InvalidInputError(`--base-url is for --engine openai, not ${asked}`, { field: "base-url", hint: "leave out --engine (or pass --engine openai) to use the server, or leave out --base-url to run locally" });
  }
  const located = await locateModel(request.model, { ...options, hubIds: asked !== "llama" });
  const engine: "llama" | "own" = asked === "llama" || asked === "own" ? asked : located.kind === "gguf" ? "llama" : "own";
  if (engine === "llama" && located.kind === "hf") {
    throw new ModelPathError(located.path, "is a model folder; node-llama-cpp runs GGUF files", { field: "model", hint: "use --engine own for a Hugging Face folder, or pass a .gguf file" });
  }
  const adapter = request.adapter;
  if (adapter === undefined) return { engine, modelPath: located.path };
  if (!existsSync(adapter)) {
    throw new ModelPathError(adapter, "does not exist", {
      field: "adapter",
      hint: engine === "llama" ? "pass a GGUF LoRA file (agenttune export --format gguf-lora)" : "pass the PEFT adapter folder agenttune train wrote (<output-dir>/adapter)",
    });
  }
  const isFolder = statSync(adapter).isDirectory();
  if (!isFolder) {
    // a GGUF LoRA: node-llama-cpp applies it; our engine reads it back and merges it
    checkGgufLora(adapter);
    return engine === "llama" ? { engine, modelPath: located.path, loraPath: adapter } : { engine, modelPath: located.path, adapterPath: adapter };
  }
  if (engine === "llama") {
    throw new AdapterKindError(
      `${adapter} is a folder (a PEFT adapter); node-llama-cpp applies GGUF LoRA files`,
      `add --engine own to merge the PEFT adapter on AgentTune's engine, or convert it: agenttune export --adapter ${adapter} --format gguf-lora --base ${located.path} --out adapter.gguf`,
    );
  }
  if (!existsSync(join(adapter, "adapter_config.json"))) {
    throw new AdapterKindError(`${adapter} has no adapter_config.json: not a PEFT adapter folder`, "pass the folder that holds adapter_config.json and adapter_model.safetensors");
  }
  return { engine, modelPath: located.path, adapterPath: adapter };
}

/** Refuses a file that is not a GGUF LoRA adapter, saying what it is. */
function checkGgufLora(adapter: string): void {
  if (!hasGgufMagic(adapter)) throw new AdapterKindError(`${adapter} is not a GGUF file`, "pass a GGUF LoRA file (agenttune export --format gguf-lora) or a PEFT adapter folder");
  const file = openGguf(adapter);
  const type = file.metadata["general.type"];
  file.close();
  if (type !== "adapter") {
    throw new AdapterKindError(`${adapter} is a GGUF ${type === undefined ? "without general.type" : `of type "${String(type)}"`}, not a LoRA adapter`, "pass the GGUF LoRA file (general.type adapter) written by agenttune export --format gguf-lora");
  }
}

/**
 * Opens the planned model: node-llama-cpp (its GGUF header checked now, the weights loaded on the
 * first call), an OpenAI-compatible client, or our engine (loaded now). A damaged model file
 * throws FileFormatError naming it.
 */
export async function openPlannedModel(plan: ModelPlan, request: Pick<ModelRequest, "contextSize" | "device" | "maxBatch"> = {}): Promise<ChatModel> {
  if (plan.engine === "openai") {
    const { OpenAICompatibleModel } = await import("./openai-compatible.js");
    return new OpenAICompatibleModel({ baseURL: plan.baseURL, model: plan.model, ...(plan.apiKey === undefined ? {} : { apiKey: plan.apiKey }) });
  }
  if (plan.engine === "llama") {
    // node-llama-cpp loads the weights on the first call; reading the header now makes a damaged
    // or truncated file fail here, naming it, and not on every request of a server that started
    openGguf(plan.modelPath).close();
    const { LlamaCppModel } = await import("./llama-cpp.js");
    return new LlamaCppModel({
      modelPath: plan.modelPath,
      ...(plan.loraPath === undefined ? {} : { loraPath: plan.loraPath }),
      ...(request.device === "cuda" ? { gpu: "auto" as const } : {}),
      ...(request.contextSize === undefined ? {} : { contextSize: request.contextSize }),
    });
  }
  const { EngineChatModel } = await import("./engine-model.js");
  // the CUDA backend loads only when asked for: koffi and the driver stay untouched otherwise
  const backend = request.device === "cuda" ? (await import("../engine/cuda/backend.js")).createCudaBackend() : undefined;
  return EngineChatModel.load({
    ...(backend === undefined ? {} : { backend }),
    model: plan.modelPath,
    ...(plan.adapterPath === undefined ? {} : { adapter: plan.adapterPath }),
    ...(request.contextSize === undefined ? {} : { contextSize: request.contextSize }),
    ...(request.maxBatch === undefined ? {} : { maxBatch: request.maxBatch }),
  });
}

/**
 * The ChatModel for a CLI request (`planModel`, then `openPlannedModel`). Our engine loads its
 * weights here, so a bad adapter fails now; node-llama-cpp reads the model's GGUF header here and
 * loads the weights on the first call.
 */
export async function resolveModel(request: ModelRequest, options: ResolveOptions = {}): Promise<ChatModel> {
  return openPlannedModel(await planModel(request, options), request);
}
