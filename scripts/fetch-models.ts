/**
 * `npm run fetch-models [-- --all]`: puts the real test models (SPECS §8) in the cache.
 * Default: SmolLM2-135M-Instruct only; --all adds Gemma-3-270M.
 */
import { fetchModelsWithProgress } from "../src/cli/models.js";
import { describeError } from "../src/errors.js";
import { MODEL_CATALOG } from "../src/model/catalog.js";

const all = process.argv.includes("--all");
const models = MODEL_CATALOG.filter((m) => all || m.default);
try {
  await fetchModelsWithProgress(models, {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    interactive: Boolean(process.stderr.isTTY),
  });
} catch (error) {
  process.stderr.write(`${describeError(error)}\n`);
  process.exitCode = 1;
}
