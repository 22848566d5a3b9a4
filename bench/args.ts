/** The value after `--name` on the command line, else `def`; without a default the flag is required. */
export function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1] as string;
  if (def === undefined) throw new Error(`--${name} is required`);
  return def;
}
