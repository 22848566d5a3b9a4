// uses: nf4.cuh, wgmma.cuh
// needs: sm_90a
//
// Hopper's warpgroup MMA (wgmma, sm_90a) from shared memory, checked against the host: the
// building block of a matrix product that reads NF4 tiles itself (bench/notes/cuda.md, "Toward an
// NF4-reading matrix product"). One block of one warpgroup (128 threads) computes one 64 × 64 fp32
// tile with wgmma.mma_async m64n64k16 (fp32 accumulation) over 64-wide K tiles, K a multiple of 64:
//
//   wgmma_probe_gemm             c = a·bᵀ, a: [64, K], b: [64, K] bf16 row-major: both K-major,
//                                no swizzle
//   wgmma_probe_gemm_swizzled    the same with both tiles in the 128-byte swizzle
//   wgmma_probe_gemm_mn          c = a·w, w: [K, 64] row-major: B is N-major (transposed), as the
//                                input gradient dx = dy·W reads a weight stored [out, in]
//   nf4_wgmma_probe_gemm         y = x·Wᵀ over a grid of 64 × 64 tiles with W: [N, K] in NF4, each
//                                W tile expanded to bf16 straight into the swizzled shared tile
//                                (no bf16 copy of W in global memory); not pipelined yet
//   wgmma_probe_two_products     attention's two products on one 64 × 64 tile: s = q·kᵀ from shared
//                                tiles, then o = bf16(s)·v with bf16(s) converted in registers into
//                                the A operand of the register form (wgmma_m64n64k16_rs) and v
//                                N-major in shared memory, as a wgmma flash kernel chains them
//   wgmma_probe_flash_forward    o = softmax(scale·q·kᵀ)·v for 64 queries over T keys (T a multiple
//                                of 64, no mask), the two products with the online softmax between
//                                them, one key tile at a time: a flash forward on wgmma, not pipelined
//
// Shared layouts, in "core matrices" of 8 rows × 16 bytes (rows contiguous, 128 bytes each):
// - K-major, no swizzle: core matrix (row group g, k chunk c) at g·1024 + c·128 bytes, so in one
//   k16 step the two k chunks are 128 bytes apart (the descriptor's leading byte offset) and the
//   row groups 1024 (its stride byte offset);
// - K-major, 128-byte swizzle: row r at (r/8)·1024 + (r%8)·128, its 16-byte chunk c at
//   ((c ^ r%8)·16) within the row; a k16 step starts 32 bytes further; stride 1024, leading unused;
//   the tile 1024-byte aligned, since the hardware swizzles by address bits;
// - N-major, no swizzle: core matrix (k group g, n chunk c) holds 8 k rows of 8 n values, at
//   c·128 + g·1024 bytes: n chunks 128 apart (stride byte offset), k groups 1024 (leading).

#define PROBE_THREADS 128
#define TILE_K 64

// The three ways a 64 × 64 tile is staged (see the layouts above), 16 bytes a thread and step.
enum ProbeLayout { K_MAJOR = 0, K_MAJOR_SWIZZLED = 1, N_MAJOR = 2 };

// K-major: rows [0, 64) × k [k0, k0 + 64) of a row-major [64, K] matrix; N-major: k rows
// [k0, k0 + 64) × n [0, 64) of a row-major [K, 64] matrix.
template <int LAYOUT>
__device__ __forceinline__ void probe_stage(unsigned char* s, const bf16_t* g, int K, int k0) {
  for (int i = threadIdx.x; i < 64 * 8; i += PROBE_THREADS) {
    const int r = i / 8, c = i % 8;  // 16 bytes: row r (a row of g), chunk c of its 64 values
    const uint4 v = LAYOUT == N_MAJOR ? *reinterpret_cast<const uint4*>(g + (long long)(k0 + r) * 64 + c * 8)
                                      : *reinterpret_cast<const uint4*>(g + (long long)r * K + k0 + c * 8);
    const int at = LAYOUT == K_MAJOR            ? (r / 8) * 1024 + c * 128 + (r % 8) * 16
                   : LAYOUT == K_MAJOR_SWIZZLED ? swizzle128(r, c)
                                                : c * 128 + (r / 8) * 1024 + (r % 8) * 16;
    *reinterpret_cast<uint4*>(s + at) = v;
  }
}

// The descriptor of k16 step kk of a staged tile. The N-major offsets come from the caller, so the
// test can try the leading and stride offsets both ways round (1024, 128 is the layout above).
template <int LAYOUT>
__device__ __forceinline__ uint64_t probe_descriptor(const unsigned char* s, int kk, uint32_t lead = 1024, uint32_t stride = 128) {
  if (LAYOUT == K_MAJOR) return wgmma_descriptor(s + kk * 256, 128, 1024, 0);
  if (LAYOUT == K_MAJOR_SWIZZLED) return swizzled_descriptor(s, kk);
  return wgmma_descriptor(s + kk * 2048, lead, stride, 0);
}

