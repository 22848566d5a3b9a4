// A Hugging Face model folder (SPECS §5): config.json, tokenizer files, chat template,
// generation_config.json and safetensors weights (single or sharded), gathered into one descriptor.

import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { FileFormatError, InvalidInputError } from "../errors.js";
import { checkWeightShapes, configFromHf, type ModelConfig } from "./config.js";
import { openSafetensorsModel, type TensorSource } from "./safetensors.js";

/** Everything AgentTune needs from a Hugging Face model folder. */
export interface HfModelFolder {
  readonly dir: string;
  /** config.json as parsed. */
  readonly rawConfig: Readonly<Record<string, unknown>>;
  /** The architecture config (throws UnsupportedModelError on load when unsupported). */
  readonly config: ModelConfig;
  /** Path of tokenizer.json, when present. */
  readonly tokenizerPath: string | undefined;
  /** tokenizer_config.json as parsed, when present. */
  readonly tokenizerConfig: Readonly<Record<string, unknown>> | undefined;
  /** The chat template: chat_template.jinja, else tokenizer_config.json's `chat_template` ("default" of a list). */
  readonly chatTemplate: string | undefined;
  /** generation_config.json as parsed, when present. */
  readonly generationConfig: Readonly<Record<string, unknown>> | undefined;
  /** End-of-sequence ids from config.json and generation_config.json together. */
  readonly eosTokenIds: readonly number[];
  /** model.safetensors or model.safetensors.index.json. */
  readonly weightsPath: string;
  /**
   * Opens the weights lazily (one file handle per shard) after checking every tensor the
   * config needs is there with its shape (FileFormatError otherwise); close it when done.
   */
  openWeights(): TensorSource;
}

function readJson(path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new FileFormatError({ file: path, problem: `is not valid JSON (${(error as Error).message})`, hint: "fetch the model files again", cause: error });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new FileFormatError({ file: path, problem: "is not a JSON object" });
  return value as Record<string, unknown>;
}

function optionalJson(path: string): Record<string, unknown> | undefined {
  return existsSync(path) ? readJson(path) : undefined;
}

function templateFrom(tokenizerConfig: Record<string, unknown> | undefined, file: string): string | undefined {
  const t = tokenizerConfig?.chat_template;
  if (t === undefined || t === null) return undefined;
  if (typeof t === "string") return t;
  if (Array.isArray(t)) {
    // Several named templates: [{name, template}]; the "default" one is the chat template.
    const entries = t as { name?: unknown; template?: unknown }[];
    const chosen = entries.find((e) => e?.name === "default") ?? entries[0];
    if (typeof chosen?.template === "string") return chosen.template;
  }
  throw new FileFormatError({ file, location: "chat_template", problem: "is neither a string nor a list of {name, template}" });
}

const ids = (v: unknown): number[] => (typeof v === "number" ? [v] : Array.isArray(v) ? v.filter((x): x is number => typeof x === "number") : []);

/**
 * Reads a Hugging Face model folder. Throws InvalidInputError when `dir` is not a folder,
 * FileFormatError naming the file when config.json or the weights are missing or malformed,
 * and UnsupportedModelError when the architecture is not supported.
 */
export function loadHfFolder(dir: string): HfModelFolder {
  const root = resolve(dir);
  if (!existsSync(root)) throw new InvalidInputError(`model folder ${root} does not exist`, { hint: "pass a Hugging Face model folder, an ORG/NAME id, or a .gguf file" });
  const configPath = join(root, "config.json");
  if (!existsSync(configPath)) {
    throw new FileFormatError({ file: root, problem: "has no config.json", hint: "a Hugging Face model folder holds config.json, tokenizer.json and safetensors weights" });
  }
  const rawConfig = readJson(configPath);
  const config = configFromHf(rawConfig);
  const tokenizerConfigPath = join(root, "tokenizer_config.json");
  const tokenizerConfig = optionalJson(tokenizerConfigPath);
  const jinja = join(root, "chat_template.jinja");
  const chatTemplate = existsSync(jinja) ? readFileSync(jinja, "utf8") : templateFrom(tokenizerConfig, tokenizerConfigPath);
  const generationConfig = optionalJson(join(root, "generation_config.json"));
  const index = join(root, "model.safetensors.index.json");
  const single = join(root, "model.safetensors");
  const weightsPath = existsSync(index) ? index : existsSync(single) ? single : undefined;
  if (weightsPath === undefined) {
    throw new FileFormatError({
      file: root,
      problem: "has neither model.safetensors nor model.safetensors.index.json",
      hint: "AgentTune reads safetensors weights; convert .bin weights or fetch the safetensors files",
    });
  }
  const tokenizerPath = existsSync(join(root, "tokenizer.json")) ? join(root, "tokenizer.json") : undefined;
  const eosTokenIds = [...new Set([...config.eosTokenIds, ...ids(generationConfig?.eos_token_id)])];
  return {
    dir: root,
    rawConfig,
    config,
    tokenizerPath,
    tokenizerConfig,
    chatTemplate,
    generationConfig,
    eosTokenIds,
    weightsPath,
    openWeights: () => {
      const source = openSafetensorsModel(weightsPath);
      try {
        checkWeightShapes(weightsPath, new Map(source.tensors.map((t) => [t.name, t.shape])), config);
      } catch (error) {
        source.close();
        throw error;
      }
      return source;
    },
  };
}
