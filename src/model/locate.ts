// Where a model named on the command line lives, and its tokenizer and chat template: a catalog
// name (SPECS §8), a .gguf file, a Hugging Face folder, or an ORG/NAME id (HF cache, else the hub).

import { existsSync, statSync } from "node:fs";
import { AgentTuneError, FileFormatError } from "../errors.js";
import { findCatalogModel, resolveModel as resolveCatalogFile } from "./catalog.js";
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

/** Resolves `ref` (catalog name, .gguf path, folder, ORG/NAME) to files on disk. */
export async function locateModel(ref: string): Promise<ModelLocation> {
  if (findCatalogModel(ref) !== undefined) return { kind: "gguf", path: resolveCatalogFile(ref) };
  if (existsSync(ref)) {
    const st = statSync(ref);
    if (st.isDirectory()) return { kind: "hf", path: ref };
    if (ref.toLowerCase().endsWith(".gguf")) return { kind: "gguf", path: ref };
    throw new AgentTuneError(`${ref} is a file but not a .gguf model`, { hint: "pass a .gguf file, a Hugging Face model folder, an ORG/NAME id or a catalog name (agenttune models list)", exitCode: 2 });
  }
  if (isModelId(ref)) return { kind: "hf", path: await resolveModelFolder(ref) };
  // resolveCatalogFile throws the error that lists the catalog
  return { kind: "gguf", path: resolveCatalogFile(ref) };
}

/** A model's text side: its tokenizer and chat template (undefined when the files carry none). */
export interface ModelText {
  tokenizer: Tokenizer;
  chatTemplate: string | undefined;
}

/** Reads the tokenizer and chat template only (no weights). */
export function readModelText(loc: ModelLocation): ModelText {
  if (loc.kind === "gguf") {
    const file = openGguf(loc.path);
    try {
      const tokenizer = tokenizerFromGguf(file.metadata, loc.path);
      return { tokenizer, chatTemplate: tokenizer.chatTemplate };
    } finally {
      file.close();
    }
  }
  const folder = loadHfFolder(loc.path);
  if (folder.tokenizerPath === undefined) throw new FileFormatError({ file: folder.dir, problem: "has no tokenizer.json", hint: "AgentTune reads fast tokenizers (tokenizer.json): copy the model's tokenizer.json (and tokenizer_config.json) into the folder" });
  const tokenizer = loadTokenizerJson(folder.tokenizerPath, folder.chatTemplate !== undefined ? { chatTemplate: folder.chatTemplate } : {});
  return { tokenizer, chatTemplate: folder.chatTemplate ?? tokenizer.chatTemplate };
}

/** Reads every weight as f32 on the host. */
export function readHostModel(loc: ModelLocation): HostModel {
  return loc.kind === "gguf" ? hostModelFromGguf(loc.path) : hostModelFromHfFolder(loc.path);
}
