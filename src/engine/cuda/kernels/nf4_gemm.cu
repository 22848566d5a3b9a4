// uses: nf4.cuh, wgmma.cuh
// needs: sm_90a
//
// y: [M, N] bf16 (+)= x: [M, K] bf16 · Wᵀ, W: [N, K] NF4 with double quantisation (nf4.cu's
// layout), fp32 accumulation, without a bf16 copy of W in global memory: each W tile is expanded
// by the block's producer warps straight into the swizzled shared tile that wgmma reads. It
// removes the expansion pass (11 ms of a 7B step at 1 × 2048, bench/notes/cuda.md) if the
// product itself keeps near cuBLAS's rate. N % 128 == 0, K % 64 == 0, any M.
//
// One block: 3 warpgroups (384 threads) on a 128 × 128 tile of y. Warpgroup 0 produces: for each
// 64-wide K tile it copies x's 128 rows with cp.async and expands W's 128 rows (one NF4 block of
// 64 weights a row, one absmax) into one of STAGES shared stages. Warpgroups 1 and 2 consume: each
// runs m64n128k16 over its 64 rows. Two mbarriers a stage: `full` (the producer's 128 cp.async
// arrivals and its 128 arrivals after the expanded stores) and `empty` (the consumers' 256 arrivals
// once their products of the stage are done).

#define GEMM_THREADS 384
#define GEMM_STAGES 4
#define GEMM_TILE_BYTES (128 * 64 * 2)  // one 128 × 64 bf16 tile, 128-byte swizzled
#define GEMM_STAGE_BYTES (2 * GEMM_TILE_BYTES)

extern "C" __global__ void __launch_bounds__(GEMM_THREADS) nf4_gemm_bf16(bf16_t* __restrict__ y, const bf16_t* __restrict__ x,
                                                                         const uint32_t* __restrict__ packed,
                                                                         const uint8_t* __restrict__ absmax_codes,
                                                                         const float* __restrict__ absmax_scales,
                                                                         const float* __restrict__ dynamic_map,
                                                                         float absmax_offset, int M, int N, int K, int accumulate) {
  extern __shared__ unsigned char gemm_smem_raw[];
  // the stages 1024-byte aligned (the swizzle works on address bits); the host asks for 1 KiB more
  unsigned char* smem = reinterpret_cast<unsigned char*>((reinterpret_cast<unsigned long long>(gemm_smem_raw) + 1023) & ~1023ull);
  __shared__ __align__(8) uint64_t full[GEMM_STAGES];
  __shared__ __align__(8) uint64_t empty[GEMM_STAGES];
  __shared__ float levels[16];

  const int wg = threadIdx.x >> 7, t = threadIdx.x & 127;
  const int n0 = blockIdx.x * 128, m0 = blockIdx.y * 128;
  const int tiles = K / 64;
  if (threadIdx.x < 16) levels[threadIdx.x] = NF4_LEVELS[threadIdx.x];
  if (threadIdx.x == 0) {
    for (int s = 0; s < GEMM_STAGES; s++) {
      mbarrier_init(&full[s], 256);
      mbarrier_init(&empty[s], 256);
    }
    mbarrier_init_fence();
  }
  __syncthreads();

  if (wg == 0) {
    // ---- producer -------------------------------------------------------------------------------
    for (int kt = 0; kt < tiles; kt++) {
      const int s = kt % GEMM_STAGES;
      const int k0 = kt * 64;
      // the stage's previous products are done (the first round passes: a fresh barrier)
      mbarrier_wait(&empty[s], ((kt / GEMM_STAGES) & 1) ^ 1);
      unsigned char* sa = smem + s * GEMM_STAGE_BYTES;
      unsigned char* sb = sa + GEMM_TILE_BYTES;
#pragma unroll
      for (int j = 0; j < 8; j++) {  // x: 128 rows × 8 chunks of 16 bytes
        const int i = t + j * 128, r = i >> 3, c = i & 7;
        const int row = m0 + r;
        cp_async_16_zfill(sa + swizzle128(r, c), x + (long long)min(row, M - 1) * K + k0 + c * 8, row < M);
      }
      cp_async_arrive_noinc(&full[s]);
      // W: 128 rows × 8 words of codes; every load first, then the arithmetic
      uint32_t words[8];
      float absmax[8];
#pragma unroll
      for (int j = 0; j < 8; j++) {
        const int i = t + j * 128, r = i >> 3, c = i & 7;
        const long long word = ((long long)(n0 + r) * K + k0) / 8 + c;
        words[j] = packed[word];
        const long long block = word >> 3;
        absmax[j] = __fmul_rn(dynamic_map[absmax_codes[block]], absmax_scales[block >> 8]) + absmax_offset;
      }
#pragma unroll
      for (int j = 0; j < 8; j++) {
        const int i = t + j * 128, r = i >> 3, c = i & 7;
        *reinterpret_cast<uint4*>(sb + swizzle128(r, c)) = expand_word(words[j], levels, absmax[j]);
      }
      fence_proxy_async_shared();
      mbarrier_arrive(&full[s]);
    }
    return;
  }

  // ---- consumers: warpgroup 1 rows 0..63 of the tile, warpgroup 2 rows 64..127 ----------------------
  const int half = wg - 1;
  float d[64];
#pragma unroll
  for (int i = 0; i < 64; i++) d[i] = 0.0f;
  for (int kt = 0; kt < tiles; kt++) {
    const int s = kt % GEMM_STAGES;
    mbarrier_wait(&full[s], (kt / GEMM_STAGES) & 1);
    fence_proxy_async_shared();
    const unsigned char* sa = smem + s * GEMM_STAGE_BYTES + half * (GEMM_TILE_BYTES / 2);
    const unsigned char* sb = smem + s * GEMM_STAGE_BYTES + GEMM_TILE_BYTES;
    fence_accumulators(d);
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < 4; kk++) wgmma_m64n128k16(d, swizzled_descriptor(sa, kk), swizzled_descriptor(sb, kk), kt > 0 || kk > 0);
    wgmma_commit();
    fence_accumulators(d);
    // the previous tile's products are done: its stage may be refilled
    wgmma_wait<1>();
    if (kt > 0) mbarrier_arrive(&empty[(kt - 1) % GEMM_STAGES]);
  }
  wgmma_wait<0>();
  fence_accumulators(d);

  const int warp = (threadIdx.x >> 5) & 3, lane = threadIdx.x & 31;
  const int r0 = m0 + half * 64 + warp * 16 + (lane >> 2);
#pragma unroll
  for (int j = 0; j < 16; j++) {
    const int col = n0 + 8 * j + 2 * (lane & 3);
#pragma unroll
    for (int h = 0; h < 2; h++) {
      const int row = r0 + 8 * h;
      if (row >= M) continue;
      uint32_t* out = reinterpret_cast<uint32_t*>(y + (long long)row * N + col);
      float v0 = d[4 * j + 2 * h], v1 = d[4 * j + 2 * h + 1];
      if (accumulate) {
        const uint32_t old = *out;
        v0 += __uint_as_float(old << 16);
        v1 += __uint_as_float(old & 0xffff0000u);
      }
      *out = pack_bf16x2(v0, v1);
    }
  }
}
