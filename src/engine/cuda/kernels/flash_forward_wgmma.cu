// uses: wgmma.cuh, flash_wgmma.cuh
// needs: sm_90a
//
// The forward pass of flash_attention.cu on Hopper's warpgroup MMA (wgmma): the same contract
// (q, o: [B, T, H, d], k, v: [B, T, Hkv, d] token-major bf16; lse: [B, H, T] fp32, natural log;
// query head h reads KV head h / (H / Hkv); key k visible to query q iff k <= q and (window == 0
// or q - k < window)), so the backward kernels take its o and lse as they are.
//
// One block: 64 queries a warpgroup of one head, three warpgroups at d 128 and two at d 64
// (FwBlock; warpgroup g owns rows q0 + 64g ..), against key tiles of 64 that all its warpgroups
// read. Per tile and warpgroup:
//   S = Q·Kᵀ      m64n64k16 over d, Q and K K-major in the 128-byte swizzle (one 64-wide atom
//                 per 64 of d), from shared memory;
//   online softmax in base 2 on the accumulator, in registers (as flash_attention.cu);
//   O += P·V      m64n{d}k16 with bf16(P) as the register A operand (the RS form), V N-major.
// The products are pipelined: tile kt's S is issued together with the previous tile's P·V, and
// this tile's softmax runs while that P·V is on the tensor cores (FlashAttention-3's overlap inside
// a warpgroup); O is rescaled once P·V is done. So P·V of tile kt − 1 still reads its V while tile
// kt + 1 comes in: the key tiles come in with cp.async into a ring of three stages. At the top of an
// iteration every thread waits for its copies and fences them for the async proxy (wgmma reads
// shared memory through it), one __syncthreads publishes the stage and frees the one of tile
// kt − 2, and the next tile is requested into it (flash_next_key_tile).
// A warpgroup skips the products of a tile that holds nothing visible to its rows (above its
// diagonal, or wholly outside the window), finishing the pending P·V there, but still meets every
// barrier.
//
// Instantiations (the host picks by name): flash_forward_wgmma_d64, flash_forward_wgmma_d128,
// grid (ceil(T / FwBlock<D>::QUERIES), H, B), FwBlock<D>::THREADS threads, dynamic shared memory
// FwTiles<D>::SMEM bytes (the host mirrors both: flash-attention.ts).

// Warpgroups a block (of 64 queries each): three at d 128, where 144 registers a thread let a block
// of 384 threads fill an SM and give each scheduler a third warp (0.17 → 0.16 ms a 7B layer,
// bench/results/attention-pipelined-h200), two at d 64.
template <int D>
struct FwBlock {
  static constexpr int WARPGROUPS = D == 128 ? 3 : 2;
  static constexpr int QUERIES = 64 * WARPGROUPS;
  static constexpr int THREADS = 128 * WARPGROUPS;
};
#define FW_BN 64    // keys a tile
#define FW_STAGES 3 // the key tile in use, the one whose P·V is pending, the one coming in

// Byte sizes of the shared tiles; the host mirrors SMEM (flash-attention.ts).
template <int D>
struct FwTiles {
  static constexpr int ATOMS = D / 64;          // 64-wide swizzle atoms of d
  static constexpr int Q_ATOM = FwBlock<D>::QUERIES * 128;  // one atom of the Q tile: a block's rows of 128 bytes
  static constexpr int K_ATOM = FW_BN * 128;    // one atom of a K tile
  static constexpr int V_GROUP = NMajorTile<D>::GROUP; // bytes between 8-key groups of the N-major V tile
  static constexpr int Q_BYTES = ATOMS * Q_ATOM;
  static constexpr int K_BYTES = ATOMS * K_ATOM;
  static constexpr int V_BYTES = FW_BN * D * 2;
  static constexpr int STAGE = K_BYTES + V_BYTES;
  static constexpr int SMEM = Q_BYTES + FW_STAGES * STAGE + 1024;  // + the 1024-byte alignment of the base
};

// O += P·V over one k16 step (keys 16kk .. 16kk + 15): the N-major descriptor's leading offset
// is the distance between 8-key groups, its stride the distance between 8-value chunks.
__device__ __forceinline__ void fw_pv_step(float (&o)[32], const uint32_t (&p)[4], const unsigned char* sv, int kk) {
  wgmma_m64n64k16_rs<1>(o, p, wgmma_descriptor(sv + kk * 2 * FwTiles<64>::V_GROUP, FwTiles<64>::V_GROUP, 128, 0), 1);
}
__device__ __forceinline__ void fw_pv_step(float (&o)[64], const uint32_t (&p)[4], const unsigned char* sv, int kk) {
  wgmma_m64n128k16_rs<1>(o, p, wgmma_descriptor(sv + kk * 2 * FwTiles<128>::V_GROUP, FwTiles<128>::V_GROUP, 128, 0), 1);
}