// d (+)= the staged A tile · the staged B tile over TILE_K: four k16 steps, then waits for them and
// for every warp before the tiles may be staged again. The stores that staged them are fenced
// for the async proxy first.
template <int A_LAYOUT, int B_LAYOUT>
__device__ __forceinline__ void probe_mma_tile(float (&d)[32], const unsigned char* sa, const unsigned char* sb, bool accumulate,
                                               uint32_t b_lead = 1024, uint32_t b_stride = 128) {
  fence_proxy_async_shared();
  __syncthreads();
  fence_accumulators(d);
  wgmma_fence();
#pragma unroll
  for (int kk = 0; kk < TILE_K / 16; kk++) {
    wgmma_m64n64k16<B_LAYOUT == N_MAJOR ? 1 : 0>(d, probe_descriptor<A_LAYOUT>(sa, kk), probe_descriptor<B_LAYOUT>(sb, kk, b_lead, b_stride),
                                                 accumulate || kk > 0);
  }
  wgmma_commit();
  wgmma_wait<0>();
  fence_accumulators(d);
  __syncthreads();
}

// The accumulator into c (row stride ldc): warp w holds rows 16w..16w+15; lane l row 16w + l/4
// (+8), columns 8j + 2(l%4) (+1): d[4j] (r, c), d[4j+1] (r, c+1), d[4j+2] (r+8, c), d[4j+3] (r+8, c+1).
__device__ __forceinline__ void probe_store(float* c, int ldc, const float (&d)[32]) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int r = warp * 16 + (lane >> 2);
#pragma unroll
  for (int j = 0; j < 8; j++) {
    const int col = 8 * j + 2 * (lane & 3);
    c[(long long)r * ldc + col] = d[4 * j];
    c[(long long)r * ldc + col + 1] = d[4 * j + 1];
    c[(long long)(r + 8) * ldc + col] = d[4 * j + 2];
    c[(long long)(r + 8) * ldc + col + 1] = d[4 * j + 3];
  }
}

template <int A_LAYOUT, int B_LAYOUT>
__device__ __forceinline__ void probe_gemm(float* __restrict__ c, const bf16_t* __restrict__ a, const bf16_t* __restrict__ b, int K,
                                           uint32_t b_lead = 1024, uint32_t b_stride = 128) {
  __shared__ __align__(1024) unsigned char sa[64 * TILE_K * 2];
  __shared__ __align__(1024) unsigned char sb[64 * TILE_K * 2];
  float d[32];
#pragma unroll
  for (int i = 0; i < 32; i++) d[i] = 0.0f;
  for (int k0 = 0; k0 < K; k0 += TILE_K) {
    probe_stage<A_LAYOUT>(sa, a, K, k0);
    probe_stage<B_LAYOUT>(sb, b, K, k0);
    probe_mma_tile<A_LAYOUT, B_LAYOUT>(d, sa, sb, k0 > 0, b_lead, b_stride);
  }
  probe_store(c, 64, d);
}

extern "C" __global__ void __launch_bounds__(PROBE_THREADS) wgmma_probe_gemm(float* __restrict__ c, const bf16_t* __restrict__ a,
                                                                              const bf16_t* __restrict__ b, int K) {
  probe_gemm<K_MAJOR, K_MAJOR>(c, a, b, K);
}

extern "C" __global__ void __launch_bounds__(PROBE_THREADS) wgmma_probe_gemm_swizzled(float* __restrict__ c, const bf16_t* __restrict__ a,
                                                                                       const bf16_t* __restrict__ b, int K) {
  probe_gemm<K_MAJOR_SWIZZLED, K_MAJOR_SWIZZLED>(c, a, b, K);
}

extern "C" __global__ void __launch_bounds__(PROBE_THREADS) wgmma_probe_gemm_mn(float* __restrict__ c, const bf16_t* __restrict__ a,
                                                                                const bf16_t* __restrict__ w, int K, uint32_t lead,
                                                                                uint32_t stride) {
  probe_gemm<K_MAJOR, N_MAJOR>(c, a, w, K, lead, stride);
}

