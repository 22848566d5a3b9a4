// A first Hopper warpgroup MMA (wgmma, sm_90a) from shared memory, checked against the host: the
// building block of a matrix product that reads NF4 tiles itself (bench/notes/cuda.md, "What 2×
// the eager peer at 7B would take"). One block of one warpgroup (128 threads) computes
// c: [64, 64] fp32 = a: [64, K] · bᵀ, b: [64, K], both bf16 row-major (K contiguous), K a multiple
// of 64, with wgmma.mma_async m64n64k16 (fp32 accumulation) over 64-wide K tiles.
//
// Shared layout, K-major without swizzle: a tile [64 rows][64 k] is made of 8×8 "core matrices"
// (8 rows × 16 bytes, rows contiguous, 128 bytes each). Core matrix (row group g, k chunk c) sits
// at g·1024 + c·128 bytes, so within one k16 step the two k chunks are 128 bytes apart (the
// descriptor's leading byte offset) and the row groups 1024 bytes apart (its stride byte offset).

#define PROBE_THREADS 128
typedef unsigned long long uint64_t;
#define TILE_K 64

__device__ __forceinline__ uint32_t probe_smem_u32(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }

// The 64-bit shared memory matrix descriptor: start address, leading and stride byte offsets (all
// in 16-byte units), base offset 0, no swizzle (layout type 0).
__device__ __forceinline__ uint64_t wgmma_descriptor(const void* smem, uint32_t leading_bytes, uint32_t stride_bytes) {
  uint64_t d = (uint64_t)((probe_smem_u32(smem) & 0x3FFFF) >> 4);
  d |= (uint64_t)((leading_bytes >> 4) & 0x3FFF) << 16;
  d |= (uint64_t)((stride_bytes >> 4) & 0x3FFF) << 32;
  return d;
}

// d[0..31] (+)= A·Bᵀ over one k16 step; accumulate = 0 overwrites d.
__device__ __forceinline__ void wgmma_m64n64k16(float (&d)[32], uint64_t desc_a, uint64_t desc_b, int accumulate) {
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "setp.ne.b32 p, %34, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
      "%32, %33, p, 1, 1, 0, 0;\n"
      "}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
        "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
        "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "l"(desc_a), "l"(desc_b), "r"(accumulate));
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_wait_all() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
// Ordinary stores to shared memory made visible to the async proxy that wgmma reads through.
__device__ __forceinline__ void fence_proxy_async_shared() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// rows [0, 64) × k [k0, k0 + 64) of a row-major [64, K] bf16 matrix → the core-matrix layout above
__device__ __forceinline__ void probe_stage(bf16_t* s, const bf16_t* g, int K, int k0) {
  for (int i = threadIdx.x; i < 64 * (TILE_K / 8); i += PROBE_THREADS) {
    int r = i / (TILE_K / 8), c = i % (TILE_K / 8);  // 16 bytes: row r, k chunk c
    const uint4 v = *reinterpret_cast<const uint4*>(g + (long long)r * K + k0 + c * 8);
    *reinterpret_cast<uint4*>(reinterpret_cast<unsigned char*>(s) + (r / 8) * 1024 + c * 128 + (r % 8) * 16) = v;
  }
}

extern "C" __global__ void __launch_bounds__(PROBE_THREADS) wgmma_probe_gemm(float* __restrict__ c, const bf16_t* __restrict__ a,
                                                                              const bf16_t* __restrict__ b, int K) {
  __shared__ __align__(128) bf16_t sa[64 * TILE_K];
  __shared__ __align__(128) bf16_t sb[64 * TILE_K];
  float d[32];
#pragma unroll
  for (int i = 0; i < 32; i++) d[i] = 0.0f;
  for (int k0 = 0; k0 < K; k0 += TILE_K) {
    probe_stage(sa, a, K, k0);
    probe_stage(sb, b, K, k0);
    fence_proxy_async_shared();
    __syncthreads();
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < TILE_K / 16; kk++) {
      // one k16 step: two k chunks, 256 bytes into each row group
      const uint64_t da = wgmma_descriptor(reinterpret_cast<unsigned char*>(sa) + kk * 256, 128, 1024);
      const uint64_t db = wgmma_descriptor(reinterpret_cast<unsigned char*>(sb) + kk * 256, 128, 1024);
      wgmma_m64n64k16(d, da, db, k0 > 0 || kk > 0);
    }
    wgmma_commit();
    wgmma_wait_all();
    __syncthreads();  // every warp's reads of this tile are done before the next is staged
  }
  // accumulator layout: warp w holds rows 16w..16w+15; lane l row 16w + l/4 (+8), columns
  // 8j + 2(l%4) (+1): d[4j] (r, c), d[4j+1] (r, c+1), d[4j+2] (r+8, c), d[4j+3] (r+8, c+1)
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int r = warp * 16 + (lane >> 2);
#pragma unroll
  for (int j = 0; j < 8; j++) {
    const int col = 8 * j + 2 * (lane & 3);
    c[r * 64 + col] = d[4 * j];
    c[r * 64 + col + 1] = d[4 * j + 1];
    c[(r + 8) * 64 + col] = d[4 * j + 2];
    c[(r + 8) * 64 + col + 1] = d[4 * j + 3];
  }
}