// O += P·V over a tile's 64 keys, issued, not committed nor waited for. The caller has fenced
// O's and P's registers (wgmma_fence) since it last wrote them.
template <int D>
__device__ __forceinline__ void fw_issue_pv(float (&acc)[D / 2], const uint32_t (&p)[FW_BN / 16][4], const unsigned char* sv) {
#pragma unroll
  for (int kk = 0; kk < FW_BN / 16; kk++) fw_pv_step(acc, p[kk], sv, kk);
}

// Runs the pending tile's O += P·V to its end and clears `pending_v` (nothing when none is pending).
template <int D>
__device__ __forceinline__ void fw_finish_pv(float (&acc)[D / 2], const uint32_t (&p)[FW_BN / 16][4], const unsigned char*& pending_v) {
  if (!pending_v) return;
  fence_accumulators(acc);
  wgmma_fence();
  fw_issue_pv<D>(acc, p, pending_v);
  wgmma_commit();
  wgmma_wait<0>();
  fence_accumulators(acc);
  pending_v = nullptr;
}

template <int D>
__device__ __forceinline__ void flash_forward_wgmma(const bf16_t* __restrict__ q, const bf16_t* __restrict__ k,
                                                    const bf16_t* __restrict__ v, bf16_t* __restrict__ o,
                                                    float* __restrict__ lse, int T, int H, int Hkv, int window, float scale) {
  typedef FwTiles<D> L;
  constexpr int FW_BM = FwBlock<D>::QUERIES, THREADS = FwBlock<D>::THREADS;
  unsigned char* smem = flash_aligned_smem(L::SMEM);
  unsigned char* sq = smem;
  unsigned char* stages = smem + L::Q_BYTES;

  const int tid = threadIdx.x, lane = tid & 31, warp = (tid >> 5) & 3, t4 = lane & 3;
  const int wg = flash_warpgroup();
  const int q0 = (gridDim.x - 1 - blockIdx.x) * FW_BM;  // the longest rows first
  const int qw = q0 + wg * 64;                          // this warpgroup's first row
  const int h = blockIdx.y, b = blockIdx.z, kvh = h / (H / Hkv);
  const long long ldq = (long long)H * D, ldk = (long long)Hkv * D;
  const bf16_t* qb = q + (long long)b * T * ldq + (long long)h * D;
  const bf16_t* kb = k + (long long)b * T * ldk + (long long)kvh * D;
  const bf16_t* vb = v + (long long)b * T * ldk + (long long)kvh * D;
  const float c = scale * FLASH_LOG2E;
  const int kt_lo = window > 0 ? max(0, q0 - window + 1) / FW_BN : 0;
  const int kt_hi = (min(q0 + FW_BM, T) - 1) / FW_BN;

  flash_stage<FW_BM, D, false, THREADS>(sq, qb, ldq, q0, T);
  flash_stage<FW_BN, D, false, THREADS>(stages, kb, ldk, kt_lo * FW_BN, T);
  flash_stage<FW_BN, D, true, THREADS>(stages + L::K_BYTES, vb, ldk, kt_lo * FW_BN, T);
  flash_commit();

  float acc[D / 2];  // O: [64, D] a warpgroup, wgmma's accumulator layout
  float s[32];       // S: [64, 64]
#pragma unroll
  for (int i = 0; i < D / 2; i++) acc[i] = 0.0f;
  float m[2] = {NEG_INF, NEG_INF}, l[2] = {0.0f, 0.0f};
  const int row0 = qw + warp * 16 + (lane >> 2);  // this thread's rows: row0, row0 + 8
  uint32_t p[FW_BN / 16][4];                       // bf16(P) of the pending tile, the A operands of its k16 steps
  const unsigned char* pending_v = nullptr;        // that tile's V, or none pending

  for (int kt = kt_lo; kt <= kt_hi; kt++) {
    unsigned char* stage = stages + ((kt - kt_lo) % FW_STAGES) * L::STAGE;
    unsigned char* next = stages + ((kt + 1 - kt_lo) % FW_STAGES) * L::STAGE;
    flash_next_key_tile<FW_BN, D, true, THREADS>(next, L::K_BYTES, kb, vb, ldk, kt + 1, kt < kt_hi, T);
    const int k0 = kt * FW_BN;
    const bool nothing = k0 > qw + 63 || qw >= T || (window > 0 && qw - (k0 + FW_BN - 1) >= window);
    if (nothing) {
      fw_finish_pv<D>(acc, p, pending_v);
      continue;
    }
    const unsigned char* sk = stage;

    // S = Q·Kᵀ over d (k16 step kk reads atom kk / 4 of both tiles, 32 bytes further a step within
    // it), then the pending tile's O += P·V behind it
    fence_accumulators(acc);
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
      const uint64_t da = swizzled_descriptor(sq + (kk >> 2) * L::Q_ATOM + wg * 64 * 128, kk & 3);
      const uint64_t db = swizzled_descriptor(sk + (kk >> 2) * L::K_ATOM, kk & 3);
      wgmma_m64n64k16<0>(s, da, db, kk > 0);
    }
    wgmma_commit();
    if (pending_v) fw_issue_pv<D>(acc, p, pending_v);
    wgmma_commit();   // P·V's group, empty when none is pending: the waits below then hold on every path
    wgmma_wait<1>();  // S final; P·V may still run
    fence_accumulators(s);

    // entry i: row row0 + 8·((i >> 1) & 1), key k0 + 8·(i >> 2) + 2·t4 + (i & 1)
    const bool edge = k0 + FW_BN - 1 > qw || qw + 64 > T || (window > 0 && qw + 63 - k0 >= window);
    float mx[2] = {m[0], m[1]};
#pragma unroll
    for (int i = 0; i < 32; i++) {
      float x = s[i] * c;
      if (edge && !flash_visible(row0 + ((i >> 1) & 1) * 8, k0 + (i >> 2) * 8 + t4 * 2 + (i & 1), T, window)) x = NEG_INF;
      s[i] = x;
      mx[(i >> 1) & 1] = fmaxf(mx[(i >> 1) & 1], x);
    }
    float base[2], alpha[2];
#pragma unroll
    for (int r = 0; r < 2; r++) {
      mx[r] = quad_max(mx[r]);
      base[r] = mx[r] == NEG_INF ? 0.0f : mx[r];  // a row with nothing visible yet stays at zero
      alpha[r] = exp2f(m[r] - base[r]);
      m[r] = mx[r];
      l[r] *= alpha[r];
    }
#pragma unroll
    for (int i = 0; i < 32; i++) {
      s[i] = exp2f(s[i] - base[(i >> 1) & 1]);
      l[(i >> 1) & 1] += s[i];
    }

    // the pending P·V is done: O holds every tile before this one, rescaled to this tile's maximum
    wgmma_wait<0>();
    fence_accumulators(acc);
#pragma unroll
    for (int i = 0; i < D / 2; i++) acc[i] *= alpha[(i >> 1) & 1];

    // bf16(P) as the A operand of k16 step kk: rows r and r + 8, keys 16kk + 2·t4 (+1) and + 8
#pragma unroll
    for (int kk = 0; kk < FW_BN / 16; kk++) {
      p[kk][0] = pack_bf16x2(s[8 * kk], s[8 * kk + 1]);
      p[kk][1] = pack_bf16x2(s[8 * kk + 2], s[8 * kk + 3]);
      p[kk][2] = pack_bf16x2(s[8 * kk + 4], s[8 * kk + 5]);
      p[kk][3] = pack_bf16x2(s[8 * kk + 6], s[8 * kk + 7]);
    }
    pending_v = stage + L::K_BYTES;
  }
  fw_finish_pv<D>(acc, p, pending_v);
  flash_wait_all();  // no copy may still be writing shared memory when the block exits

