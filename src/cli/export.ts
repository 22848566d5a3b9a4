import { InvalidInputError } from "../errors.js";
import { exportGgufLoraForBase } from "../train/export-gguf-lora.js";
import { exportMergedGguf } from "../train/export-merged-gguf.js";
import { exportPeftAdapter, readPeftAdapter } from "../train/export-peft.js";
import { type CommandSpec, defineCommand } from "./command.js";

const FORMATS = ["peft", "gguf-lora", "merged-gguf"];

/** `agenttune export`: converts a trained adapter folder (PEFT layout) to another format. */
export const exportCommand: CommandSpec = defineCommand({
  name: "export",
  summary: "write a trained adapter as a PEFT folder or a GGUF LoRA file",
  flags: {
    adapter: { type: "string", description: "the adapter folder written by agenttune train", placeholder: "dir" },
    format: { type: "string", description: "peft, gguf-lora (an adapter file for llama.cpp --lora) or merged-gguf (the base with the adapter merged in)", default: "peft" },
    out: { type: "string", description: "output folder (peft) or file (gguf-lora, merged-gguf)", placeholder: "path" },
    base: { type: "string", description: "gguf-lora and merged-gguf: the base model's GGUF", placeholder: "file.gguf" },
    dtype: {
      type: "string",
      description: "f32 (exact) or f16 (half the bytes): the LoRA matrices of gguf-lora (default f32) or the merged projections of merged-gguf (default f16; the base's other tensors keep their types)",
      placeholder: "f32|f16",
    },
  },
  details: "Example: agenttune export --adapter runs/smollm2/adapter --format peft --out exported/smollm2-lora",
  async run(flags, _positionals, io) {
    if (typeof flags.adapter !== "string") throw new InvalidInputError("name the adapter folder with --adapter", { field: "adapter" });
    if (typeof flags.out !== "string") throw new InvalidInputError("name the output with --out", { field: "out" });
    const format = String(flags.format);
    if (!FORMATS.includes(format)) throw new InvalidInputError(`--format must be one of ${FORMATS.join(", ")}, got ${format}`, { field: "format" });
    // no single default: an F32 LoRA is small and exact, while F32 merged projections would double
    // the file of an F16 base for no gain in llama.cpp
    if (format === "peft" && flags.dtype !== undefined) {
      throw new InvalidInputError("--dtype applies to gguf-lora and merged-gguf; a PEFT folder keeps the adapter's own float32", { field: "dtype", hint: "leave out --dtype, or add --format gguf-lora" });
    }
    const dtype = flags.dtype === undefined ? (format === "merged-gguf" ? "f16" : "f32") : String(flags.dtype);
    if (dtype !== "f32" && dtype !== "f16") throw new InvalidInputError(`--dtype must be f32 or f16, got ${dtype}`, { field: "dtype" });
    const adapter = readPeftAdapter(flags.adapter);
    if (format === "peft") {
      exportPeftAdapter(flags.out, adapter);
    } else {
      if (typeof flags.base !== "string") throw new InvalidInputError(`--format ${format} needs --base, the base model's GGUF`, { field: "base" });
      if (format === "gguf-lora") exportGgufLoraForBase(flags.out, adapter, flags.base, dtype);
      else exportMergedGguf(flags.out, adapter, flags.base, dtype);
    }
    io.out(`wrote ${flags.out} (${format}, ${adapter.tensors.size} tensors, r ${adapter.rank}, alpha ${adapter.alpha})\n`);
    return 0;
  },
});
