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

// 8 bf16 packed in 16 bytes ↔ 8 floats (the first element in the low half of the first word)
__device__ __forceinline__ void unpack_bf16x8(uint4 w, float* f) {
  const uint32_t u[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
  for (int j = 0; j < 4; j++) {
    f[2 * j] = __uint_as_float(u[j] << 16);
    f[2 * j + 1] = __uint_as_float(u[j] & 0xffff0000u);
  }
}

__device__ __forceinline__ uint4 pack_bf16x8(const float* f) {
  return make_uint4(pack_bf16x2(f[0], f[1]), pack_bf16x2(f[2], f[3]), pack_bf16x2(f[4], f[5]), pack_bf16x2(f[6], f[7]));
}

#define NEG_INF __int_as_float(0xff800000)

// The maximum and the sum over the 4 lanes of a quad (lanes 4g..4g+3): the lanes that hold one
// row of an mma.sync or wgmma accumulator.
__device__ __forceinline__ float quad_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffff, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffff, v, 2));
}
__device__ __forceinline__ float quad_sum(float v) {
  v += __shfl_xor_sync(0xffffffff, v, 1);
  return v + __shfl_xor_sync(0xffffffff, v, 2);
}

// hashUniform of src/engine/cpu/dropout.ts as 32 bits (uniform = bits / 2^32): the stateless
// random numbers every backend draws alike, so a mask or a noise needs no storage.
__device__ __forceinline__ uint32_t hash_uniform_bits(uint32_t seed, long long i) {
  uint32_t h = ((uint32_t)i * 0x9e3779b1u) ^ (seed * 0x85ebca77u);
  h = (h ^ (h >> 16)) * 0x7feb352du;
  h = (h ^ (h >> 15)) * 0x846ca68bu;
  return h ^ (h >> 16);
}
