import { CudaUnavailableError } from "../../../src/engine/cuda/errors.js";
import { type CudaDevice, openCudaDevice } from "../../../src/engine/cuda/device.js";

/**
 * Opens the GPU once for a test file, or gives the reason the CUDA tests skip (CI has no GPU).
 */
export function openGpuOrSkip(): { device: CudaDevice | undefined; skip: string | false } {
  if (process.env.AGENTTUNE_SKIP_CUDA) return { device: undefined, skip: "AGENTTUNE_SKIP_CUDA is set" };
  try {
    return { device: openCudaDevice(0), skip: false };
  } catch (error) {
    if (error instanceof CudaUnavailableError) {
      return { device: undefined, skip: `no CUDA GPU here (${error.message.split("\n")[0]}); these tests run on a GPU machine` };
    }
    throw error;
  }
}
