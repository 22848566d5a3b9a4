// uses: wgmma.cuh, flash_wgmma.cuh, flash_items.cuh
// needs: sm_90a
//
// The backward kernels of flash_attention.cu on Hopper's warpgroup MMA (wgmma): dK/dV here, dQ
// further down (its own section). dK and dV, with the contract
// of flash_backward_dkdv: q, dout: [B, T, H, d], k, v, dk, dv: [B, T, Hkv, d] token-major bf16;
// lse, Dsum: [B, H, T] fp32 (lse in natural log, from either forward; Dsum = rowsum(dO ∘ O));
// dk = scale·Σ dSᵀ·q, dv = Σ Pᵀ·dO over the group's query heads and the queries that see a key.
// dQ is a pass of its own (flash_backward_dq, or flash_backward_dq_wgmma below), so every gradient
// is written by one block, in a fixed order: reproducible bit for bit.
//
// One block: two tiles of 128 keys of one KV head in turn (tile kt and the kt-th from the end, so
// that under the causal mask blocks get the same work), two warpgroups of 64 keys (warpgroup g
// owns keys k0 + 64g ..), against the (query head, query tile of 64) items that see them, which
// both warpgroups read.
// Per item and warpgroup, with the key as the accumulator's row and the query as its column:
//   Sᵀ  = K·Qᵀ    m64n64k16 over d, K (A) and Q (B) K-major in the 128-byte swizzle;
//   dPᵀ = V·dOᵀ   the same with V and dO;
//   Pᵀ  = exp2(c·Sᵀ − log2e·lse[query]), dSᵀ = Pᵀ ∘ (dPᵀ − Dsum[query]), in registers;
//   dV += Pᵀ·dO   m64n{d}k16 with bf16(Pᵀ) as the register A operand, dO read N-major;
//   dK += dSᵀ·Q   the same with bf16(dSᵀ) and Q.
// Sᵀ and dPᵀ are issued together; dV's product runs while dSᵀ is formed.
//
// Q and dO are each read in two layouts from one K-major swizzled tile: K-major for Sᵀ and dPᵀ, and
// N-major for dV and dK through the swizzled N-major descriptor (64-value atoms along d one atom
// apart, 8-query groups 1024 bytes apart). A second, unswizzled N-major copy of each (the layout of
// the forward's V tile) was measured slower at every shape: twice the copies and shared memory
// (bench/results/attention-wgmma-backward-h200).
//
// Items come in with cp.async, double-buffered (the forward's scheme); K and V stay for the block.
// A warpgroup skips the products of an item that holds nothing visible to its keys but meets every
// barrier. With splits > 1 the items are cut into `splits` contiguous ranges, one a block, each
// writing fp32 partials [splits][B, T, Hkv, d] (dk's at `part`, dv's at part + splits·B·T·Hkv·d)
// that flash_attention.cu's flash_dkdv_reduce sums in a fixed order; with one split the block
// writes bf16 directly.
//
// Instantiations: flash_backward_dkdv_wgmma_d{64,128}; grid (ceil(ceil(T / 128) / 2), Hkv·splits,
// B), 256 threads, dynamic shared memory BwTiles<D>::SMEM bytes.

#define BW_BN 128  // keys a block (two warpgroups of 64)
#define BW_BM 64   // queries an item

// Byte sizes of the shared tiles; the host mirrors SMEM (flash-attention.ts).
template <int D>
struct BwTiles {
  static constexpr int ATOMS = D / 64;
  static constexpr int K_ATOM = BW_BN * 128;   // one atom of the K (or V) tile: 128 rows of 128 bytes
  static constexpr int Q_ATOM = BW_BM * 128;   // one atom of a Q (or dO) tile
  static constexpr int K_BYTES = ATOMS * K_ATOM;
  static constexpr int Q_BYTES = ATOMS * Q_ATOM;
  static constexpr int TILES = 2 * Q_BYTES;                   // Q and dO of a stage
  static constexpr int ROWS = 2 * BW_BM * 4;                  // lse and Dsum of a stage's queries
  static constexpr int SMEM = 2 * K_BYTES + 2 * TILES + 2 * ROWS + 1024;  // + the 1024-byte alignment of the base
};

// 4 bytes global → shared, zero-filled when !valid.
__device__ __forceinline__ void bw_cp_async_4(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(valid ? 4 : 0) : "memory");
}

