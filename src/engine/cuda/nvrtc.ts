import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDir } from "../../model/cache-dir.js";
import { CudaError, CudaUnavailableError, KernelCompileError } from "./errors.js";
import { type KoffiLib, loadKoffi } from "./ffi.js";
import { findCudaLibrary } from "./find-libraries.js";

/**
 * NVRTC: compiles the backend's `.cu` sources to CUBIN for the device's architecture at run time.
 * Compiled images are cached on disk by a hash of (source, options, architecture, NVRTC version),
 * so a second start costs a file read instead of ~40 ms a kernel.
 */
export class Nvrtc {
  readonly path: string;
  readonly version: string;
  private readonly f: Record<string, (...args: unknown[]) => number>;

  constructor(path = findCudaLibrary("nvrtc")) {
    this.path = path;
    let lib: KoffiLib;
    try {
      lib = loadKoffi().load(path);
    } catch (error) {
      throw new CudaUnavailableError(`could not load NVRTC ${path}: ${(error as Error).message}`);
    }
    const fn = (proto: string) => lib.func(proto);
    this.f = {
      version: fn("int nvrtcVersion(_Out_ int *major, _Out_ int *minor)"),
      create: fn(
        "int nvrtcCreateProgram(_Out_ void **prog, const char *src, const char *name, int numHeaders, void *headers, void *includeNames)",
      ),
      destroy: fn("int nvrtcDestroyProgram(_Inout_ void **prog)"),
      compile: fn("int nvrtcCompileProgram(void *prog, int numOptions, const char **options)"),
      logSize: fn("int nvrtcGetProgramLogSize(void *prog, _Out_ size_t *size)"),
      log: fn("int nvrtcGetProgramLog(void *prog, _Out_ uint8_t *log)"),
      cubinSize: fn("int nvrtcGetCUBINSize(void *prog, _Out_ size_t *size)"),
      cubin: fn("int nvrtcGetCUBIN(void *prog, _Out_ uint8_t *cubin)"),
    };
    const major = [0];
    const minor = [0];
    this.check(this.f.version(major, minor), "nvrtcVersion");
    this.version = `${major[0]}.${minor[0]}`;
  }

  private check(status: number, call: string): void {
    // NVRTC's result codes are few and stable; their names make the error readable without another FFI call.
    const names = [
      "NVRTC_SUCCESS",
      "NVRTC_ERROR_OUT_OF_MEMORY",
      "NVRTC_ERROR_PROGRAM_CREATION_FAILURE",
      "NVRTC_ERROR_INVALID_INPUT",
      "NVRTC_ERROR_INVALID_PROGRAM",
      "NVRTC_ERROR_INVALID_OPTION",
      "NVRTC_ERROR_COMPILATION",
    ];
    if (status !== 0) throw new CudaError(call, status, names[status] ?? `nvrtcResult ${status}`);
  }

  /**
   * Compiles `source` (named `file` in messages) for `arch` (e.g. "sm_90"), returning the CUBIN.
   * Uses the disk cache unless `cache` is false.
   */
  compile(source: string, file: string, arch: string, options: string[] = [], cache = true): Buffer {
    return this.compileWithLog(source, file, arch, options, cache).image;
  }

  /**
   * compile, with NVRTC's log of a successful build too (ptxas's resource report with
   * `-Xptxas -v`); the log is empty when the image comes from the disk cache.
   */
  compileWithLog(source: string, file: string, arch: string, options: string[] = [], cache = true): { image: Buffer; log: string } {
    const allOptions = [`--gpu-architecture=${arch}`, "--std=c++17", "-default-device", ...options];
    const key = createHash("sha256")
      .update(`${this.version}\0${arch}\0${allOptions.join(" ")}\0${source}`)
      .digest("hex")
      .slice(0, 32);
    const dir = join(cacheDir(), "kernels");
    const cached = join(dir, `${file.replace(/[^\w.-]/g, "_")}-${key}.cubin`);
    if (cache) {
      try {
        return { image: readFileSync(cached), log: "" };
      } catch {
        // not cached yet
      }
    }
    const prog: unknown[] = [null];
    this.check(this.f.create(prog, source, file, 0, null, null), "nvrtcCreateProgram");
    try {
      const status = this.f.compile(prog[0], allOptions.length, allOptions);
      if (status !== 0) throw new KernelCompileError(file, this.programLog(prog[0]));
      const size = [0];
      this.check(this.f.cubinSize(prog[0], size), "nvrtcGetCUBINSize");
      const image = Buffer.alloc(Number(size[0]));
      this.check(this.f.cubin(prog[0], image), "nvrtcGetCUBIN");
      if (cache) {
        try {
          mkdirSync(dir, { recursive: true });
          const temp = `${cached}.${process.pid}.tmp`;
          writeFileSync(temp, image);
          renameSync(temp, cached);
        } catch {
          // a read-only cache only costs a recompile next time
        }
      }
      return { image, log: this.programLog(prog[0]) };
    } finally {
      this.f.destroy(prog);
    }
  }

  private programLog(prog: unknown): string {
    const size = [0];
    if (this.f.logSize(prog, size) !== 0) return "(no log)";
    const log = Buffer.alloc(Number(size[0]));
    this.f.log(prog, log);
    return log.toString("utf8").replace(/\0+$/, "");
  }
}
