// uses: nf4.cuh, wgmma.cuh
// needs: sm_90a
//
// Products with an NF4 weight W: [N, K] (double quantisation, nf4.cu's layout) that never write a
// bf16 copy of W to global memory: each W tile is expanded by the block's producer warps straight
// into the shared tile that wgmma reads, with fp32 accumulation. They remove the expansion pass
// (11 ms of a 7B step at 1 × 2048, bench/notes/cuda.md) if they keep near cuBLAS's rate.
//
//   nf4_gemm_bf16      y: [M, N] (+)= x: [M, K] · Wᵀ       the forward;        N % 128, K % 64 == 0
//   nf4_gemm_dx_bf16   dx: [M, K] (+)= dy: [M, N] · W      the input gradient; K % 128, N % 64 == 0
//
// One block: 3 warpgroups (384 threads) on a 128 × 128 output tile, any M. Warpgroup 0 produces:
// for each 64-wide reduction tile it copies the activation's 128 rows with cp.async into a
// 128-byte-swizzled K-major tile and expands W's tile into one of STAGES shared stages; warpgroups 1
// and 2 consume, each running m64n128k16 over its 64 rows. The producer issues a tile's W loads one
// tile ahead and looks the absmax codes up in a shared copy of the dynamic map (the first version,
// loading and waiting each tile, ran at a fifth of cuBLAS's rate: bench/results/nf4-fused-h200). Two mbarriers a stage: `full` (the
// producer's 128 cp.async arrivals and its 128 arrivals after the expanded stores) and `empty` (the
// consumers' 256 arrivals once their products of the stage are done).
//
// The W tile: for the forward, 128 rows of W (output channels) × the 64 reduction columns, one NF4
// block a row, K-major and swizzled like x. For the input gradient the reduction runs over W's rows,
// so the tile is 64 rows (reduction) × 128 columns (output), N-major without swizzle: core matrix
// (row group g, column chunk c) at c·128 + g·2048 bytes, one 16-byte row of it per word of 8
// codes. Its descriptor offsets (`lead`, `stride`) come from the host, which the wgmma probe's
// N-major test pins down (test/engine/cuda/wgmma.test.ts).

#define GEMM_THREADS 384
#define GEMM_STAGES 4
#define GEMM_TILE_BYTES (128 * 64 * 2)  // one 128 × 64 bf16 tile
#define GEMM_STAGE_BYTES (2 * GEMM_TILE_BYTES)

