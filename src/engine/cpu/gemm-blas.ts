import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Sgemm } from "./gemm-types.js";

/** How one OpenBLAS build names its symbols: plain, or SciPy's wheels (`scipy_` prefix, ILP64 with a `64_` suffix). */
interface BlasFlavour {
  prefix: string;
  suffix: string;
  int: "int" | "int64_t";
}
const FLAVOURS: BlasFlavour[] = [
  { prefix: "", suffix: "", int: "int" },
  { prefix: "scipy_", suffix: "", int: "int" },
  { prefix: "scipy_", suffix: "64_", int: "int64_t" },
];

/**
 * Where an OpenBLAS shared library is looked for, in order: $AGENTTUNE_BLAS (a file path), then
 * the names the system's loader resolves (Debian/Ubuntu `libopenblas0-pthread`, Fedora, Homebrew,
 * Windows).
 */
export function blasCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  if (env.AGENTTUNE_BLAS) out.push(env.AGENTTUNE_BLAS);
  out.push(
    "libopenblas.so.0",
    "libopenblas.so",
    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib64/libopenblas.so.0",
    "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
    "/usr/local/opt/openblas/lib/libopenblas.dylib",
    "libopenblas.dll",
  );
  return out;
}

/** A loaded native BLAS: its sgemm and where it came from. */
export interface NativeBlas {
  path: string;
  sgemm: Sgemm;
  /** Sets OpenBLAS's thread count (no-op where the library lacks the call). */
  setThreads(n: number): void;
  /** OpenBLAS's build and the core kernel it chose, e.g. "OpenBLAS 0.3.21 … SkylakeX" ("" where unknown). */
  config(): string;
}

let loaded: NativeBlas | null | undefined;

/**
 * Loads OpenBLAS through koffi, trying `blasCandidates()` in order. Returns null (never throws)
 * when none loads, so callers fall back to the WASM or plain route.
 */
export function loadNativeBlas(env: NodeJS.ProcessEnv = process.env): NativeBlas | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (env.AGENTTUNE_BLAS === "none") return loaded;
  // biome-ignore lint/suspicious/noExplicitAny: koffi's API is untyped here
  let koffi: any;
  try {
    koffi = createRequire(import.meta.url)("koffi");
  } catch {
    return loaded;
  }
  setCoreTypeHint(env);
  for (const path of blasCandidates(env)) {
    if (path.includes("/") && !existsSync(path)) continue;
    // biome-ignore lint/suspicious/noExplicitAny: see above
    let lib: any;
    try {
      lib = koffi.load(path);
    } catch {
      continue;
    }
    for (const f of FLAVOURS) {
      try {
        const I = f.int;
        const fn = lib.func(
          `void ${f.prefix}cblas_sgemm${f.suffix}(int, int, int, ${I}, ${I}, ${I}, float, const float *, ${I}, const float *, ${I}, float, _Inout_ float *, ${I})`,
        );
        let setThreads: (n: number) => void = () => {};
        try {
          const st = lib.func(`void ${f.prefix}openblas_set_num_threads${f.suffix}(${I})`);
          setThreads = (n) => st(n);
        } catch {
          // optional symbol
        }
        const sgemm: Sgemm = (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
          if (m === 0 || n === 0) return;
          // 101 = CblasRowMajor, 111/112 = CblasNoTrans/CblasTrans; BLAS rejects ld < 1.
          fn(101, transA ? 112 : 111, transB ? 112 : 111, m, n, k, alpha, a, Math.max(1, lda), b, Math.max(1, ldb), beta, c, Math.max(1, ldc));
        };
        let config = () => "";
        try {
          const cfg = lib.func(`const char *${f.prefix}openblas_get_config${f.suffix}()`);
          const core = lib.func(`const char *${f.prefix}openblas_get_corename${f.suffix}()`);
          config = () => `${cfg()} (core ${core()})`;
        } catch {
          // optional symbols
        }
        loaded = { path, sgemm, setThreads, config };
        return loaded;
      } catch {
        // symbol not in this flavour
      }
    }
  }
  return loaded;
}

/**
 * OpenBLAS builds with run-time CPU dispatch (Debian's 0.3.21 among them) do not recognise some
 * virtualised Xeons ("Intel(R) Xeon(R) Processor") and fall back to an SSE kernel: measured 27
 * against 285 GFLOP/s on this project's 2-core machine (bench/README.md). Unless the user chose
 * one, name the core type from the CPU's own flags before the library initialises.
 */
function setCoreTypeHint(env: NodeJS.ProcessEnv): void {
  if (env.OPENBLAS_CORETYPE || process.platform !== "linux" || process.arch !== "x64") return;
  let flags: Set<string>;
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").match(/^flags\s*:(.*)$/m);
    if (!line) return;
    flags = new Set(line[1].trim().split(/\s+/));
  } catch {
    return;
  }
  const has = (...f: string[]) => f.every((x) => flags.has(x));
  if (has("avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512cd")) process.env.OPENBLAS_CORETYPE = "SKYLAKEX";
  else if (has("avx2", "fma")) process.env.OPENBLAS_CORETYPE = "HASWELL";
}
