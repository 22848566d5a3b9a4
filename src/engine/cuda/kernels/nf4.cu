// NF4 with double quantisation → bf16 (src/quant/nf4.ts has the layout and the CPU reference).
// uses: nf4.cuh
//
// packed:        [n/2] bytes, two 4-bit codes a byte, the first element in the high nibble
// absmax_codes:  [n/64] uint8 codes of the dynamic map
// absmax_scales: [n/64/256] fp32
// dynamic_map:   [256] fp32
// out:           [n] bf16
// Each thread expands one 4-byte word of codes (8 weights, an eighth of a 64-block) into one 16-byte
// store, so a warp's loads cover 128 contiguous bytes and its stores 512: both coalesced. (Expanding
// 16 packed bytes a thread into four 16-byte stores left each store instruction of a warp 16 bytes
// in every 64, about 1.4 TB/s on an H200.) The 16 levels sit in shared memory: a __constant__ table
// indexed by different codes across a warp would serialise.
//
// nf4_dequantize_bf16_wide does the same arithmetic four words a thread, a block's stride apart, with
// the dynamic map in shared memory too: each thread's four loads of codes and absmax codes are
// issued before any of its arithmetic, so more bytes are in flight per resident thread than the
// one-word kernel's chain of dependent loads (code → map entry → scale) allows.

extern "C" __global__ void nf4_dequantize_bf16(const uint32_t* __restrict__ packed,
                                               const uint8_t* __restrict__ absmax_codes,
                                               const float* __restrict__ absmax_scales,
                                               const float* __restrict__ dynamic_map,
                                               float absmax_offset, int n8, uint4* __restrict__ out) {
  __shared__ float levels[16];
  if (threadIdx.x < 16) levels[threadIdx.x] = NF4_LEVELS[threadIdx.x];
  __syncthreads();
  int i = blockIdx.x * blockDim.x + threadIdx.x;  // index of 8 weights
  if (i >= n8) return;
  int block = i >> 3;                             // 64 weights = 8 words of codes
  float absmax = __fmul_rn(dynamic_map[absmax_codes[block]], absmax_scales[block >> 8]) + absmax_offset;
  out[i] = expand_word(packed[i], levels, absmax);
}

#define NF4_WIDE_WORDS 4

extern "C" __global__ void nf4_dequantize_bf16_wide(const uint32_t* __restrict__ packed,
                                                    const uint8_t* __restrict__ absmax_codes,
                                                    const float* __restrict__ absmax_scales,
                                                    const float* __restrict__ dynamic_map,
                                                    float absmax_offset, int n8, uint4* __restrict__ out) {
  __shared__ float levels[16];
  __shared__ float map[256];
  if (threadIdx.x < 16) levels[threadIdx.x] = NF4_LEVELS[threadIdx.x];
  for (int j = threadIdx.x; j < 256; j += blockDim.x) map[j] = dynamic_map[j];
  __syncthreads();
  int first = blockIdx.x * blockDim.x * NF4_WIDE_WORDS + threadIdx.x;  // index of 8 weights
  uint32_t words[NF4_WIDE_WORDS];
  uint32_t codes[NF4_WIDE_WORDS];
#pragma unroll
  for (int j = 0; j < NF4_WIDE_WORDS; j++) {
    int i = first + j * blockDim.x;
    words[j] = i < n8 ? packed[i] : 0u;
    codes[j] = i < n8 ? absmax_codes[i >> 3] : 0u;
  }
#pragma unroll
  for (int j = 0; j < NF4_WIDE_WORDS; j++) {
    int i = first + j * blockDim.x;
    if (i >= n8) return;
    float absmax = __fmul_rn(map[codes[j]], absmax_scales[i >> 11]) + absmax_offset;
    out[i] = expand_word(words[j], levels, absmax);
  }
}

// The expansion of nf4_dequantize_bf16 into a wider matrix for a LoRA product folded into the base
// one (CudaLoraLinear.foldedForward): out: [rows, ld] bf16, row r = [W[r, 0..cols) | tail], where the
// tail's tail_width = ld − cols columns are zero but for the last rank, which take scale·B[r, :]
// (B: [rows, rank] bf16). Threads past the weight's words write one tail element each. A word's
// 16-byte store needs ld divisible by 8; otherwise it goes as four 4-byte stores (ld even).
extern "C" __global__ void nf4_dequantize_bf16_folded(const uint32_t* __restrict__ packed,
                                                      const uint8_t* __restrict__ absmax_codes,
                                                      const float* __restrict__ absmax_scales,
                                                      const float* __restrict__ dynamic_map,
                                                      float absmax_offset, int rows, int cols, int ld,
                                                      const bf16_t* __restrict__ b, int rank, float scale,
                                                      bf16_t* __restrict__ out) {
  __shared__ float levels[16];
  if (threadIdx.x < 16) levels[threadIdx.x] = NF4_LEVELS[threadIdx.x];
  __syncthreads();
  // 32-bit indices (a weight has fewer than 2^31 words: the host checks), so the row of a word is
  // one 32-bit division
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  int words_per_row = cols >> 3;  // cols divisible by 8: a word never spans two rows
  int n8 = rows * words_per_row;
  int tail_width = ld - cols;
  if (i < n8) {
    int block = i >> 3;  // 64 weights = 8 words of codes
    float absmax = __fmul_rn(dynamic_map[absmax_codes[block]], absmax_scales[block >> 8]) + absmax_offset;
    uint4 v = expand_word(packed[i], levels, absmax);
    int r = i / words_per_row, c = (i - r * words_per_row) << 3;
    bf16_t* dst = out + (size_t)r * ld + c;
    if ((ld & 7) == 0) {
      *reinterpret_cast<uint4*>(dst) = v;
    } else {
      uint32_t* d32 = reinterpret_cast<uint32_t*>(dst);
      d32[0] = v.x; d32[1] = v.y; d32[2] = v.z; d32[3] = v.w;
    }
    return;
  }
  int t = i - n8;  // one tail element
  if (t >= rows * tail_width) return;
  int r = t / tail_width, column = t - r * tail_width;
  int c = column - (tail_width - rank);  // column of B, negative in the zero columns
  out[(size_t)r * ld + cols + column] = c < 0 ? f32_to_bf16(0.0f) : f32_to_bf16(scale * bf16_to_f32(b[r * rank + c]));
}