template <bool DX>
__device__ __forceinline__ void nf4_gemm(bf16_t* __restrict__ out, const bf16_t* __restrict__ act, const uint32_t* __restrict__ packed,
                                         const uint8_t* __restrict__ absmax_codes, const float* __restrict__ absmax_scales,
                                         const float* __restrict__ dynamic_map, float absmax_offset, int M, int N, int K,
                                         int accumulate, uint32_t lead, uint32_t stride) {
  extern __shared__ unsigned char gemm_smem_raw[];
  // the stages 1024-byte aligned (the swizzle works on address bits); the host asks for 1 KiB more
  unsigned char* smem = reinterpret_cast<unsigned char*>((reinterpret_cast<unsigned long long>(gemm_smem_raw) + 1023) & ~1023ull);
  __shared__ __align__(8) uint64_t full[GEMM_STAGES];
  __shared__ __align__(8) uint64_t empty[GEMM_STAGES];
  __shared__ float levels[16];
  __shared__ float quant_map[256];  // the absmax codes' dynamic map: a shared lookup instead of a dependent global load

  const int wg = threadIdx.x >> 7, t = threadIdx.x & 127;
  const int c0 = blockIdx.x * 128, m0 = blockIdx.y * 128;  // output columns, rows
  const int reduction = DX ? N : K, out_cols = DX ? K : N;
  const int tiles = reduction / 64;
  if (threadIdx.x < 16) levels[threadIdx.x] = NF4_LEVELS[threadIdx.x];
  if (threadIdx.x < 256) quant_map[threadIdx.x] = dynamic_map[threadIdx.x];
  if (threadIdx.x == 0) {
    for (int s = 0; s < GEMM_STAGES; s++) {
      mbarrier_init(&full[s], 256);
      mbarrier_init(&empty[s], 256);
    }
    mbarrier_init_fence();
  }
  __syncthreads();

  if (wg == 0) {
    // ---- producer ---------------------------------------------------------------------------------
    // W: 1024 words of 8 codes a tile (forward: 128 rows × 8 words; input gradient: 64 rows × 16
    // words), 8 a thread. Their global loads are issued one tile ahead, into `next`, so that their
    // latency passes while this tile's stage is awaited and expanded: with four warps and nothing
    // else to switch to, a load waited on at once costs the producer its whole latency every tile.
    const auto word_at = [&](int kt, int j) -> long long {
      const int i = t + j * 128, r0 = kt * 64;
      return DX ? ((long long)(r0 + (i >> 4)) * K + c0) / 8 + (i & 15) : ((long long)(c0 + (i >> 3)) * K + r0) / 8 + (i & 7);
    };
    uint32_t words[8], codes[8];
    float scales[8];
    const auto load_tile = [&](int kt, uint32_t* w, uint32_t* c, float* sc) {
#pragma unroll
      for (int j = 0; j < 8; j++) {
        const long long word = word_at(kt, j), block = word >> 3;
        w[j] = packed[word];
        c[j] = absmax_codes[block];
        sc[j] = absmax_scales[block >> 8];
      }
    };
    load_tile(0, words, codes, scales);
    for (int kt = 0; kt < tiles; kt++) {
      const int s = kt % GEMM_STAGES;
      const int r0 = kt * 64;  // first reduction index of the tile
      uint32_t next_words[8], next_codes[8];
      float next_scales[8];
      if (kt + 1 < tiles) load_tile(kt + 1, next_words, next_codes, next_scales);
      // the stage's previous products are done (the first round passes: a fresh barrier)
      mbarrier_wait(&empty[s], ((kt / GEMM_STAGES) & 1) ^ 1);
      unsigned char* sa = smem + s * GEMM_STAGE_BYTES;
      unsigned char* sb = sa + GEMM_TILE_BYTES;
#pragma unroll
      for (int j = 0; j < 8; j++) {  // the activation: 128 rows × 8 chunks of 16 bytes
        const int i = t + j * 128, r = i >> 3, c = i & 7;
        const int row = m0 + r;
        cp_async_16_zfill(sa + swizzle128(r, c), act + (long long)min(row, M - 1) * reduction + r0 + c * 8, row < M);
      }
      cp_async_arrive_noinc(&full[s]);
#pragma unroll
      for (int j = 0; j < 8; j++) {
        const int i = t + j * 128;
        const int at = DX ? (i & 15) * 128 + ((i >> 4) >> 3) * 2048 + ((i >> 4) & 7) * 16 : swizzle128(i >> 3, i & 7);
        const float absmax = __fmul_rn(quant_map[codes[j]], scales[j]) + absmax_offset;
        *reinterpret_cast<uint4*>(sb + at) = expand_word(words[j], levels, absmax);
      }
      fence_proxy_async_shared();
      mbarrier_arrive(&full[s]);
#pragma unroll
      for (int j = 0; j < 8; j++) {
        words[j] = next_words[j];
        codes[j] = next_codes[j];
        scales[j] = next_scales[j];
      }
    }
    return;
  }

  // ---- consumers: warpgroup 1 rows 0..63 of the tile, warpgroup 2 rows 64..127 --------------------
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
    for (int kk = 0; kk < 4; kk++) {
      // a k16 step: 32 bytes into each swizzled row; two 8-row groups of the N-major tile
      const uint64_t db = DX ? wgmma_descriptor(sb + kk * 4096, lead, stride, 0) : swizzled_descriptor(sb, kk);
      wgmma_m64n128k16<DX ? 1 : 0>(d, swizzled_descriptor(sa, kk), db, kt > 0 || kk > 0);
    }
    wgmma_commit();
    fence_accumulators(d);
    // the previous tile's products are done: its stage may be refilled
    wgmma_wait<1>();
    if (kt > 0) mbarrier_arrive(&empty[(kt - 1) % GEMM_STAGES]);
  }
  wgmma_wait<0>();
  fence_accumulators(d);

  const int warp = (threadIdx.x >> 5) & 3, lane = threadIdx.x & 31;
  const int row0 = m0 + half * 64 + warp * 16 + (lane >> 2);
#pragma unroll
  for (int j = 0; j < 16; j++) {
    const int col = c0 + 8 * j + 2 * (lane & 3);
#pragma unroll
    for (int h = 0; h < 2; h++) {
      const int row = row0 + 8 * h;
      if (row >= M) continue;
      uint32_t* o = reinterpret_cast<uint32_t*>(out + (long long)row * out_cols + col);
      float v0 = d[4 * j + 2 * h], v1 = d[4 * j + 2 * h + 1];
      if (accumulate) {
        const uint32_t old = *o;
        v0 += __uint_as_float(old << 16);
        v1 += __uint_as_float(old & 0xffff0000u);
      }
      *o = pack_bf16x2(v0, v1);
    }
  }
}

extern "C" __global__ void __launch_bounds__(GEMM_THREADS) nf4_gemm_bf16(bf16_t* __restrict__ y, const bf16_t* __restrict__ x,
                                                                         const uint32_t* __restrict__ packed,
                                                                         const uint8_t* __restrict__ absmax_codes,
                                                                         const float* __restrict__ absmax_scales,
                                                                         const float* __restrict__ dynamic_map,
                                                                         float absmax_offset, int M, int N, int K, int accumulate) {
  nf4_gemm<false>(y, x, packed, absmax_codes, absmax_scales, dynamic_map, absmax_offset, M, N, K, accumulate, 0, 0);
}

// lead, stride: the N-major W tile's descriptor offsets in bytes (2048 and 128 for the layout above)
extern "C" __global__ void __launch_bounds__(GEMM_THREADS) nf4_gemm_dx_bf16(bf16_t* __restrict__ dx, const bf16_t* __restrict__ dy,
                                                                            const uint32_t* __restrict__ packed,
                                                                            const uint8_t* __restrict__ absmax_codes,
                                                                            const float* __restrict__ absmax_scales,
                                                                            const float* __restrict__ dynamic_map,
                                                                            float absmax_offset, int M, int N, int K, int accumulate,
                                                                            uint32_t lead, uint32_t stride) {
  nf4_gemm<true>(dx, dy, packed, absmax_codes, absmax_scales, dynamic_map, absmax_offset, M, N, K, accumulate, lead, stride);
}
