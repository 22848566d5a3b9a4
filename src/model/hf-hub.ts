// Model ids `ORG/NAME` → a local folder: the Hugging Face cache layout offline
// (`models--ORG--NAME/refs/<rev>` → `snapshots/<commit>/`), or a download from the hub into that
// same layout (resumable through `.incomplete` blobs, checked against the hub's ETags).

import { createHash, type Hash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, copyFileSync, writeFileSync, openSync, closeSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, relative } from "node:path";
import { AgentTuneError, InvalidInputError } from "../errors.js";

/** A download from the hub failed (HTTP status, network, checksum). */
export class ModelDownloadError extends AgentTuneError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options);
  }
}

/** The hub cache folder: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
export function hfHubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, "hub");
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "huggingface", "hub");
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Whether `ref` looks like a hub model id `ORG/NAME`. */
export function isModelId(ref: string): boolean {
  return ID.test(ref) && !ref.includes("..");
}

function repoDir(id: string, env: NodeJS.ProcessEnv): string {
  if (!isModelId(id)) throw new InvalidInputError(`"${id}" is not a model id of the form ORG/NAME`, { field: "model" });
  return join(hfHubCacheDir(env), `models--${id.replace("/", "--")}`);
}

/**
 * The snapshot folder of `id` at `revision` (a branch/tag name in `refs/`, or a commit hash)
 * in the local cache, or undefined when it is not there (or lacks config.json or safetensors
 * weights). Never touches the network.
 */
export function resolveCachedModel(id: string, options: { revision?: string; env?: NodeJS.ProcessEnv } = {}): string | undefined {
  const env = options.env ?? process.env;
  const revision = options.revision ?? "main";
  const repo = repoDir(id, env);
  let commit = revision;
  const ref = join(repo, "refs", revision);
  if (existsSync(ref) && statSync(ref).isFile()) commit = readFileSync(ref, "utf8").trim();
  if (!/^[A-Za-z0-9._-]+$/.test(commit)) return undefined;
  const snap = join(repo, "snapshots", commit);
  // A snapshot counts only when complete enough to load: config and weights (an interrupted
  // download leaves a partial one, which a new download then fills in).
  const complete = existsSync(join(snap, "config.json")) && (existsSync(join(snap, "model.safetensors")) || existsSync(join(snap, "model.safetensors.index.json")));
  return complete ? snap : undefined;
}

/** Options of {@link downloadModel}. */
export interface DownloadOptions {
  revision?: string;
  env?: NodeJS.ProcessEnv;
  /** Files to fetch; default: the repository's top-level JSON, Jinja, tokenizer and safetensors files. */
  files?: readonly string[];
  /** Attempts per file after a cut connection, each resuming where the last stopped (default 4). */
  attempts?: number;
  /** Called as bytes arrive. */
  onProgress?: (event: { file: string; received: number; total: number | undefined }) => void;
}

const WANTED = /^[^/]+\.(json|jinja|safetensors|model|txt)$/;
const DEFAULT_FILES = [
  "config.json",
  "generation_config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "chat_template.jinja",
  "model.safetensors.index.json",
  "model.safetensors",
];
const REQUIRED = new Set(["config.json"]);

interface Hub {
  endpoint: string;
  headers: Record<string, string>;
}

function hubFrom(env: NodeJS.ProcessEnv): Hub {
  const endpoint = (env.HF_ENDPOINT || "https://huggingface.co").replace(/\/+$/, "");
  const token = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN;
  return { endpoint, headers: token ? { authorization: `Bearer ${token}`, "user-agent": "agenttune" } : { "user-agent": "agenttune" } };
}

function statusError(status: number, what: string): ModelDownloadError {
  if (status === 401 || status === 403) {
    return new ModelDownloadError(`${what}: HTTP ${status}`, { hint: "the model may be gated or private: accept its licence on the hub and set HF_TOKEN" });
  }
  if (status === 404) return new ModelDownloadError(`${what}: not found (HTTP 404)`, { hint: "check the model id and revision" });
  return new ModelDownloadError(`${what}: HTTP ${status}`, { hint: "the hub may be down; try again later" });
}

