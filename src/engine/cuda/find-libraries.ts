import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { CudaUnavailableError } from "./errors.js";

/** The shared libraries the CUDA backend loads, by the file names each may have (newest first). */
export const CUDA_LIBRARIES = {
  cuda: ["libcuda.so.1", "libcuda.so"],
  nvrtc: ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"],
  cublas: ["libcublas.so.13", "libcublas.so.12", "libcublas.so"],
  cublasLt: ["libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"],
  nccl: ["libnccl.so.2", "libnccl.so"],
} as const;

export type CudaLibraryName = keyof typeof CUDA_LIBRARIES;

/**
 * Folders searched, in order: $AGENTTUNE_CUDA_LIB_DIR, $CUDA_HOME/lib64 (and $CUDA_PATH), every
 * $LD_LIBRARY_PATH entry, the `nvidia/<pkg>/lib` folders of pip's nvidia-* wheels in any
 * site-packages we can see, /usr/local/cuda/lib64, the driver's usual folders.
 */
export function candidateFolders(env: NodeJS.ProcessEnv = process.env): string[] {
  const folders: string[] = [];
  if (env.AGENTTUNE_CUDA_LIB_DIR) folders.push(...env.AGENTTUNE_CUDA_LIB_DIR.split(":"));
  for (const home of [env.CUDA_HOME, env.CUDA_PATH]) if (home) folders.push(join(home, "lib64"), join(home, "lib"));
  if (env.LD_LIBRARY_PATH) folders.push(...env.LD_LIBRARY_PATH.split(":").filter(Boolean));
  for (const site of sitePackages(env)) {
    const nvidia = join(site, "nvidia");
    if (!existsSync(nvidia)) continue;
    for (const pkg of safeReaddir(nvidia)) folders.push(join(nvidia, pkg, "lib"));
  }
  folders.push(
    "/usr/local/cuda/lib64",
    "/usr/local/nvidia/lib64",
    "/usr/local/nvidia/lib",
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib64",
    "/usr/lib/wsl/lib",
  );
  return [...new Set(folders)];
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** site-packages folders of virtual environments and Python installs commonly present. */
function sitePackages(env: NodeJS.ProcessEnv): string[] {
  const roots = [env.VIRTUAL_ENV, "/opt/torch/.venv", "/usr/local", "/usr"].filter((r): r is string => Boolean(r));
  const found: string[] = [];
  for (const root of roots) {
    const lib = join(root, "lib");
    for (const py of safeReaddir(lib)) {
      if (!py.startsWith("python3")) continue;
      for (const leaf of ["site-packages", "dist-packages"]) {
        const dir = join(lib, py, leaf);
        if (existsSync(dir)) found.push(dir);
      }
    }
  }
  return found;
}

/** Asks the dynamic linker's cache for a library name; empty when ldconfig is absent. */
function fromLdconfig(name: string): string | undefined {
  try {
    const out = execFileSync("ldconfig", ["-p"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    for (const line of out.split("\n")) {
      const match = /^\s*(\S+)\s.*=>\s*(\S+)$/.exec(line);
      if (match && match[1] === name && existsSync(match[2])) return match[2];
    }
  } catch {
    // no ldconfig: the folder search is all we have
  }
  return undefined;
}

/** Finds one CUDA library; throws CudaUnavailableError listing every place it looked. */
export function findCudaLibrary(library: CudaLibraryName, env: NodeJS.ProcessEnv = process.env): string {
  const names = CUDA_LIBRARIES[library];
  const folders = candidateFolders(env);
  for (const name of names) {
    for (const folder of folders) {
      const path = join(folder, name);
      if (existsSync(path)) return path;
    }
  }
  for (const name of names) {
    const path = fromLdconfig(name);
    if (path) return path;
  }
  throw new CudaUnavailableError(
    `could not find ${names.join(" or ")}; looked in the linker cache (ldconfig -p) and in:\n  ${folders.join("\n  ")}`,
    library === "cuda"
      ? "this machine has no NVIDIA driver (libcuda); use --backend cpu"
      : `install the CUDA ${library} library (e.g. pip's nvidia-cuda-nvrtc / nvidia-cublas wheels, or the CUDA toolkit), ` +
          "or set AGENTTUNE_CUDA_LIB_DIR to its folder",
  );
}