// k16 step kk (queries 16kk .. 16kk + 15) of a stage's [64 queries, d] tile, read N-major.
template <int D>
__device__ __forceinline__ uint64_t bw_n_major(const unsigned char* tile, int kk) {
  return swizzled_n_major_descriptor(tile, kk, BwTiles<D>::Q_ATOM);
}

__device__ __forceinline__ void bw_rs_step(float (&d)[32], const uint32_t (&a)[4], uint64_t desc_b) { wgmma_m64n64k16_rs<1>(d, a, desc_b, 1); }
__device__ __forceinline__ void bw_rs_step(float (&d)[64], const uint32_t (&a)[4], uint64_t desc_b) { wgmma_m64n128k16_rs<1>(d, a, desc_b, 1); }

// x[64 keys, 64 queries] = A·Bᵀ over d, both K-major swizzled: A a warpgroup's 64 rows of the key
// tile, B the item's query tile. Issued, not waited for.
template <int D>
__device__ __forceinline__ void bw_scores(float (&x)[32], const unsigned char* a, const unsigned char* b) {
#pragma unroll
  for (int kk = 0; kk < D / 16; kk++) {
    const uint64_t da = swizzled_descriptor(a + (kk >> 2) * BwTiles<D>::K_ATOM, kk & 3);
    const uint64_t db = swizzled_descriptor(b + (kk >> 2) * BwTiles<D>::Q_ATOM, kk & 3);
    wgmma_m64n64k16<0>(x, da, db, kk > 0);
  }
}

// An accumulator [64, 64] as the bf16 A operands of its four k16 steps over the columns:
// rows r and r + 8, columns 16kk + 2·t4 (+1) and + 8 (the order the RS form reads).
__device__ __forceinline__ void bw_to_operand(uint32_t (&a)[4][4], const float (&x)[32]) {
#pragma unroll
  for (int kk = 0; kk < 4; kk++) {
#pragma unroll
    for (int j = 0; j < 4; j++) a[kk][j] = pack_bf16x2(x[8 * kk + 2 * j], x[8 * kk + 2 * j + 1]);
  }
}