#pragma unroll
  for (int r = 0; r < 2; r++) {
    const int row = row0 + r * 8;
    const float sum = quad_sum(l[r]);
    if (row >= T) continue;
    const float inv = 1.0f / sum;
    uint32_t* orow = reinterpret_cast<uint32_t*>(o + ((long long)b * T + row) * ldq + (long long)h * D);
#pragma unroll
    for (int j = 0; j < D / 8; j++) orow[(j * 8 + t4 * 2) / 2] = pack_bf16x2(acc[4 * j + 2 * r] * inv, acc[4 * j + 2 * r + 1] * inv);
    if (t4 == 0) lse[((long long)b * H + h) * T + row] = m[r] / FLASH_LOG2E + logf(sum);
  }
}

#define FW_INSTANCE(D)                                                                                              \
  extern "C" __global__ void __launch_bounds__(FwBlock<D>::THREADS, 1) flash_forward_wgmma_d##D(                            \
      const bf16_t* __restrict__ q, const bf16_t* __restrict__ k, const bf16_t* __restrict__ v, bf16_t* __restrict__ o, \
      float* __restrict__ lse, int T, int H, int Hkv, int window, float scale) {                                   \
    flash_forward_wgmma<D>(q, k, v, o, lse, T, H, Hkv, window, scale);                                            \
  }
FW_INSTANCE(64)
FW_INSTANCE(128)