async function request(hub: Hub, url: string, init: RequestInit, what: string): Promise<Response> {
  try {
    return await fetch(url, { ...init, headers: { ...hub.headers, ...(init.headers as Record<string, string> | undefined) } });
  } catch (error) {
    throw new ModelDownloadError(`${what}: cannot reach ${hub.endpoint} (${(error as Error).message})`, {
      hint: "without network, put the model in the Hugging Face cache (HF_HUB_CACHE) or pass a local folder",
      cause: error,
    });
  }
}

/** The repository's commit and file list from the hub API, or undefined where the endpoint has no API. */
async function listRepo(hub: Hub, id: string, revision: string): Promise<{ sha: string | undefined; files: string[] } | undefined> {
  const res = await request(hub, `${hub.endpoint}/api/models/${id}/revision/${encodeURIComponent(revision)}`, {}, `listing ${id}`);
  if (res.status === 401 || res.status === 403) throw statusError(res.status, `listing ${id}`);
  if (!res.ok) {
    await res.body?.cancel();
    return undefined;
  }
  const body = (await res.json()) as { sha?: unknown; siblings?: { rfilename?: unknown }[] };
  const files = (body.siblings ?? []).map((s) => s.rfilename).filter((f): f is string => typeof f === "string");
  return { sha: typeof body.sha === "string" ? body.sha : undefined, files };
}

function cleanEtag(v: string | null): string | undefined {
  if (v === null) return undefined;
  return v.replace(/^W\//, "").replace(/^"|"$/g, "");
}

interface Remote {
  etag: string;
  commit: string | undefined;
  size: number | undefined;
}

/** HEAD of a file: its ETag (sha256 for LFS files via X-Linked-Etag, git blob sha1 otherwise), commit and size. */
async function head(hub: Hub, url: string, file: string): Promise<Remote | undefined> {
  const res = await request(hub, url, { method: "HEAD", redirect: "manual" }, file);
  if (res.status === 404 && !REQUIRED.has(file)) return undefined;
  if (res.status >= 400) throw statusError(res.status, file);
  const etag = cleanEtag(res.headers.get("x-linked-etag")) ?? cleanEtag(res.headers.get("etag"));
  if (etag === undefined || !/^[A-Za-z0-9._-]+$/.test(etag)) throw new ModelDownloadError(`${file}: the hub sent no usable ETag`);
  const size = Number(res.headers.get("x-linked-size") ?? res.headers.get("content-length") ?? Number.NaN);
  return { etag, commit: res.headers.get("x-repo-commit") ?? undefined, size: Number.isFinite(size) ? size : undefined };
}

async function hashExisting(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

/** Downloads `url` into `blob` through `<blob>.incomplete`, resuming with Range; checks the ETag as a checksum. */
async function fetchBlob(hub: Hub, url: string, file: string, remote: Remote, blob: string, options: DownloadOptions): Promise<void> {
  const partial = `${blob}.incomplete`;
  const attempts = options.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    const have = existsSync(partial) ? statSync(partial).size : 0;
    try {
      const res = await request(hub, url, { headers: have > 0 ? { range: `bytes=${have}-` } : {} }, file);
      if (res.status === 416 && remote.size === have) {
        await res.body?.cancel();
      } else if (res.status !== 200 && res.status !== 206) {
        await res.body?.cancel();
        throw statusError(res.status, file);
      } else {
        const resumed = res.status === 206 && have > 0;
        const fd = openSync(partial, resumed ? "a" : "w");
        let received = resumed ? have : 0;
        try {
          if (res.body === null) throw new ModelDownloadError(`${file}: empty response`);
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            let off = 0;
            while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
            received += chunk.length;
            options.onProgress?.({ file, received, total: remote.size });
          }
        } finally {
          closeSync(fd);
        }
      }
      const size = statSync(partial).size;
      if (remote.size !== undefined && size !== remote.size) {
        throw new ModelDownloadError(`${file}: received ${size} of ${remote.size} bytes`, { hint: "the connection was cut; run again to resume" });
      }
      await verify(partial, file, remote.etag, size);
      renameSync(partial, blob);
      return;
    } catch (error) {
      const checksum = error instanceof ModelDownloadError && /checksum/.test(error.message);
      const httpStatus = error instanceof ModelDownloadError && /HTTP \d+/.test(error.message);
      if (checksum || httpStatus || attempt >= attempts) throw error;
      // A cut connection: go round again and resume from what is on disk.
    }
  }
}

