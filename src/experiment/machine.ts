import { cpus, release, totalmem, type } from "node:os";

/** Where an experiment ran, for its report. */
export interface MachineInfo {
  /** `os.cpus()[0].model`. */
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  /** The first GPU's name, when the experiment used the CUDA backend and a GPU answered. */
  gpu?: string;
}

/** The GPU's name from the CUDA driver; undefined when there is no driver or no GPU. */
async function gpuName(): Promise<string | undefined> {
  try {
    // the driver loads only here: a CPU experiment never touches koffi or libcuda
    const { CudaDriver } = await import("../engine/cuda/driver.js");
    const driver = new CudaDriver();
    driver.init();
    const device = [0];
    driver.call("cuDeviceGet", device, 0);
    const name = Buffer.alloc(256);
    driver.call("cuDeviceGetName", name, 256, device[0]);
    return name.toString("utf8").replace(/\0.*$/s, "");
  } catch {
    return undefined;
  }
}

/** Describes this machine; with `gpu` it asks the CUDA driver for the GPU's name too. */
export async function describeMachine(options: { gpu?: boolean } = {}): Promise<MachineInfo> {
  const list = cpus();
  const gpu = options.gpu === true ? await gpuName() : undefined;
  return {
    cpu: list[0]?.model.trim() ?? "unknown CPU",
    cores: list.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.version,
    ...(gpu === undefined ? {} : { gpu }),
  };
}

/** One line for a report: `AMD EPYC 7B13 (2 cores, 8 GiB), Linux 6.1, Node v20.19.0; GPU NVIDIA H200`. */
export function formatMachine(m: MachineInfo): string {
  return `${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), ${m.os}, Node ${m.node}${m.gpu === undefined ? "" : `; GPU ${m.gpu}`}`;
}
