// What the wgmma attention kernels (flash_forward_wgmma.cu, flash_backward_wgmma.cu) share: two
// warpgroups a block, token-major rows staged with cp.async into the two tile layouts wgmma reads,
// and the causal/window mask. Needs wgmma.cuh before it (a kernel's uses line names both, in order).

#define FLASH_WG_THREADS 256  // two warpgroups of 128
#define FLASH_LOG2E 1.4426950408889634f

// Bytes between the 8-row groups of an N-major (unswizzled) tile with D columns: a core matrix is
// 8 rows × 8 values (128 bytes), and a group holds D / 8 of them.
template <int D>
struct NMajorTile {
  static constexpr int GROUP = (D / 8) * 128;
};

// This thread's warpgroup, read from lane 0 so that the compiler knows it is the same across the
// warp: branches on it (and on what follows from it) are then not divergent, and ptxas keeps
// wgmma products in flight across them instead of serialising them.
__device__ __forceinline__ int flash_warpgroup() { return __shfl_sync(0xffffffff, (int)(threadIdx.x >> 7), 0); }

__device__ __forceinline__ void flash_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void flash_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }

__device__ __forceinline__ uint32_t flash_dynamic_smem_bytes() {
  uint32_t r;
  asm("mov.u32 %0, %%dynamic_smem_size;\n" : "=r"(r));
  return r;
}

// The block's dynamic shared memory from its first 1024-byte boundary (swizzled tiles need it);
// traps when the launch gave fewer than `bytes` (the host sizes it from constants of its own).
__device__ __forceinline__ unsigned char* flash_aligned_smem(uint32_t bytes) {
  extern __shared__ unsigned char flash_smem_raw[];
  if (flash_dynamic_smem_bytes() < bytes) __trap();
  return flash_smem_raw + ((1024 - (smem_addr(flash_smem_raw) & 1023)) & 1023);
}

// Rows [r0, r0 + R) × all of d of a token-major tensor (row stride ld) → a shared tile, 16 bytes
// a copy; rows at or past T are zero-filled (their address clamped to row T - 1, which exists).
// K-major: R rows in the 128-byte swizzle, chunk c of row r in atom c / 8 (atoms R·128 bytes
// apart) at swizzle128(r, c % 8). N-major: core matrix (8-row group r / 8, 8-value chunk c) at
// (r / 8)·GROUP + c·128, row r % 8 of it 16 bytes a row.
// THREADS: the block's threads, which share the copies.
template <int R, int D, bool N_MAJOR, int THREADS = FLASH_WG_THREADS>
__device__ __forceinline__ void flash_stage(unsigned char* s, const bf16_t* g, long long ld, int r0, int T) {
  constexpr int CH = D / 8;
  constexpr int ROUNDS = (R * CH + THREADS - 1) / THREADS;
#pragma unroll
  for (int j = 0; j < ROUNDS; j++) {
    const int i = threadIdx.x + j * THREADS;
    if ((R * CH) % THREADS != 0 && i >= R * CH) break;  // a last round that not every thread has
    const int r = i / CH, c = i % CH, row = r0 + r;
    const int at = N_MAJOR ? (r >> 3) * NMajorTile<D>::GROUP + c * 128 + (r & 7) * 16 : (c >> 3) * (R * 128) + swizzle128(r, c & 7);
    cp_async_16_zfill(s + at, g + (long long)min(row, T - 1) * ld + c * 8, row < T);
  }
}

// The top of a key-tile iteration of the kernels that hold a block of queries and walk the key
// tiles (the forward, dQ): waits for this thread's copies of the current tile, makes them visible
// to the async proxy and, through the barrier, to both warpgroups — which also tells that both are
// done with `next`, the stage the tile after comes into — then requests tile `tile` (R keys from
// row tile·R) of K and V into `next` (V N-major when V_N_MAJOR) when `any`. The barrier is met
// by every thread, whatever it does with the tile.
template <int R, int D, bool V_N_MAJOR, int THREADS = FLASH_WG_THREADS>
__device__ __forceinline__ void flash_next_key_tile(unsigned char* next, int k_bytes, const bf16_t* kb, const bf16_t* vb,
                                                    long long ldk, int tile, bool any, int T) {
  flash_wait_all();
  fence_proxy_async_shared();
  __syncthreads();
  if (any) {
    flash_stage<R, D, false, THREADS>(next, kb, ldk, tile * R, T);
    flash_stage<R, D, V_N_MAJOR, THREADS>(next + k_bytes, vb, ldk, tile * R, T);
  }
  flash_commit();
}

// Key k is visible to query q iff k <= q, q < T and (window == 0 or q - k < window).
__device__ __forceinline__ bool flash_visible(int q, int k, int T, int window) {
  return k <= q && q < T && (window <= 0 || q - k < window);
}
