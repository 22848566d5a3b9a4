// Shared device helpers, prepended to every kernel source. No CUDA toolkit headers: NVRTC
// compiles these without an include path, so users need only the driver and the libraries.
typedef unsigned short bf16_t;
typedef unsigned char uint8_t;
typedef unsigned int uint32_t;

__device__ __forceinline__ float bf16_to_f32(bf16_t v) { return __uint_as_float(((uint32_t)v) << 16); }

// Round to nearest even; sm_80+ has the instruction.
__device__ __forceinline__ bf16_t f32_to_bf16(float f) {
  bf16_t r;
  asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(f));
  return r;
}

// Two floats → two bf16 packed in one 32-bit word (low half = first).
__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
  return (uint32_t)f32_to_bf16(lo) | ((uint32_t)f32_to_bf16(hi) << 16);
}

#define NEG_INF __int_as_float(0xff800000)
