import { InvalidInputError } from "./errors.js";

/**
 * The value of the environment variable `name` that picks one of `choices`: `fallback` when unset
 * or empty, an InvalidInputError naming the variable and the choices for anything else.
 */
export function envChoice<T extends string>(env: NodeJS.ProcessEnv, name: string, choices: readonly T[], fallback: T): T {
  const value = env[name];
  if (value === undefined || value === "") return fallback;
  if ((choices as readonly string[]).includes(value)) return value as T;
  const others = choices.filter((c) => c !== fallback).map((c) => `"${c}"`);
  throw new InvalidInputError(`${name} is "${value}"`, {
    field: name,
    hint: `set it to "${fallback}" (the default) or ${others.join(" or ")}, or unset it`,
  });
}