template <int D>
__device__ __forceinline__ void flash_backward_dkdv_wgmma(const bf16_t* __restrict__ q, const bf16_t* __restrict__ k,
                                                          const bf16_t* __restrict__ v, const bf16_t* __restrict__ dout,
                                                          const float* __restrict__ lse, const float* __restrict__ Dsum,
                                                          bf16_t* __restrict__ dk, bf16_t* __restrict__ dv,
                                                          float* __restrict__ part, int T, int H, int Hkv, int window,
                                                          float scale, int splits) {
  typedef BwTiles<D> L;
  unsigned char* smem = flash_aligned_smem(L::SMEM);
  unsigned char* sk = smem;
  unsigned char* sv = sk + L::K_BYTES;
  unsigned char* stages = sv + L::K_BYTES;                                  // 2 × [Q; dO]
  float* rowvals = reinterpret_cast<float*>(stages + 2 * L::TILES);        // 2 × [lse 64; Dsum 64]

  const int tid = threadIdx.x, lane = tid & 31, warp = (tid >> 5) & 3, wg = tid >> 7, t4 = lane & 3;
  // Key tiles kt and tiles − 1 − kt, one after the other: under the causal mask the first sees the
  // most queries and the last the fewest, so every block gets about the same work.
  const int tiles = (T + BW_BN - 1) / BW_BN;
  for (int pass = 0; pass < 2; pass++) {
    const int kt = pass == 0 ? (int)blockIdx.x : tiles - 1 - (int)blockIdx.x;
    if (pass == 1) {
      if (kt == (int)blockIdx.x) break;  // the middle tile of an odd count has no partner
      __syncthreads();                   // both warpgroups are done with the K, V and stage tiles
    }
    const int k0 = kt * BW_BN;
    const int kw = k0 + wg * 64;        // this warpgroup's first key
    const int kvh = blockIdx.y / splits, split = blockIdx.y % splits, b = blockIdx.z;
    const int group = H / Hkv;
    const long long ldq = (long long)H * D, ldk = (long long)Hkv * D;
    const long long koff = (long long)b * T * ldk + (long long)kvh * D;
    const float c = scale * FLASH_LOG2E;
    const DkdvItems items(k0, BW_BN, BW_BM, T, window, group, split, splits);
    const int it_lo = items.lo, it_hi = items.hi;

    // item it → (query head, first query) and its stage's copies
    auto issue = [&](int it, int stage) {
      const int h = items.head(it, kvh, group), qq0 = items.first_query(it, BW_BM);
      const long long qoff = (long long)b * T * ldq + (long long)h * D;
      unsigned char* st = stages + stage * L::TILES;
      flash_stage<BW_BM, D, false>(st, q + qoff, ldq, qq0, T);
      flash_stage<BW_BM, D, false>(st + L::Q_BYTES, dout + qoff, ldq, qq0, T);
      const long long ri = ((long long)b * H + h) * T;
      const int i = tid & (BW_BM - 1), row = qq0 + i;
      if (tid < 2 * BW_BM) bw_cp_async_4(rowvals + stage * 2 * BW_BM + tid, (tid < BW_BM ? lse : Dsum) + ri + min(row, T - 1), row < T);
    };

    flash_stage<BW_BN, D, false>(sk, k + koff, ldk, k0, T);
    flash_stage<BW_BN, D, false>(sv, v + koff, ldk, k0, T);
    if (it_lo < it_hi) issue(it_lo, 0);
    flash_commit();

    float dka[D / 2], dva[D / 2];  // dK, dV: [64 keys, D] a warpgroup, wgmma's accumulator layout
#pragma unroll
    for (int i = 0; i < D / 2; i++) dka[i] = dva[i] = 0.0f;
    float s[32], dp[32];  // Sᵀ (then Pᵀ, then dSᵀ) and dPᵀ: [64 keys, 64 queries]
    const int key0 = kw + warp * 16 + (lane >> 2);  // this thread's keys: key0, key0 + 8
    const unsigned char* ka = sk + wg * 64 * 128;   // this warpgroup's rows of the K and V tiles
    const unsigned char* va = sv + wg * 64 * 128;

    for (int it = it_lo; it < it_hi; it++) {
      const int cur = (it - it_lo) & 1;
      flash_wait_all();
      fence_proxy_async_shared();
      __syncthreads();  // item it ready in stage cur; both warpgroups are done with the other stage
      if (it + 1 < it_hi) issue(it + 1, cur ^ 1);
      flash_commit();
      const int qq0 = items.first_query(it, BW_BM);
      const bool nothing = kw > qq0 + BW_BM - 1 || kw >= T || (window > 0 && qq0 - (kw + 63) >= window);
      if (nothing) continue;
      const unsigned char* sq = stages + cur * L::TILES;
      const unsigned char* sdo = sq + L::Q_BYTES;
      const float* ls = rowvals + cur * 2 * BW_BM;
      const float* ds = ls + BW_BM;

      wgmma_fence();
      bw_scores<D>(s, ka, sq);
      wgmma_commit();
      bw_scores<D>(dp, va, sdo);
      wgmma_commit();
      wgmma_wait<1>();  // Sᵀ final; dPᵀ may still run
      fence_accumulators(s);

      // entry i: key key0 + 8·((i >> 1) & 1), query qq0 + qi with qi = 8·(i >> 2) + 2·t4 + (i & 1)
      const bool edge = kw + 63 > qq0 || qq0 + BW_BM > T || (window > 0 && qq0 + BW_BM - 1 - kw >= window);
#pragma unroll
      for (int i = 0; i < 32; i++) {
        const int qi = 8 * (i >> 2) + 2 * t4 + (i & 1);
        float p = exp2f(s[i] * c - ls[qi] * FLASH_LOG2E);
        if (edge && !flash_visible(qq0 + qi, key0 + 8 * ((i >> 1) & 1), T, window)) p = 0.0f;
        s[i] = p;
      }
      uint32_t pa[4][4];
      bw_to_operand(pa, s);
      fence_accumulators(dva);
      wgmma_fence();  // orders the writes of pa before the product that reads them
#pragma unroll
      for (int kk = 0; kk < 4; kk++) bw_rs_step(dva, pa[kk], bw_n_major<D>(sdo, kk));
      wgmma_commit();
      wgmma_wait<1>();  // dPᵀ final; dV's product may still run
      fence_accumulators(dp);

#pragma unroll
      for (int i = 0; i < 32; i++) s[i] *= dp[i] - ds[8 * (i >> 2) + 2 * t4 + (i & 1)];
      uint32_t da[4][4];
      bw_to_operand(da, s);
      fence_accumulators(dka);
      wgmma_fence();
#pragma unroll
      for (int kk = 0; kk < 4; kk++) bw_rs_step(dka, da[kk], bw_n_major<D>(sq, kk));
      wgmma_commit();
      wgmma_wait<0>();
      fence_accumulators(dva);
      fence_accumulators(dka);
    }
    flash_wait_all();  // no copy may still be writing shared memory when the block exits

    // entry 4j + 2r + e: key key0 + 8r, value 8j + 2·t4 + e
    const long long n = (long long)gridDim.z * T * ldk;  // elements of dk (and of dv)
#pragma unroll
    for (int r = 0; r < 2; r++) {
      const int key = key0 + r * 8;
      if (key >= T) continue;
      const long long at = koff + (long long)key * ldk;
      if (part) {
        float* pk = part + split * n + at;
        float* pv = part + (splits + split) * n + at;
#pragma unroll
        for (int j = 0; j < D / 8; j++) {
          const int col = j * 8 + t4 * 2;
          *reinterpret_cast<float2*>(pk + col) = make_float2(dka[4 * j + 2 * r] * scale, dka[4 * j + 2 * r + 1] * scale);
          *reinterpret_cast<float2*>(pv + col) = make_float2(dva[4 * j + 2 * r], dva[4 * j + 2 * r + 1]);
        }
      } else {
        uint32_t* ok = reinterpret_cast<uint32_t*>(dk + at);
        uint32_t* ov = reinterpret_cast<uint32_t*>(dv + at);
#pragma unroll
        for (int j = 0; j < D / 8; j++) {
          const int col = (j * 8 + t4 * 2) / 2;
          ok[col] = pack_bf16x2(dka[4 * j + 2 * r] * scale, dka[4 * j + 2 * r + 1] * scale);
          ov[col] = pack_bf16x2(dva[4 * j + 2 * r], dva[4 * j + 2 * r + 1]);
        }
      }
    }
  }
}

