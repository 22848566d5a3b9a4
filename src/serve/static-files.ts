import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** The demo page's files, the only ones served (no path from a request reaches the file system). */
const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
  "/favicon.svg": { file: "favicon.svg", type: "image/svg+xml" },
};

/** Where the page lives: beside this module, or in the source tree when running from a build. */
export function publicDir(): string {
  const here = fileURLToPath(new URL("./public/", import.meta.url));
  if (existsSync(join(here, "index.html"))) return here;
  return fileURLToPath(new URL("../../src/serve/public/", import.meta.url));
}

/** The file for a URL path, or undefined when the path is not one of the page's files. */
export async function readStatic(path: string, dir = publicDir()): Promise<{ body: Buffer; type: string } | undefined> {
  const entry = Object.hasOwn(FILES, path) ? FILES[path] : undefined;
  if (entry === undefined) return undefined;
  return { body: await readFile(join(dir, entry.file)), type: entry.type };
}