// Rows [0, 64) × k [k0, k0 + 64) of an NF4 weight [·, K] (rows of the tile from `row0`), expanded
// into the swizzled K-major layout: each thread one 4-byte word of codes (8 weights) into one
// 16-byte chunk. K % 64 == 0, so a row's 64 weights from k0 are one NF4 block with one absmax.
__device__ __forceinline__ void probe_stage_nf4(unsigned char* s, const uint32_t* __restrict__ packed, const uint8_t* __restrict__ absmax_codes,
                                                const float* __restrict__ absmax_scales, const float* __restrict__ dynamic_map,
                                                float absmax_offset, const float* levels, int row0, int K, int k0) {
  for (int i = threadIdx.x; i < 64 * 8; i += PROBE_THREADS) {
    const int r = i / 8, c = i % 8;
    const long long word = ((long long)(row0 + r) * K + k0) / 8 + c;  // 8 weights a word of codes
    const long long block = word >> 3;                                // 64 weights a block
    const float absmax = __fmul_rn(dynamic_map[absmax_codes[block]], absmax_scales[block >> 8]) + absmax_offset;
    *reinterpret_cast<uint4*>(s + swizzle128(r, c)) = expand_word(packed[word], levels, absmax);
  }
}

// y: [M, N] fp32 = x: [M, K] bf16 · Wᵀ, W: [N, K] NF4 with double quantisation (nf4.cu's layout);
// M, N multiples of 64, K of 64. Grid (N/64, M/64), one warpgroup a 64 × 64 tile of y.
extern "C" __global__ void __launch_bounds__(PROBE_THREADS) nf4_wgmma_probe_gemm(float* __restrict__ y, const bf16_t* __restrict__ x,
                                                                                  const uint32_t* __restrict__ packed,
                                                                                  const uint8_t* __restrict__ absmax_codes,
                                                                                  const float* __restrict__ absmax_scales,
                                                                                  const float* __restrict__ dynamic_map,
                                                                                  float absmax_offset, int N, int K) {
  __shared__ __align__(1024) unsigned char sa[64 * TILE_K * 2];
  __shared__ __align__(1024) unsigned char sb[64 * TILE_K * 2];
  __shared__ float levels[16];
  if (threadIdx.x < 16) levels[threadIdx.x] = NF4_LEVELS[threadIdx.x];
  __syncthreads();
  const int n0 = blockIdx.x * 64, m0 = blockIdx.y * 64;
  float d[32];
#pragma unroll
  for (int i = 0; i < 32; i++) d[i] = 0.0f;
  for (int k0 = 0; k0 < K; k0 += TILE_K) {
    probe_stage<K_MAJOR_SWIZZLED>(sa, x + (long long)m0 * K, K, k0);
    probe_stage_nf4(sb, packed, absmax_codes, absmax_scales, dynamic_map, absmax_offset, levels, n0, K, k0);
    probe_mma_tile<K_MAJOR_SWIZZLED, K_MAJOR_SWIZZLED>(d, sa, sb, k0 > 0);
  }
  probe_store(y + (long long)m0 * N + n0, N, d);
}

// The accumulator of s = q·kᵀ as the register A operand of k16 step kk of o = p·v (p = bf16(s)):
// columns 16kk..16kk+15 of s are n8 tiles 2kk and 2kk+1 of the accumulator. order 0 takes
// wgmma_m64n64k16_rs's layout (a[1] the row + 8, a[2] the columns + 8); order 1 swaps a[1] and
// a[2], so that one GPU run says which reading of the fragment figure holds.
__device__ __forceinline__ void probe_accumulator_to_a(uint32_t (&a)[4], const float (&d)[32], int kk, int order) {
  const uint32_t rows0 = pack_bf16x2(d[8 * kk], d[8 * kk + 1]);          // row r, columns 16kk + 2t, +1
  const uint32_t rows8 = pack_bf16x2(d[8 * kk + 2], d[8 * kk + 3]);      // row r + 8
  const uint32_t cols8 = pack_bf16x2(d[8 * kk + 4], d[8 * kk + 5]);      // row r, columns + 8
  const uint32_t both = pack_bf16x2(d[8 * kk + 6], d[8 * kk + 7]);       // row r + 8, columns + 8
  a[0] = rows0;
  a[1] = order == 0 ? rows8 : cols8;
  a[2] = order == 0 ? cols8 : rows8;
  a[3] = both;
}