// ---- dQ ----------------------------------------------------------------------------------------
// dq = scale·Σ dS·k over the keys a query sees, with dS = P ∘ (dP − Dsum[query]), P = exp(scale·q·kᵀ
// − lse[query]), dP = dO·vᵀ: flash_backward_dq's contract (q, dout, dq: [B, T, H, d]; k, v:
// [B, T, Hkv, d]; lse, Dsum: [B, H, T]). The forward's layout: one block 128 queries of one head,
// two warpgroups of 64 (warpgroup g owns rows q0 + 64g ..), Q and dO staged once, key tiles of 64
// (K and V, both K-major swizzled) in a ring of three cp.async stages. Per tile and warpgroup:
//   S  = Q·Kᵀ, dP = dO·Vᵀ   m64n64k16 over d from shared memory, issued together, and behind
//                           them the previous tile's dQ product (so the ring: its K stays);
//   dS = exp2(c·S − log2e·lse[row]) ∘ (dP − Dsum[row]), in registers (the row is the query),
//                           while that dQ product runs;
//   dQ += dS·K              m64n{d}k16 with bf16(dS) as the register A operand, K read N-major,
//                           issued with the next tile's S and dP.
// Instantiations: flash_backward_dq_wgmma_d{64,128}; grid (ceil(T / 128), H, B), 256 threads,
// dynamic shared memory DqTiles<D>::SMEM bytes.

#define DQ_BM 128   // queries a block (two warpgroups of 64)
#define DQ_BN 64    // keys a tile
#define DQ_STAGES 3 // the key tile in use, the one whose dQ product is pending, the one coming in

// Byte sizes of the shared tiles; the host mirrors SMEM (flash-attention.ts).
template <int D>
struct DqTiles {
  static constexpr int ATOMS = D / 64;
  static constexpr int Q_ATOM = DQ_BM * 128;  // one atom of the Q (or dO) tile
  static constexpr int K_ATOM = DQ_BN * 128;  // one atom of a K (or V) tile
  static constexpr int Q_BYTES = ATOMS * Q_ATOM;
  static constexpr int K_BYTES = ATOMS * K_ATOM;
  static constexpr int STAGE = 2 * K_BYTES;                             // K and V
  static constexpr int SMEM = 2 * Q_BYTES + DQ_STAGES * STAGE + 1024;  // Q, dO, the ring, the alignment
};

