import type { ChatModel } from "../agent/chat-model.js";
import type { AgentTools } from "../agent/tools.js";
import { writeJsonl } from "../data/jsonl.js";
import { SYNTH_DROP_REASONS, synthesize } from "../data/synth.js";
import { InvalidInputError } from "../errors.js";
import { type CommandSpec, defineCommand } from "./command.js";
import { optionalWholeFlag, wholeFlag } from "./flag-values.js";

/** Dependencies of `data synth`, replaceable in tests. */
export interface DataSynthDeps {
  /** Opens the writing model; default: the OpenAI-compatible client. */
  openModel?(options: { baseURL: string; apiKey?: string; model: string }): Promise<ChatModel>;
  tools?(): Promise<AgentTools>;
}

/** Builds the `data synth` command. */
export function createDataSynthCommand(deps: DataSynthDeps = {}): CommandSpec {
  return defineCommand({
    name: "data synth",
    summary: "ask a stronger model (any OpenAI-compatible API) for new verified trajectories",
    flags: {
      "base-url": { type: "string", description: "the server, e.g. http://127.0.0.1:8080/v1", placeholder: "url", aliases: ["api_base"] },
      "api-key": { type: "string", description: "key for the server (default: $OPENAI_API_KEY)", placeholder: "key" },
      model: { type: "string", description: "the model name on the server", placeholder: "name", aliases: ["model_id"] },
      n: { type: "number", description: "verified examples wanted", default: 50, aliases: ["samples", "num_samples"] },
      seed: { type: "number", description: "seeds the kinds asked for and the simulator seeds", default: 0 },
      concurrency: { type: "number", description: "requests at once", default: 4 },
      "max-attempts": { type: "number", description: "requests at most (default 3 × n + 10)", placeholder: "n" },
      temperature: { type: "number", description: "sampling temperature of the writing model", default: 0.8 },
      out: { type: "string", description: "output JSONL file", placeholder: "file", aliases: ["output", "output_file"] },
    },
    details: `Every Action is replayed against the simulators with the example's seed; the model's own
Observations are replaced by the replayed ones and the rest of the trajectory must agree with them.
Example:
  agenttune data synth --base-url http://127.0.0.1:8080/v1 --model qwen2.5-7b-instruct --n 200 --out data/synth.jsonl`,
    async run(flags, _positionals, io) {
      const baseURL = flags["base-url"] as string | undefined;
      const modelName = flags.model as string | undefined;
      const out = flags.out as string | undefined;
      if (baseURL === undefined) throw new InvalidInputError("--base-url is required", { field: "base-url", hint: "an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1" });
      if (modelName === undefined) throw new InvalidInputError("--model is required", { field: "model" });
      if (out === undefined) throw new InvalidInputError("--out is required", { field: "out" });
      if (!URL.canParse(baseURL) || !/^https?:$/.test(new URL(baseURL).protocol)) {
        throw new InvalidInputError(`--base-url is not an http(s) URL: "${baseURL}"`, { field: "base-url", hint: "e.g. http://127.0.0.1:8080/v1" });
      }
      const n = wholeFlag(flags, "n", 1);
      const concurrency = wholeFlag(flags, "concurrency", 1);
      const maxAttempts = optionalWholeFlag(flags, "max-attempts", 1);
      const apiKey = (flags["api-key"] as string | undefined) ?? process.env.OPENAI_API_KEY;
      const model = deps.openModel ? await deps.openModel({ baseURL, apiKey, model: modelName }) : modelName;
      const result = await synthesize({
        model,
        baseURL,
        apiKey,
        n,
        seed: flags.seed as number,
        concurrency,
        maxAttempts,
        temperature: flags.temperature as number,
        tools: deps.tools ? await deps.tools() : undefined,
      });
      const drops = SYNTH_DROP_REASONS.filter((r) => result.dropped[r] > 0).map((r) => `${r} ${result.dropped[r]}`);
      const failed = result.firstModelError === undefined ? "" : `; the first failed request: ${result.firstModelError}`;
      if (result.examples.length === 0) {
        // nothing to keep: an empty file would only stand in for a dataset
        io.err(`kept none of ${result.attempts} responses, so nothing was written; dropped: ${drops.join(", ") || "none"}${failed}\n`);
        if (result.firstModelError !== undefined && result.dropped.model_error === result.attempts) io.err(`  hint: check that ${baseURL} answers (and --model, --api-key)\n`);
        return 1;
      }
      await writeJsonl(out, result.examples);
      io.out(`kept ${result.examples.length} of ${result.attempts} responses; wrote ${out}\n`);
      io.out(`dropped: ${drops.length === 0 ? "none" : drops.join(", ")}${failed}\n`);
      return 0;
    },
  });
}

export const dataSynthCommand = createDataSynthCommand();
