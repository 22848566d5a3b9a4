import { AgentTuneError } from "../../errors.js";

/** A CUDA driver, NVRTC or cuBLAS call returned an error status. Names the call and the status. */
export class CudaError extends AgentTuneError {
  readonly call: string;
  readonly status: number;
  readonly statusName: string;
  constructor(call: string, status: number, statusName: string, hint?: string) {
    super(`${call} failed: ${statusName} (${status})`, { hint });
    this.call = call;
    this.status = status;
    this.statusName = statusName;
  }
}

/** No usable CUDA installation: no GPU, no driver, missing libraries, or a driver too old. */
export class CudaUnavailableError extends AgentTuneError {
  constructor(message: string, hint?: string) {
    super(message, {
      hint:
        hint ??
        "use --backend cpu, or install the NVIDIA driver and the CUDA 12/13 runtime libraries (libnvrtc, libcublas); " +
          "set AGENTTUNE_CUDA_LIB_DIR to the folder holding them if they live elsewhere",
    });
  }
}

/** The device has not enough free memory for an allocation. Says what was asked and what is free. */
export class CudaOutOfMemoryError extends AgentTuneError {
  readonly requestedBytes: number;
  readonly freeBytes: number;
  /** `reservedBytes` and `totalBytes`, when given, tell whether other processes hold most of the GPU. */
  constructor(requestedBytes: number, freeBytes: number, inUseBytes: number, reservedBytes?: number, totalBytes?: number) {
    const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
    const others = totalBytes === undefined ? 0 : totalBytes - freeBytes - (reservedBytes ?? inUseBytes);
    const smaller = "use a smaller --batch-size or --max-length, or recompute activations: --recompute selective (about a fifth less), or full (a half to a quarter)";
    super(
      `out of GPU memory: asked for ${gib(requestedBytes)}, ${gib(freeBytes)} free on the device, ${gib(inUseBytes)} held by this process` +
        (others > 2 ** 30 ? `, ${gib(others)} by others` : ""),
      {
        hint:
          others > inUseBytes
            ? `other processes or contexts hold ${gib(others)} of the GPU (nvidia-smi lists them): run fewer at once, or ${smaller}`
            : smaller,
      },
    );
    this.requestedBytes = requestedBytes;
    this.freeBytes = freeBytes;
  }
}

/** NVRTC rejected a kernel source. Carries NVRTC's log. */
export class KernelCompileError extends AgentTuneError {
  readonly log: string;
  constructor(file: string, log: string) {
    super(`NVRTC could not compile ${file}:\n${log.trim()}`, {
      hint: "this is a bug in AgentTune's kernels or an NVRTC too old for them; please report it with the log above",
    });
    this.log = log;
  }
}
