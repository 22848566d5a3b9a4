// Where a model named on the command line lives, and its tokenizer and chat template: a catalog
// name (SPECS §8), a .gguf file, a Hugging Face folder, or an ORG/NAME id (HF cache, else the hub).

import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { FileFormatError, InvalidInputError } from "../errors.js";
import { cacheDir } from "./cache-dir.js";
import { findCatalogModel, MODEL_CATALOG, resolveModel as resolveCatalogFile } from "./catalog.js";
import { openGguf } from "./gguf.js";
import { loadHfFolder } from "./hf-folder.js";
import { isModelId, resolveModelFolder } from "./hf-hub.js";
import { type HostModel, hostModelFromGguf, hostModelFromHfFolder } from "./host-weights.js";
import { loadTokenizerJson, type Tokenizer, tokenizerFromGguf } from "./tokenizer.js";

/** A model on disk: one GGUF file or one Hugging Face folder. */
export interface ModelLocation {
  kind: "gguf" | "hf";
  path: string;
}

/** A model or adapter path that does not exist, or is not what it must be. */
export class ModelPathError extends InvalidInputError {
  readonly path: string;
  constructor(path: string, problem: string, options: { field: "model" | "adapter"; hint: string }) {
    super(`${options.field} ${path}: ${problem}`, { field: options.field, hint: options.hint });
    this.path = path;
  }
}

export interface LocateOptions {
  /** The AgentTune cache (catalog models); default `cacheDir()`. */
  cacheDir?: string;
  /** Environment for the Hugging Face cache and hub; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Whether an ORG/NAME id may name a hub model (downloaded unless cached). Default true. */
  hubIds?: boolean;
}

/** True when the file starts with the GGUF magic bytes. */
export function hasGgufMagic(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && head.toString("latin1") === "GGUF";
  } finally {
    closeSync(fd);
  }
}

const CATALOG_HINT = `give a .gguf file, a Hugging Face model folder or ORG/NAME id, or one of: ${MODEL_CATALOG.map((m) => m.name).join(", ")}`;

/**
 * Resolves `ref` to files on disk: a catalog name's cached file (ModelNotFetchedError when not
 * fetched yet), an existing .gguf file (checked by its magic bytes) or model folder (with
 * config.json), or an ORG/NAME id (the Hugging Face cache, else the hub). Throws ModelPathError
 * naming the path and what is wrong with it.
 */
export async function locateModel(ref: string, options: LocateOptions = {}): Promise<ModelLocation> {
  if (findCatalogModel(ref) !== undefined) return { kind: "gguf", path: resolveCatalogFile(ref, options.cacheDir ?? cacheDir()) };
  if (existsSync(ref)) {
    if (statSync(ref).isDirectory()) {
      if (!existsSync(join(ref, "config.json"))) {
        throw new ModelPathError(ref, "is a folder without config.json", { field: "model", hint: "a Hugging Face model folder holds config.json, tokenizer.json and safetensors weights" });
      }
      return { kind: "hf", path: ref };
    }
    if (!hasGgufMagic(ref)) throw new ModelPathError(ref, "is not a GGUF file (it does not start with the bytes GGUF)", { field: "model", hint: CATALOG_HINT });
    return { kind: "gguf", path: ref };
  }
  // m/model.gguf has the form ORG/NAME too, but names a file that is not there
  if (isModelId(ref) && options.hubIds !== false && !/\.(gguf|safetensors|bin)$/i.test(ref)) {
    return { kind: "hf", path: await resolveModelFolder(ref, options.env === undefined ? {} : { env: options.env }) };
  }
  throw new ModelPathError(ref, "no such file, folder or catalog model", { field: "model", hint: CATALOG_HINT });
}

/** A model's text side: its tokenizer and chat template (undefined when the files carry none). */
export interface ModelText {
  tokenizer: Tokenizer;
  chatTemplate: string | undefined;
  /** End-of-sequence ids a model folder names (config and generation config); [] for a GGUF, whose config carries them. */
  eosTokenIds: readonly number[];
}

/** Reads the tokenizer and chat template only (no weights). */
export function readModelText(loc: ModelLocation): ModelText {
  if (loc.kind === "gguf") {
    const file = openGguf(loc.path);
    try {
      const tokenizer = tokenizerFromGguf(file.metadata, loc.path);
      return { tokenizer, chatTemplate: tokenizer.chatTemplate, eosTokenIds: [] };
    } finally {
      file.close();
    }
  }
  const folder = loadHfFolder(loc.path);
  if (folder.tokenizerPath === undefined) throw new FileFormatError({ file: folder.dir, problem: "has no tokenizer.json", hint: "AgentTune reads fast tokenizers (tokenizer.json): copy the model's tokenizer.json (and tokenizer_config.json) into the folder" });
  const tokenizer = loadTokenizerJson(folder.tokenizerPath, folder.chatTemplate !== undefined ? { chatTemplate: folder.chatTemplate } : {});
  return { tokenizer, chatTemplate: folder.chatTemplate ?? tokenizer.chatTemplate, eosTokenIds: folder.eosTokenIds };
}

/** Reads every weight as f32 on the host. */
export function readHostModel(loc: ModelLocation): HostModel {
  return loc.kind === "gguf" ? hostModelFromGguf(loc.path) : hostModelFromHfFolder(loc.path);
}
