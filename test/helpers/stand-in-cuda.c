// Stand-ins for the CUDA driver, NVRTC and cuBLAS calls the engine makes, each returning success
// at once: linked in place of the real libraries (test/helpers/stand-in-cuda.ts builds them), they leave
// only the host's share of every launch, copy and GEMM, on a machine without a GPU. Device
// "memory" is a counter of addresses that nothing dereferences; device-to-host copies give zeros.
// AGENTTUNE_STAND_IN_GPUS sets how many GPUs there seem to be (default 1); NCCL's all-reduce leaves
// each rank's buffer as it was.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t next_address = 0x7f0000000000ull;
static char handle_cell[64];  // every handle points here
#define HANDLE ((void *)handle_cell)

// ---- driver -------------------------------------------------------------------------------------
int cuGetErrorName(int status, const char **name) { *name = status == 0 ? "CUDA_SUCCESS" : "CUDA_ERROR_UNKNOWN"; return 0; }
int cuInit(unsigned int flags) { return 0; }
int cuDriverGetVersion(int *version) { *version = 13000; return 0; }
int cuDeviceGetCount(int *count) {
  const char *gpus = getenv("AGENTTUNE_STAND_IN_GPUS");
  *count = gpus != NULL && atoi(gpus) > 0 ? atoi(gpus) : 1;
  return 0;
}
int cuDeviceGet(int *device, int ordinal) { *device = ordinal; return 0; }
int cuDeviceGetName(uint8_t *name, int len, int device) { strncpy((char *)name, "stand-in GPU (no device)", len); return 0; }
int cuDeviceGetAttribute(int *value, int attribute, int device) {
  switch (attribute) {
    case 1: *value = 1024; break;      // max threads a block
    case 8: *value = 49152; break;     // shared memory a block
    case 16: *value = 132; break;      // multiprocessors
    case 38: *value = 50331648; break; // L2
    case 75: *value = 9; break;        // compute capability 9.0
    case 76: *value = 0; break;
    case 97: *value = 232448; break;   // opt-in shared memory
    default: *value = 1; break;
  }
  return 0;
}
int cuDeviceTotalMem_v2(size_t *bytes, int device) { *bytes = (size_t)141 << 30; return 0; }
int cuDevicePrimaryCtxRetain(void **ctx, int device) { *ctx = HANDLE; return 0; }
int cuDevicePrimaryCtxRelease_v2(int device) { return 0; }
int cuCtxSetCurrent(void *ctx) { return 0; }
int cuCtxSynchronize(void) { return 0; }
int cuMemGetInfo_v2(size_t *free_bytes, size_t *total) { *free_bytes = *total = (size_t)141 << 30; return 0; }
// AGENTTUNE_STAND_IN_NO_PINNED=1: the host refuses page-locked memory (CUDA_ERROR_OUT_OF_MEMORY), as
// under a container's memlock limit
int cuMemHostAlloc(void **pp, size_t bytes, unsigned int flags) {
  const char *refuse = getenv("AGENTTUNE_STAND_IN_NO_PINNED");
  if (refuse != NULL && refuse[0] == '1') return 2;
  *pp = malloc(bytes > 0 ? bytes : 1);
  return *pp == NULL ? 2 : 0;
}
int cuMemHostGetDevicePointer_v2(uint64_t *dptr, void *p, unsigned int flags) { *dptr = (uint64_t)(uintptr_t)p; return 0; }
int cuMemFreeHost(void *p) { free(p); return 0; }
int cuMemAlloc_v2(uint64_t *ptr, size_t bytes) { *ptr = next_address; next_address += (bytes + 4095) & ~(uint64_t)4095; return 0; }
int cuMemFree_v2(uint64_t ptr) { return 0; }
int cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t bytes) { return 0; }
int cuMemcpyDtoH_v2(void *dst, uint64_t src, size_t bytes) { memset(dst, 0, bytes); return 0; }
int cuMemcpyDtoD_v2(uint64_t dst, uint64_t src, size_t bytes) { return 0; }
int cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src, size_t bytes, void *stream) { return 0; }
int cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t bytes, void *stream) { return 0; }
int cuMemsetD8Async(uint64_t dst, uint8_t value, size_t count, void *stream) { return 0; }
int cuModuleLoadData(void **module, const void *image) { *module = HANDLE; return 0; }
int cuModuleUnload(void *module) { return 0; }
int cuModuleGetFunction(void **fn, void *module, const char *name) { *fn = HANDLE; return 0; }
int cuFuncSetAttribute(void *fn, int attribute, int value) { return 0; }
int cuLaunchKernel(void *fn, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by,
                   unsigned int bz, unsigned int smem, void *stream, void **params, void **extra) { return 0; }
int cuStreamCreate(void **stream, unsigned int flags) { *stream = HANDLE; return 0; }
int cuStreamDestroy_v2(void *stream) { return 0; }
int cuStreamSynchronize(void *stream) { return 0; }
int cuStreamWaitEvent(void *stream, void *event, unsigned int flags) { return 0; }
int cuEventCreate(void **event, unsigned int flags) { *event = HANDLE; return 0; }
int cuEventDestroy_v2(void *event) { return 0; }
int cuEventRecord(void *event, void *stream) { return 0; }
int cuEventSynchronize(void *event) { return 0; }
int cuEventElapsedTime(float *ms, void *start, void *end) { *ms = 0; return 0; }

// ---- NVRTC: every program "compiles" to 16 bytes -------------------------------------------------
int nvrtcVersion(int *major, int *minor) { *major = 0; *minor = 0; return 0; }
int nvrtcCreateProgram(void **prog, const char *src, const char *name, int n, void *headers, void *names) { *prog = HANDLE; return 0; }
int nvrtcDestroyProgram(void **prog) { *prog = NULL; return 0; }
int nvrtcCompileProgram(void *prog, int n, const char **options) { return 0; }
int nvrtcGetProgramLogSize(void *prog, size_t *size) { *size = 1; return 0; }
int nvrtcGetProgramLog(void *prog, uint8_t *log) { log[0] = 0; return 0; }
int nvrtcGetCUBINSize(void *prog, size_t *size) { *size = 16; return 0; }
int nvrtcGetCUBIN(void *prog, uint8_t *cubin) { memset(cubin, 0, 16); return 0; }

// ---- cuBLAS --------------------------------------------------------------------------------------
int cublasCreate_v2(void **handle) { *handle = HANDLE; return 0; }
int cublasDestroy_v2(void *handle) { return 0; }
int cublasSetStream_v2(void *handle, void *stream) { return 0; }
int cublasGemmEx(void) { return 0; }
int cublasGemmStridedBatchedEx(void) { return 0; }

// ---- NCCL ----------------------------------------------------------------------------------------
typedef struct { char internal[128]; } ncclUniqueId;
int ncclGetUniqueId(uint8_t *id) { memset(id, 7, 128); return 0; }
int ncclCommInitRank(void **comm, int nranks, ncclUniqueId id, int rank) { *comm = HANDLE; return 0; }
int ncclAllReduce(uintptr_t send, uintptr_t recv, size_t count, int datatype, int op, void *comm, void *stream) { return 0; }
int ncclCommDestroy(void *comm) { return 0; }
const char *ncclGetErrorString(int result) { return result == 0 ? "no error" : "stand-in error"; }
int ncclGetVersion(int *version) { *version = 22700; return 0; }

