import { existsSync } from "node:fs";
import { join } from "node:path";
import { cacheDir } from "../../src/model/cache-dir.js";

/**
 * Real weights for tests (SPECS §8). `npm run fetch-models` puts them in the cache; a test that
 * needs one passes `{ skip: SKIP_NO_SMOLLM2 }` so it says why it did not run.
 */
export const SMOLLM2_GGUF_PATH = join(cacheDir(), "models", "smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf");
export const SMOLLM2_GGUF: string | undefined = existsSync(SMOLLM2_GGUF_PATH) ? SMOLLM2_GGUF_PATH : undefined;
export const SKIP_NO_SMOLLM2: string | false =
  SMOLLM2_GGUF === undefined ? `SmolLM2-135M-Instruct GGUF not found at ${SMOLLM2_GGUF_PATH}; run \`npm run fetch-models\`` : false;

export const GEMMA3_GGUF_PATH = join(cacheDir(), "models", "gemma3-270m", "gemma-3-270m-Q4_K_M.gguf");
export const GEMMA3_GGUF: string | undefined = existsSync(GEMMA3_GGUF_PATH) ? GEMMA3_GGUF_PATH : undefined;
export const SKIP_NO_GEMMA3: string | false =
  GEMMA3_GGUF === undefined ? `Gemma-3-270M GGUF not found at ${GEMMA3_GGUF_PATH}; run \`npm run fetch-models\`` : false;
