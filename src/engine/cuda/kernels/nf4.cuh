// The NF4 levels and the expansion of packed codes to bf16, for every kernel that reads NF4 weights
// (nf4.cu, nf4_gemm.cu; a kernel names this header on a `// uses: nf4.cuh` line). A byte holds two codes, the
// first element in the high nibble; bf16(level · absmax), each product rounded once.

__constant__ float NF4_LEVELS[16] = {
  -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
  -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
  0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
  0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};

__device__ __forceinline__ uint32_t expand_byte(uint32_t byte, const float* levels, float absmax) {
  return pack_bf16x2(__fmul_rn(levels[byte >> 4], absmax), __fmul_rn(levels[byte & 0xf], absmax));
}

__device__ __forceinline__ uint4 expand_word(uint32_t w, const float* levels, float absmax) {
  return make_uint4(expand_byte(w & 0xff, levels, absmax), expand_byte((w >> 8) & 0xff, levels, absmax),
                    expand_byte((w >> 16) & 0xff, levels, absmax), expand_byte(w >> 24, levels, absmax));
}