// dQ += dS·K over a tile's 64 keys (K read N-major), issued, not committed nor waited for.
template <int D>
__device__ __forceinline__ void dq_issue(float (&acc)[D / 2], const uint32_t (&a)[4][4], const unsigned char* sk) {
#pragma unroll
  for (int kk = 0; kk < DQ_BN / 16; kk++) bw_rs_step(acc, a[kk], swizzled_n_major_descriptor(sk, kk, DqTiles<D>::K_ATOM));
}

// Runs the pending tile's dQ += dS·K to its end and clears `pending_k` (nothing when none is pending).
template <int D>
__device__ __forceinline__ void dq_finish(float (&acc)[D / 2], const uint32_t (&a)[4][4], const unsigned char*& pending_k) {
  if (!pending_k) return;
  wgmma_fence();
  dq_issue<D>(acc, a, pending_k);
  wgmma_commit();
  wgmma_wait<0>();
  fence_accumulators(acc);
  pending_k = nullptr;
}

template <int D>
__device__ __forceinline__ void flash_backward_dq_wgmma(const bf16_t* __restrict__ q, const bf16_t* __restrict__ k,
                                                        const bf16_t* __restrict__ v, const bf16_t* __restrict__ dout,
                                                        const float* __restrict__ lse, const float* __restrict__ Dsum,
                                                        bf16_t* __restrict__ dq, int T, int H, int Hkv, int window,
                                                        float scale) {
  typedef DqTiles<D> L;
  unsigned char* smem = flash_aligned_smem(L::SMEM);
  unsigned char* sq = smem;
  unsigned char* sdo = sq + L::Q_BYTES;
  unsigned char* stages = sdo + L::Q_BYTES;

  const int tid = threadIdx.x, lane = tid & 31, warp = (tid >> 5) & 3, t4 = lane & 3;
  const int wg = flash_warpgroup();
  const int q0 = (gridDim.x - 1 - blockIdx.x) * DQ_BM;  // the longest rows first
  const int qw = q0 + wg * 64;                          // this warpgroup's first row
  const int h = blockIdx.y, b = blockIdx.z, kvh = h / (H / Hkv);
  const long long ldq = (long long)H * D, ldk = (long long)Hkv * D;
  const long long qoff = (long long)b * T * ldq + (long long)h * D;
  const bf16_t* kb = k + (long long)b * T * ldk + (long long)kvh * D;
  const bf16_t* vb = v + (long long)b * T * ldk + (long long)kvh * D;
  const float c = scale * FLASH_LOG2E;
  const int kt_lo = window > 0 ? max(0, q0 - window + 1) / DQ_BN : 0;
  const int kt_hi = (min(q0 + DQ_BM, T) - 1) / DQ_BN;

  flash_stage<DQ_BM, D, false>(sq, q + qoff, ldq, q0, T);
  flash_stage<DQ_BM, D, false>(sdo, dout + qoff, ldq, q0, T);
  flash_stage<DQ_BN, D, false>(stages, kb, ldk, kt_lo * DQ_BN, T);
  flash_stage<DQ_BN, D, false>(stages + L::K_BYTES, vb, ldk, kt_lo * DQ_BN, T);
  flash_commit();

  const int row0 = qw + warp * 16 + (lane >> 2);  // this thread's rows: row0, row0 + 8
  float lr[2], dr[2];                              // their lse in base 2 and Dsum (rows past T: masked)
#pragma unroll
  for (int r = 0; r < 2; r++) {
    const long long ri = ((long long)b * H + h) * T + min(row0 + 8 * r, T - 1);
    lr[r] = lse[ri] * FLASH_LOG2E;
    dr[r] = Dsum[ri];
  }
  float acc[D / 2];  // dQ: [64, D] a warpgroup, wgmma's accumulator layout
  float s[32], dp[32];
#pragma unroll
  for (int i = 0; i < D / 2; i++) acc[i] = 0.0f;
  uint32_t a[4][4];                         // bf16(dS) of the pending tile, the A operands of its k16 steps
  const unsigned char* pending_k = nullptr;  // that tile's K, or none pending

  for (int kt = kt_lo; kt <= kt_hi; kt++) {
    unsigned char* stage = stages + ((kt - kt_lo) % DQ_STAGES) * L::STAGE;
    unsigned char* next = stages + ((kt + 1 - kt_lo) % DQ_STAGES) * L::STAGE;
    flash_next_key_tile<DQ_BN, D, false>(next, L::K_BYTES, kb, vb, ldk, kt + 1, kt < kt_hi, T);
    const int k0 = kt * DQ_BN;
    const bool nothing = k0 > qw + 63 || qw >= T || (window > 0 && qw - (k0 + DQ_BN - 1) >= window);
    if (nothing) {
      dq_finish<D>(acc, a, pending_k);
      continue;
    }
    const unsigned char* sk = stage;
    const unsigned char* sv = sk + L::K_BYTES;

    fence_accumulators(acc);
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
      const uint64_t da = swizzled_descriptor(sq + (kk >> 2) * L::Q_ATOM + wg * 64 * 128, kk & 3);
      wgmma_m64n64k16<0>(s, da, swizzled_descriptor(sk + (kk >> 2) * L::K_ATOM, kk & 3), kk > 0);
    }
    wgmma_commit();
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
      const uint64_t da = swizzled_descriptor(sdo + (kk >> 2) * L::Q_ATOM + wg * 64 * 128, kk & 3);
      wgmma_m64n64k16<0>(dp, da, swizzled_descriptor(sv + (kk >> 2) * L::K_ATOM, kk & 3), kk > 0);
    }
    wgmma_commit();
    if (pending_k) dq_issue<D>(acc, a, pending_k);
    wgmma_commit();   // the dQ product's group, empty when none is pending: the waits hold on every path
    wgmma_wait<2>();  // S final; dP and the dQ product may still run
    fence_accumulators(s);

    // entry i: row row0 + 8·((i >> 1) & 1), key k0 + 8·(i >> 2) + 2·t4 + (i & 1)
    const bool edge = k0 + DQ_BN - 1 > qw || qw + 64 > T || (window > 0 && qw + 63 - k0 >= window);
