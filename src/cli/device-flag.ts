import { InvalidInputError } from "../errors.js";

/** `--device cpu|cuda` of the commands that run a model. */
export function deviceFlag(value: unknown): "cpu" | "cuda" {
  if (value === "cpu" || value === "cuda") return value;
  throw new InvalidInputError(`--device must be cpu or cuda, got ${String(value)}`, { field: "device" });
}