/** sha256 (LFS) or git blob sha1 (small files) against the ETag; other ETag shapes are not checksums. */
async function verify(path: string, file: string, etag: string, size: number): Promise<void> {
  let hash: Hash;
  if (/^[0-9a-f]{64}$/.test(etag)) hash = createHash("sha256");
  else if (/^[0-9a-f]{40}$/.test(etag)) {
    hash = createHash("sha1");
    hash.update(`blob ${size}\0`);
  } else return;
  await hashExisting(path, hash);
  const got = hash.digest("hex");
  if (got !== etag) {
    rmSync(path, { force: true });
    throw new ModelDownloadError(`${file}: checksum mismatch (got ${got}, the hub says ${etag})`, { hint: "the download was corrupted; run again" });
  }
}

function link(blob: string, target: string): void {
  mkdirSync(dirname(target), { recursive: true });
  rmSync(target, { force: true });
  try {
    symlinkSync(relative(dirname(target), blob), target);
  } catch {
    copyFileSync(blob, target);
  }
}

/**
 * Downloads a model repository from the hub ($HF_ENDPOINT, default https://huggingface.co; a
 * $HF_TOKEN is sent as a bearer token) into the Hugging Face cache layout and returns the
 * snapshot folder. Files already in the cache are not fetched again; a cut download resumes.
 */
export async function downloadModel(id: string, options: DownloadOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const revision = options.revision ?? "main";
  const repo = repoDir(id, env);
  const hub = hubFrom(env);
  let files = options.files ? [...options.files] : undefined;
  let commit: string | undefined;
  if (files === undefined) {
    const listing = await listRepo(hub, id, revision);
    commit = listing?.sha;
    files = listing ? listing.files.filter((f) => WANTED.test(f)) : [...DEFAULT_FILES];
  }
  const done = new Set<string>();
  const queue = [...files];
  mkdirSync(join(repo, "blobs"), { recursive: true });
  while (queue.length > 0) {
    const file = queue.shift() as string;
    if (done.has(file)) continue;
    done.add(file);
    if (file.split("/").some((p) => p === ".." || p === "") || file.startsWith("/")) throw new ModelDownloadError(`refusing the file name "${file}"`);
    const url = `${hub.endpoint}/${id}/resolve/${encodeURIComponent(revision)}/${file.split("/").map(encodeURIComponent).join("/")}`;
    const remote = await head(hub, url, file);
    if (remote === undefined) continue;
    commit = commit ?? remote.commit ?? revision;
    const blob = join(repo, "blobs", remote.etag);
    if (!existsSync(blob)) await fetchBlob(hub, url, file, remote, blob, options);
    link(blob, join(repo, "snapshots", commit, file));
    if (file === "model.safetensors.index.json") {
      // The index is useless without its shards: fetch them too.
      const map = (JSON.parse(readFileSync(blob, "utf8")) as { weight_map?: Record<string, string> }).weight_map ?? {};
      for (const shard of new Set(Object.values(map))) queue.push(shard);
    }
  }
  if (commit === undefined) throw new ModelDownloadError(`${id}: nothing to download`);
  if (commit !== revision) {
    mkdirSync(join(repo, "refs"), { recursive: true });
    writeFileSync(join(repo, "refs", revision), commit);
  }
  return join(repo, "snapshots", commit);
}

/**
 * A model folder for `ref`: an existing path as is; an `ORG/NAME` id from the cache, else
 * downloaded (unless $HF_HUB_OFFLINE is set). Throws InvalidInputError for anything else.
 */
export async function resolveModelFolder(ref: string, options: DownloadOptions = {}): Promise<string> {
  if (existsSync(ref)) return ref;
  const env = options.env ?? process.env;
  if (!isModelId(ref)) throw new InvalidInputError(`"${ref}" is neither a path nor a model id ORG/NAME`, { field: "model" });
  const cached = resolveCachedModel(ref, { revision: options.revision, env });
  if (cached !== undefined) return cached;
  if (env.HF_HUB_OFFLINE && env.HF_HUB_OFFLINE !== "0") {
    throw new InvalidInputError(`${ref} is not in the Hugging Face cache (${hfHubCacheDir(env)}) and HF_HUB_OFFLINE is set`, {
      field: "model",
      hint: "download it where the hub is reachable, or unset HF_HUB_OFFLINE",
    });
  }
  return downloadModel(ref, options);
}