// s: [64, 64] fp32 = q·kᵀ (q, k: [64, 64] bf16 row-major, both K-major and swizzled in shared
// memory); o: [64, 64] fp32 = bf16(s)·v (v: [64 keys, 64] bf16 row-major, N-major in shared memory).
extern "C" __global__ void __launch_bounds__(PROBE_THREADS) wgmma_probe_two_products(float* __restrict__ s_out, float* __restrict__ o_out,
                                                                                      const bf16_t* __restrict__ q, const bf16_t* __restrict__ k,
                                                                                      const bf16_t* __restrict__ v, int order) {
  __shared__ __align__(1024) unsigned char sq[64 * TILE_K * 2];
  __shared__ __align__(1024) unsigned char sk[64 * TILE_K * 2];
  __shared__ __align__(1024) unsigned char sv[64 * TILE_K * 2];
  float s[32], o[32];
#pragma unroll
  for (int i = 0; i < 32; i++) s[i] = o[i] = 0.0f;
  probe_stage<K_MAJOR_SWIZZLED>(sq, q, TILE_K, 0);
  probe_stage<K_MAJOR_SWIZZLED>(sk, k, TILE_K, 0);
  probe_stage<N_MAJOR>(sv, v, TILE_K, 0);
  probe_mma_tile<K_MAJOR_SWIZZLED, K_MAJOR_SWIZZLED>(s, sq, sk, false);  // fences the stores of all three tiles
  probe_store(s_out, 64, s);
  uint32_t p[TILE_K / 16][4];
#pragma unroll
  for (int kk = 0; kk < TILE_K / 16; kk++) probe_accumulator_to_a(p[kk], s, kk, order);
  fence_accumulators(o);
  wgmma_fence();  // orders the writes of p before the products that read them
#pragma unroll
  for (int kk = 0; kk < TILE_K / 16; kk++) wgmma_m64n64k16_rs<1>(o, p[kk], probe_descriptor<N_MAJOR>(sv, kk), kk > 0);
  wgmma_commit();
  wgmma_wait<0>();
  fence_accumulators(o);
  probe_store(o_out, 64, o);
}

// q: [64, 64], k, v: [T, 64] bf16 row-major → o: [64, 64] fp32. Online softmax in base 2 as
// flash_attention.cu does it: each thread's rows r and r + 8 (accumulator entries 4j, 4j+1 and
// 4j+2, 4j+3), their maxima and sums over the 4 lanes of a quad.
extern "C" __global__ void __launch_bounds__(PROBE_THREADS) wgmma_probe_flash_forward(float* __restrict__ o_out, const bf16_t* __restrict__ q,
                                                                                       const bf16_t* __restrict__ k, const bf16_t* __restrict__ v,
                                                                                       int T, float scale, int order) {
  __shared__ __align__(1024) unsigned char sq[64 * TILE_K * 2];
  __shared__ __align__(1024) unsigned char sk[64 * TILE_K * 2];
  __shared__ __align__(1024) unsigned char sv[64 * TILE_K * 2];
  const float c = scale * 1.4426950408889634f;
  float o[32], s[32];
  float m[2] = {NEG_INF, NEG_INF}, l[2] = {0.0f, 0.0f};
#pragma unroll
  for (int i = 0; i < 32; i++) o[i] = 0.0f;
  probe_stage<K_MAJOR_SWIZZLED>(sq, q, TILE_K, 0);
  for (int k0 = 0; k0 < T; k0 += 64) {
    probe_stage<K_MAJOR_SWIZZLED>(sk, k + (long long)k0 * 64, TILE_K, 0);
    probe_stage<N_MAJOR>(sv, v + (long long)k0 * 64, TILE_K, 0);
    probe_mma_tile<K_MAJOR_SWIZZLED, K_MAJOR_SWIZZLED>(s, sq, sk, false);  // s = q·kᵀ of this key tile
    float mx[2] = {m[0], m[1]};
#pragma unroll
    for (int i = 0; i < 32; i++) {
      s[i] *= c;
      mx[(i >> 1) & 1] = fmaxf(mx[(i >> 1) & 1], s[i]);
    }
    float alpha[2];
#pragma unroll
    for (int r = 0; r < 2; r++) {
      mx[r] = quad_max(mx[r]);
      alpha[r] = exp2f(m[r] - mx[r]);  // 0 on the first tile (m = −inf)
      m[r] = mx[r];
      l[r] *= alpha[r];
    }
#pragma unroll
    for (int i = 0; i < 32; i++) {
      s[i] = exp2f(s[i] - m[(i >> 1) & 1]);
      l[(i >> 1) & 1] += s[i];
      o[i] *= alpha[(i >> 1) & 1];
    }
    uint32_t p[TILE_K / 16][4];
#pragma unroll
    for (int kk = 0; kk < TILE_K / 16; kk++) probe_accumulator_to_a(p[kk], s, kk, order);
    fence_accumulators(o);
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < TILE_K / 16; kk++) wgmma_m64n64k16_rs<1>(o, p[kk], probe_descriptor<N_MAJOR>(sv, kk), 1);
    wgmma_commit();
    wgmma_wait<0>();
    fence_accumulators(o);
    __syncthreads();  // every warp is done with sk and sv before the next tile is staged
  }
  const float inv[2] = {1.0f / quad_sum(l[0]), 1.0f / quad_sum(l[1])};
#pragma unroll
  for (int i = 0; i < 32; i++) o[i] *= inv[(i >> 1) & 1];
  probe_store(o_out, 64, o);
}