#pragma unroll
    for (int i = 0; i < 32; i++) {
      float p = exp2f(s[i] * c - lr[(i >> 1) & 1]);
      if (edge && !flash_visible(row0 + ((i >> 1) & 1) * 8, k0 + (i >> 2) * 8 + t4 * 2 + (i & 1), T, window)) p = 0.0f;
      s[i] = p;
    }
    wgmma_wait<1>();  // dP final
    fence_accumulators(dp);
#pragma unroll
    for (int i = 0; i < 32; i++) s[i] *= dp[i] - dr[(i >> 1) & 1];
    wgmma_wait<0>();  // the pending dQ product is done with a
    fence_accumulators(acc);
    bw_to_operand(a, s);
    pending_k = sk;
  }
  dq_finish<D>(acc, a, pending_k);
  flash_wait_all();  // no copy may still be writing shared memory when the block exits

#pragma unroll
  for (int r = 0; r < 2; r++) {
    const int row = row0 + r * 8;
    if (row >= T) continue;
    uint32_t* orow = reinterpret_cast<uint32_t*>(dq + qoff + (long long)row * ldq);
#pragma unroll
    for (int j = 0; j < D / 8; j++) orow[(j * 8 + t4 * 2) / 2] = pack_bf16x2(acc[4 * j + 2 * r] * scale, acc[4 * j + 2 * r + 1] * scale);
  }
}

#define BW_INSTANCE(D)                                                                                                  \
  extern "C" __global__ void __launch_bounds__(FLASH_WG_THREADS, 1) flash_backward_dkdv_wgmma_d##D(                    \
      const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* dout, const float* lse, const float* Dsum,      \
      bf16_t* dk, bf16_t* dv, float* part, int T, int H, int Hkv, int window, float scale, int splits) {              \
    flash_backward_dkdv_wgmma<D>(q, k, v, dout, lse, Dsum, dk, dv, part, T, H, Hkv, window, scale, splits);           \
  }
BW_INSTANCE(64)
BW_INSTANCE(128)

#define DQ_INSTANCE(D)                                                                                                  \
  extern "C" __global__ void __launch_bounds__(FLASH_WG_THREADS, 1) flash_backward_dq_wgmma_d##D(                      \
      const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* dout, const float* lse, const float* Dsum,      \
      bf16_t* dq, int T, int H, int Hkv, int window, float scale) {                                                    \
    flash_backward_dq_wgmma<D>(q, k, v, dout, lse, Dsum, dq, T, H, Hkv, window, scale);                               \
  }
DQ_INSTANCE(64)
DQ_INSTANCE(128)
