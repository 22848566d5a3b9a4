// uses: flash_items.cuh
// Fused causal self-attention, FlashAttention-2 style, on tensor cores (mma.sync m16n8k16 bf16,
// fp32 accumulation). The scores of a tile live in registers only; key tiles wholly above the
// diagonal or wholly outside the sliding window are never visited.
//
// Layouts: q, o, dq: [B, T, H, d]; k, v, dk, dv: [B, T, Hkv, d] token-major bf16, as the
// projections give them; query head h reads KV head h / (H / Hkv), so GQA needs no copies.
// lse, Dsum: [B, H, T] fp32. A key k is visible to a query q iff k <= q and (window == 0 or
// q - k < window); k = q always is, so no valid row is ever fully masked.
//
// Kernels (one instantiation per head dim; the host picks by name):
//   flash_forward        o = softmax(scale·q·kᵀ)·v, lse saved           grid (T/64, H, B)
//   flash_backward_dot   Dsum = rowsum(dO ∘ O)                          one warp a row
//   flash_backward_dq    dq = scale·dS·k, recomputing P from lse        grid (T/64, H, B)
//   flash_backward_dkdv  dk = scale·dSᵀ·q, dv = Pᵀ·dO for a key tile,   grid (T/64, Hkv·splits, B)
//                        summed over the group's heads and query tiles
//   flash_dkdv_reduce    sums the splits' fp32 partials in a fixed order (deterministic)
// dQ gets its own pass instead of fp32 atomics from the dK/dV kernel: it recomputes S and dP
// (two products more) but keeps the gradients bit-for-bit reproducible and needs no fp32 dQ
// scratch, zero fill and conversion pass.
//
// Every block has 4 warps; a warp owns 16 rows (queries, or keys in the dK/dV kernel). Tiles go
// through shared memory with cp.async, double-buffered: at the top of an iteration every thread
// waits for its copies, one __syncthreads publishes the current stage and frees the other, and the
// next tile is requested into it while this one is computed. Shared rows are padded by 8 bf16
// (16 bytes), so the 8 row addresses of an ldmatrix phase fall in distinct banks.

#define FA_THREADS 128
#define FA_LOG2E 1.4426950408889634f

// ---- PTX wrappers ------------------------------------------------------------------------------

__device__ __forceinline__ uint32_t smem_u32(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }

// 16 bytes global → shared, bypassing L1; zero-filled when !valid (src must still be a valid address).
__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async4(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_u32(dst)), "l"(src), "r"(valid ? 4 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }

// Four 8×8 b16 matrices; lanes 8i..8i+7 give the row addresses of matrix i, register i receives it.
__device__ __forceinline__ void ldsm4(uint32_t (&r)[4], const bf16_t* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_u32(p)));
}
__device__ __forceinline__ void ldsm4_t(uint32_t (&r)[4], const bf16_t* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_u32(p)));
}

// c[16×8] += a[16×16]·b[16×8]. Lane (g = lane/4, t = lane%4) holds a: (g, 2t..), (g+8, 2t..),
// (g, 2t+8..), (g+8, 2t+8..); b: (k 2t.., n g), (k 2t+8.., n g); c: (g, 2t), (g, 2t+1), (g+8, 2t), (g+8, 2t+1).
__device__ __forceinline__ void mma16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Two floats → bf16x2, `lo` in the low half (the lower column index), round to nearest even.
__device__ __forceinline__ uint32_t bf16x2(float lo, float hi) {
  uint32_t r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

__device__ __forceinline__ uint32_t dynamic_smem_bytes() {
  uint32_t r;
  asm("mov.u32 %0, %%dynamic_smem_size;\n" : "=r"(r));
  return r;
}

// The host sizes the dynamic shared memory from the same tile constants; a mismatch would read
// past the allocation, so it stops the kernel instead.
__device__ __forceinline__ void require_smem(uint32_t bytes) {
  if (dynamic_smem_bytes() < bytes) __trap();
}

// ---- fragments -----------------------------------------------------------------------------------
// Shared tiles are row-major [rows][d + 8] bf16. For a product X·Yᵀ over d (S = Q·Kᵀ): X's rows
// give the A operand (ldsm4 at a16), Y's rows the B operand (ldsm4 at b16: two n-tiles of 8 per
// call). For X·Y with Y row-major [k-dim][n] (O = P·V): Y through ldsm4_t at t16.

// A operand: rows r0..r0+15, columns c0..c0+15 → a[0..3].
__device__ __forceinline__ const bf16_t* a16(const bf16_t* s, int stride, int r0, int c0, int lane) {
  return s + (r0 + (lane & 15)) * stride + c0 + ((lane >> 4) << 3);
}
// B operand of X·Yᵀ: Y rows n0..n0+15 (n), columns c0..c0+15 (k) → {r[0], r[1]} for n-tile n0,
// {r[2], r[3]} for n-tile n0 + 8.
__device__ __forceinline__ const bf16_t* b16(const bf16_t* s, int stride, int n0, int c0, int lane) {
  return s + (n0 + (lane & 7) + ((lane >> 4) << 3)) * stride + c0 + (((lane >> 3) & 1) << 3);
}
// B operand of X·Y: Y rows k0..k0+15 (k), columns n0..n0+15 (n), transposed on the load →
// {r[0], r[1]} for n-tile n0, {r[2], r[3]} for n-tile n0 + 8.
__device__ __forceinline__ const bf16_t* t16(const bf16_t* s, int stride, int k0, int n0, int lane) {
  return s + (k0 + (lane & 7) + (((lane >> 3) & 1) << 3)) * stride + n0 + ((lane >> 4) << 3);
}

// The C tiles j, j+1 (8 columns each) of a 16-row accumulator as the A operand over those 16 columns.
__device__ __forceinline__ void c_to_a(uint32_t (&a)[4], const float (&c0)[4], const float (&c1)[4]) {
  a[0] = bf16x2(c0[0], c0[1]);
  a[1] = bf16x2(c0[2], c0[3]);
  a[2] = bf16x2(c1[0], c1[1]);
  a[3] = bf16x2(c1[2], c1[3]);
}

// rows [r0, r0 + ROWS) of a token-major tensor (row stride ld elements) → s: [ROWS][D + 8];
// rows at or past T are zero-filled (their address is clamped to row T - 1, which exists).
template <int ROWS, int D>
__device__ __forceinline__ void load_rows(bf16_t* s, const bf16_t* g, long long ld, int r0, int T) {
  constexpr int CH = D / 8;
  static_assert((ROWS * CH) % FA_THREADS == 0, "tile copy must divide among the threads");
#pragma unroll
  for (int j = 0; j < ROWS * CH / FA_THREADS; j++) {
    int i = threadIdx.x + j * FA_THREADS;
    int r = i / CH, c = (i % CH) * 8;
    int row = r0 + r;
    cp_async16(s + r * (D + 8) + c, g + (long long)min(row, T - 1) * ld + c, row < T);
  }
}

// n fp32 values [i0, i0 + n) → s, zero past T.
__device__ __forceinline__ void load_row_values(float* s, const float* g, int i0, int n, int T) {
  for (int i = threadIdx.x; i < n; i += FA_THREADS) cp_async4(s + i, g + min(i0 + i, T - 1), i0 + i < T);
}

__device__ __forceinline__ bool visible(int q, int k, int T, int window) {
  return k <= q && q < T && (window <= 0 || q - k < window);
}

// Whether tile [q0, q0 + BM) × [k0, k0 + BN) may hold an entry that is not visible (then each
// entry is checked). Keys past T only meet valid queries above the diagonal, so they are covered.
__device__ __forceinline__ bool tile_masked(int q0, int BM, int k0, int BN, int T, int window) {
  return k0 + BN - 1 > q0 || q0 + BM > T || (window > 0 && q0 + BM - 1 - k0 >= window);
}

// ---- forward -------------------------------------------------------------------------------------

// One block: 64 queries (16 a warp) against key tiles of BN. Online softmax in base 2 (scores
// pre-multiplied by scale·log2 e); lse saved in natural log. Shared: 2 stages × [K; V] tiles.
template <int D, int BN>
__device__ __forceinline__ void flash_forward(const bf16_t* __restrict__ q, const bf16_t* __restrict__ k,
                                              const bf16_t* __restrict__ v, bf16_t* __restrict__ o,
                                              float* __restrict__ lse, int T, int H, int Hkv, int window, float scale) {
  constexpr int BM = 64, S = D + 8, NT = BN / 8, DT = D / 8;
  constexpr int STAGE = 2 * BN * S;
  static_assert(2 * BN >= BM, "the Q tile is staged in one K/V stage");
  require_smem(2 * STAGE * 2);
  extern __shared__ __align__(16) unsigned char fa_smem[];
  bf16_t* smem = reinterpret_cast<bf16_t*>(fa_smem);

  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, t4 = lane & 3;
  const int q0 = (gridDim.x - 1 - blockIdx.x) * BM;  // the longest rows first
  const int h = blockIdx.y, b = blockIdx.z, kvh = h / (H / Hkv);
  const long long ldq = (long long)H * D, ldk = (long long)Hkv * D;
  const bf16_t* qb = q + (long long)b * T * ldq + (long long)h * D;
  const bf16_t* kb = k + (long long)b * T * ldk + (long long)kvh * D;
  const bf16_t* vb = v + (long long)b * T * ldk + (long long)kvh * D;
  const float c = scale * FA_LOG2E;
  const int kt_lo = window > 0 ? max(0, q0 - window + 1) / BN : 0;
  const int kt_hi = (min(q0 + BM, T) - 1) / BN;

  // Q: [64, D] staged in stage 1 while stage 0 receives the first K/V tile; A fragments kept in registers.
  load_rows<BM, D>(smem + STAGE, qb, ldq, q0, T);
  load_rows<BN, D>(smem, kb, ldk, kt_lo * BN, T);
  load_rows<BN, D>(smem + BN * S, vb, ldk, kt_lo * BN, T);
  cp_async_commit();
  cp_async_wait_all();
  __syncthreads();
  uint32_t qf[D / 16][4];
#pragma unroll
  for (int kk = 0; kk < D / 16; kk++) ldsm4(qf[kk], a16(smem + STAGE, S, warp * 16, kk * 16, lane));

  float acc[DT][4];
#pragma unroll
  for (int i = 0; i < DT; i++) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.0f;
  float m[2] = {NEG_INF, NEG_INF}, l[2] = {0.0f, 0.0f};
  const int row0 = q0 + warp * 16 + (lane >> 2);  // this thread's rows: row0, row0 + 8

  for (int kt = kt_lo; kt <= kt_hi; kt++) {
    const int cur = (kt - kt_lo) & 1;
    cp_async_wait_all();
    __syncthreads();  // tile kt ready in stage cur; every warp is done with the other stage
    if (kt < kt_hi) {
      bf16_t* next = smem + (cur ^ 1) * STAGE;
      load_rows<BN, D>(next, kb, ldk, (kt + 1) * BN, T);
      load_rows<BN, D>(next + BN * S, vb, ldk, (kt + 1) * BN, T);
    }
    cp_async_commit();
    const bf16_t* Ks = smem + cur * STAGE;
    const bf16_t* Vs = Ks + BN * S;
    const int k0 = kt * BN;

    // S = Q·Kᵀ: [16, BN] a warp
    float sc[NT][4];
#pragma unroll
    for (int j = 0; j < NT; j++) sc[j][0] = sc[j][1] = sc[j][2] = sc[j][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
#pragma unroll
      for (int np = 0; np < BN / 16; np++) {
        uint32_t kf[4];
        ldsm4(kf, b16(Ks, S, np * 16, kk * 16, lane));
        mma16816(sc[2 * np], qf[kk], kf[0], kf[1]);
        mma16816(sc[2 * np + 1], qf[kk], kf[2], kf[3]);
      }
    }

    const bool edge = tile_masked(q0, BM, k0, BN, T, window);
    float mx[2] = {m[0], m[1]};
#pragma unroll
    for (int j = 0; j < NT; j++) {
#pragma unroll
      for (int e = 0; e < 4; e++) {
        float x = sc[j][e] * c;
        if (edge && !visible(row0 + (e >> 1) * 8, k0 + j * 8 + t4 * 2 + (e & 1), T, window)) x = NEG_INF;
        sc[j][e] = x;
        mx[e >> 1] = fmaxf(mx[e >> 1], x);
      }
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
    for (int j = 0; j < NT; j++) {
#pragma unroll
      for (int e = 0; e < 4; e++) {
        sc[j][e] = exp2f(sc[j][e] - base[e >> 1]);
        l[e >> 1] += sc[j][e];
      }
    }
#pragma unroll
    for (int i = 0; i < DT; i++) {
      acc[i][0] *= alpha[0];
      acc[i][1] *= alpha[0];
      acc[i][2] *= alpha[1];
      acc[i][3] *= alpha[1];
    }

    // O += P·V: P [16, BN] from the score registers, V [BN, D]
#pragma unroll
    for (int kk = 0; kk < BN / 16; kk++) {
      uint32_t pa[4];
      c_to_a(pa, sc[2 * kk], sc[2 * kk + 1]);
#pragma unroll
      for (int dp = 0; dp < D / 16; dp++) {
        uint32_t vf[4];
        ldsm4_t(vf, t16(Vs, S, kk * 16, dp * 16, lane));
        mma16816(acc[2 * dp], pa, vf[0], vf[1]);
        mma16816(acc[2 * dp + 1], pa, vf[2], vf[3]);
      }
    }
  }

#pragma unroll
  for (int r = 0; r < 2; r++) {
    const int row = row0 + r * 8;
    const float sum = quad_sum(l[r]);
    if (row >= T) continue;
    const float inv = 1.0f / sum;
    uint32_t* orow = reinterpret_cast<uint32_t*>(o + ((long long)b * T + row) * ldq + (long long)h * D);
#pragma unroll
    for (int i = 0; i < DT; i++) orow[(i * 8 + t4 * 2) / 2] = bf16x2(acc[i][2 * r] * inv, acc[i][2 * r + 1] * inv);
    if (t4 == 0) lse[((long long)b * H + h) * T + row] = m[r] / FA_LOG2E + logf(sum);
  }
}

// ---- backward ------------------------------------------------------------------------------------

// Dsum[b, h, t] = Σ_d dO[b, t, h, d] · O[b, t, h, d]; one warp a (token, head) row.
extern "C" __global__ void flash_backward_dot(const bf16_t* __restrict__ dout, const bf16_t* __restrict__ o,
                                              float* __restrict__ Dsum, long long rows, int T, int H, int D) {
  long long row = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;  // (b·T + t)·H + h
  int lane = threadIdx.x & 31;
  if (row >= rows) return;
  float acc = 0.0f;
  for (int c = lane * 8; c < D; c += 256) {
    uint4 x = *reinterpret_cast<const uint4*>(dout + row * D + c);
    uint4 y = *reinterpret_cast<const uint4*>(o + row * D + c);
    const uint32_t xs[4] = {x.x, x.y, x.z, x.w}, ys[4] = {y.x, y.y, y.z, y.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
      acc += __uint_as_float(xs[i] << 16) * __uint_as_float(ys[i] << 16);
      acc += __uint_as_float(xs[i] & 0xffff0000u) * __uint_as_float(ys[i] & 0xffff0000u);
    }
  }
  for (int off = 16; off > 0; off >>= 1) acc += __shfl_xor_sync(0xffffffff, acc, off);
  if (lane == 0) {
    int h = row % H;
    long long bt = row / H;
    int t = bt % T, b = bt / T;
    Dsum[((long long)b * H + h) * T + t] = acc;
  }
}

// dQ for 64 queries (16 a warp) over key tiles of BN: P = exp(scale·q·kᵀ − lse), dP = dO·vᵀ,
// dS = P ∘ (dP − Dsum), dq = scale·dS·k. Q and dO A fragments stay in registers.
// Shared: 2 stages × [K; V] tiles; Q and dO are staged in them first.
template <int D, int BN>
__device__ __forceinline__ void flash_backward_dq(const bf16_t* __restrict__ q, const bf16_t* __restrict__ k,
                                                  const bf16_t* __restrict__ v, const bf16_t* __restrict__ dout,
                                                  const float* __restrict__ lse, const float* __restrict__ Dsum,
                                                  bf16_t* __restrict__ dq, int T, int H, int Hkv, int window, float scale) {
  constexpr int BM = 64, S = D + 8, NT = BN / 8, DT = D / 8;
  constexpr int STAGE = 2 * BN * S;
  static_assert(2 * BN >= BM, "Q and dO are staged in one K/V stage each");
  require_smem(2 * STAGE * 2);
  extern __shared__ __align__(16) unsigned char fa_smem[];
  bf16_t* smem = reinterpret_cast<bf16_t*>(fa_smem);

  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, t4 = lane & 3;
  const int q0 = (gridDim.x - 1 - blockIdx.x) * BM;
  const int h = blockIdx.y, b = blockIdx.z, kvh = h / (H / Hkv);
  const long long ldq = (long long)H * D, ldk = (long long)Hkv * D;
  const long long qoff = (long long)b * T * ldq + (long long)h * D;
  const bf16_t* kb = k + (long long)b * T * ldk + (long long)kvh * D;
  const bf16_t* vb = v + (long long)b * T * ldk + (long long)kvh * D;
  const float c = scale * FA_LOG2E;
  const int kt_lo = window > 0 ? max(0, q0 - window + 1) / BN : 0;
  const int kt_hi = (min(q0 + BM, T) - 1) / BN;

  load_rows<BM, D>(smem, q + qoff, ldq, q0, T);
  load_rows<BM, D>(smem + STAGE, dout + qoff, ldq, q0, T);
  cp_async_commit();
  const int row0 = q0 + warp * 16 + (lane >> 2);
  float lrow[2], drow[2];  // lse in base 2, Dsum, of rows row0 and row0 + 8 (0 past T)
#pragma unroll
  for (int r = 0; r < 2; r++) {
    const int row = row0 + r * 8;
    const long long i = ((long long)b * H + h) * T + row;
    lrow[r] = row < T ? lse[i] * FA_LOG2E : 0.0f;
    drow[r] = row < T ? Dsum[i] : 0.0f;
  }
  cp_async_wait_all();
  __syncthreads();
  uint32_t qf[D / 16][4], of[D / 16][4];
#pragma unroll
  for (int kk = 0; kk < D / 16; kk++) {
    ldsm4(qf[kk], a16(smem, S, warp * 16, kk * 16, lane));
    ldsm4(of[kk], a16(smem + STAGE, S, warp * 16, kk * 16, lane));
  }
  __syncthreads();  // both stages free again
  load_rows<BN, D>(smem, kb, ldk, kt_lo * BN, T);
  load_rows<BN, D>(smem + BN * S, vb, ldk, kt_lo * BN, T);
  cp_async_commit();

  float acc[DT][4];
#pragma unroll
  for (int i = 0; i < DT; i++) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.0f;

  for (int kt = kt_lo; kt <= kt_hi; kt++) {
    const int cur = (kt - kt_lo) & 1;
    cp_async_wait_all();
    __syncthreads();
    if (kt < kt_hi) {
      bf16_t* next = smem + (cur ^ 1) * STAGE;
      load_rows<BN, D>(next, kb, ldk, (kt + 1) * BN, T);
      load_rows<BN, D>(next + BN * S, vb, ldk, (kt + 1) * BN, T);
    }
    cp_async_commit();
    const bf16_t* Ks = smem + cur * STAGE;
    const bf16_t* Vs = Ks + BN * S;
    const int k0 = kt * BN;

    // S = Q·Kᵀ and dP = dO·Vᵀ: [16, BN] a warp each
    float sc[NT][4], dp[NT][4];
#pragma unroll
    for (int j = 0; j < NT; j++) {
      sc[j][0] = sc[j][1] = sc[j][2] = sc[j][3] = 0.0f;
      dp[j][0] = dp[j][1] = dp[j][2] = dp[j][3] = 0.0f;
    }
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
#pragma unroll
      for (int np = 0; np < BN / 16; np++) {
        uint32_t f[4];
        ldsm4(f, b16(Ks, S, np * 16, kk * 16, lane));
        mma16816(sc[2 * np], qf[kk], f[0], f[1]);
        mma16816(sc[2 * np + 1], qf[kk], f[2], f[3]);
        ldsm4(f, b16(Vs, S, np * 16, kk * 16, lane));
        mma16816(dp[2 * np], of[kk], f[0], f[1]);
        mma16816(dp[2 * np + 1], of[kk], f[2], f[3]);
      }
    }

    // dS = P ∘ (dP − Dsum), into sc
    const bool edge = tile_masked(q0, BM, k0, BN, T, window);
#pragma unroll
    for (int j = 0; j < NT; j++) {
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int r = e >> 1;
        float p = exp2f(sc[j][e] * c - lrow[r]);
        if (edge && !visible(row0 + r * 8, k0 + j * 8 + t4 * 2 + (e & 1), T, window)) p = 0.0f;
        sc[j][e] = p * (dp[j][e] - drow[r]);
      }
    }

    // dQ += dS·K: dS [16, BN], K [BN, D]
#pragma unroll
    for (int kk = 0; kk < BN / 16; kk++) {
      uint32_t da[4];
      c_to_a(da, sc[2 * kk], sc[2 * kk + 1]);
#pragma unroll
      for (int dn = 0; dn < D / 16; dn++) {
        uint32_t f[4];
        ldsm4_t(f, t16(Ks, S, kk * 16, dn * 16, lane));
        mma16816(acc[2 * dn], da, f[0], f[1]);
        mma16816(acc[2 * dn + 1], da, f[2], f[3]);
      }
    }
  }

#pragma unroll
  for (int r = 0; r < 2; r++) {
    const int row = row0 + r * 8;
    if (row >= T) continue;
    uint32_t* out = reinterpret_cast<uint32_t*>(dq + qoff + (long long)row * ldq);
#pragma unroll
    for (int i = 0; i < DT; i++) out[(i * 8 + t4 * 2) / 2] = bf16x2(acc[i][2 * r] * scale, acc[i][2 * r + 1] * scale);
  }
}

// dK, dV for 64 keys (16 a warp) of one KV head: the sum over the group's query heads and the
// query tiles (of BM) that see these keys, the (head, query tile) items in one sequence. With
// splits > 1 the items are cut into `splits` contiguous ranges, one a block, each writing fp32
// partials [splits][B, T, Hkv, D] (dk's at `part`, dv's at part + splits·B·T·Hkv·D) that
// flash_dkdv_reduce sums; with one split the block writes bf16 directly.
// Shared: K, V tiles [64][D + 8] for the whole block, then 2 stages × [Q; dO] tiles, then
// 2 stages × [lse; Dsum] rows.
template <int D, int BM>
__device__ __forceinline__ void flash_backward_dkdv(const bf16_t* __restrict__ q, const bf16_t* __restrict__ k,
                                                    const bf16_t* __restrict__ v, const bf16_t* __restrict__ dout,
                                                    const float* __restrict__ lse, const float* __restrict__ Dsum,
                                                    bf16_t* __restrict__ dk, bf16_t* __restrict__ dv,
                                                    float* __restrict__ part, int T, int H, int Hkv, int window,
                                                    float scale, int splits) {
  constexpr int BN = 64, S = D + 8, NQ = BM / 8, DT = D / 8;
  constexpr int STAGE = 2 * BM * S;
  require_smem((2 * BN * S + 2 * STAGE) * 2 + 2 * 2 * BM * 4);
  extern __shared__ __align__(16) unsigned char fa_smem[];
  bf16_t* Ks = reinterpret_cast<bf16_t*>(fa_smem);
  bf16_t* Vs = Ks + BN * S;
  bf16_t* stages = Vs + BN * S;
  float* rowvals = reinterpret_cast<float*>(stages + 2 * STAGE);  // [2][lse BM, Dsum BM]

  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, t4 = lane & 3;
  const int k0 = blockIdx.x * BN;  // the first key tiles see the most queries: they start first
  const int kvh = blockIdx.y / splits, split = blockIdx.y % splits, b = blockIdx.z;
  const int group = H / Hkv;
  const long long ldq = (long long)H * D, ldk = (long long)Hkv * D;
  const long long koff = (long long)b * T * ldk + (long long)kvh * D;
  const float c = scale * FA_LOG2E;
  const DkdvItems items(k0, BN, BM, T, window, group, split, splits);
  const int it_lo = items.lo, it_hi = items.hi;

  // item it → (query head, first query) and its stage loads
  auto issue = [&](int it, int stage) {
    const int h = items.head(it, kvh, group), qq0 = items.first_query(it, BM);
    const long long qoff = (long long)b * T * ldq + (long long)h * D;
    bf16_t* st = stages + stage * STAGE;
    load_rows<BM, D>(st, q + qoff, ldq, qq0, T);
    load_rows<BM, D>(st + BM * S, dout + qoff, ldq, qq0, T);
    const long long ri = ((long long)b * H + h) * T;
    load_row_values(rowvals + stage * 2 * BM, lse + ri, qq0, BM, T);
    load_row_values(rowvals + stage * 2 * BM + BM, Dsum + ri, qq0, BM, T);
  };

  load_rows<BN, D>(Ks, k + koff, ldk, k0, T);
  load_rows<BN, D>(Vs, v + koff, ldk, k0, T);
  if (it_lo < it_hi) issue(it_lo, 0);
  cp_async_commit();

  float dka[DT][4], dva[DT][4];
#pragma unroll
  for (int i = 0; i < DT; i++) {
    dka[i][0] = dka[i][1] = dka[i][2] = dka[i][3] = 0.0f;
    dva[i][0] = dva[i][1] = dva[i][2] = dva[i][3] = 0.0f;
  }
  const int key0 = k0 + warp * 16 + (lane >> 2);  // this thread's keys: key0, key0 + 8

  for (int it = it_lo; it < it_hi; it++) {
    const int cur = (it - it_lo) & 1;
    cp_async_wait_all();
    __syncthreads();
    if (it + 1 < it_hi) issue(it + 1, cur ^ 1);
    cp_async_commit();
    const bf16_t* Qs = stages + cur * STAGE;
    const bf16_t* Os = Qs + BM * S;
    const float* ls = rowvals + cur * 2 * BM;
    const float* ds = ls + BM;
    const int qq0 = items.first_query(it, BM);

    // Sᵀ = K·Qᵀ: [16 keys, BM queries] a warp
    float st[NQ][4];
#pragma unroll
    for (int j = 0; j < NQ; j++) st[j][0] = st[j][1] = st[j][2] = st[j][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
      uint32_t kf[4];
      ldsm4(kf, a16(Ks, S, warp * 16, kk * 16, lane));
#pragma unroll
      for (int np = 0; np < BM / 16; np++) {
        uint32_t f[4];
        ldsm4(f, b16(Qs, S, np * 16, kk * 16, lane));
        mma16816(st[2 * np], kf, f[0], f[1]);
        mma16816(st[2 * np + 1], kf, f[2], f[3]);
      }
    }
    // Pᵀ = exp(Sᵀ·scale − lse[query])
    const bool edge = tile_masked(qq0, BM, k0, BN, T, window);
#pragma unroll
    for (int j = 0; j < NQ; j++) {
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int qi = j * 8 + t4 * 2 + (e & 1);
        float p = exp2f(st[j][e] * c - ls[qi] * FA_LOG2E);
        if (edge && !visible(qq0 + qi, key0 + (e >> 1) * 8, T, window)) p = 0.0f;
        st[j][e] = p;
      }
    }
    // dV += Pᵀ·dO: Pᵀ [16, BM], dO [BM, D]
#pragma unroll
    for (int kk = 0; kk < BM / 16; kk++) {
      uint32_t pa[4];
      c_to_a(pa, st[2 * kk], st[2 * kk + 1]);
#pragma unroll
      for (int dn = 0; dn < D / 16; dn++) {
        uint32_t f[4];
        ldsm4_t(f, t16(Os, S, kk * 16, dn * 16, lane));
        mma16816(dva[2 * dn], pa, f[0], f[1]);
        mma16816(dva[2 * dn + 1], pa, f[2], f[3]);
      }
    }
    // dPᵀ = V·dOᵀ: [16, BM]
    float dpt[NQ][4];
#pragma unroll
    for (int j = 0; j < NQ; j++) dpt[j][0] = dpt[j][1] = dpt[j][2] = dpt[j][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
      uint32_t vf[4];
      ldsm4(vf, a16(Vs, S, warp * 16, kk * 16, lane));
#pragma unroll
      for (int np = 0; np < BM / 16; np++) {
        uint32_t f[4];
        ldsm4(f, b16(Os, S, np * 16, kk * 16, lane));
        mma16816(dpt[2 * np], vf, f[0], f[1]);
        mma16816(dpt[2 * np + 1], vf, f[2], f[3]);
      }
    }
    // dSᵀ = Pᵀ ∘ (dPᵀ − Dsum[query]); dK += dSᵀ·Q: Q [BM, D]
#pragma unroll
    for (int j = 0; j < NQ; j++) {
#pragma unroll
      for (int e = 0; e < 4; e++) st[j][e] *= dpt[j][e] - ds[j * 8 + t4 * 2 + (e & 1)];
    }
#pragma unroll
    for (int kk = 0; kk < BM / 16; kk++) {
      uint32_t da[4];
      c_to_a(da, st[2 * kk], st[2 * kk + 1]);
#pragma unroll
      for (int dn = 0; dn < D / 16; dn++) {
        uint32_t f[4];
        ldsm4_t(f, t16(Qs, S, kk * 16, dn * 16, lane));
        mma16816(dka[2 * dn], da, f[0], f[1]);
        mma16816(dka[2 * dn + 1], da, f[2], f[3]);
      }
    }
  }

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
      for (int i = 0; i < DT; i++) {
        const int col = i * 8 + t4 * 2;
        *reinterpret_cast<float2*>(pk + col) = make_float2(dka[i][2 * r] * scale, dka[i][2 * r + 1] * scale);
        *reinterpret_cast<float2*>(pv + col) = make_float2(dva[i][2 * r], dva[i][2 * r + 1]);
      }
    } else {
      uint32_t* ok = reinterpret_cast<uint32_t*>(dk + at);
      uint32_t* ov = reinterpret_cast<uint32_t*>(dv + at);
#pragma unroll
      for (int i = 0; i < DT; i++) {
        const int col = (i * 8 + t4 * 2) / 2;
        ok[col] = bf16x2(dka[i][2 * r] * scale, dka[i][2 * r + 1] * scale);
        ov[col] = bf16x2(dva[i][2 * r], dva[i][2 * r + 1]);
      }
    }
  }
}

// dk[i] = Σ_s part[s][i], dv[i] = Σ_s part[splits + s][i] in split order; n: elements of dk, a multiple of 4.
extern "C" __global__ void flash_dkdv_reduce(const float* __restrict__ part, bf16_t* __restrict__ dk,
                                             bf16_t* __restrict__ dv, long long n, int splits) {
  long long i = ((long long)blockIdx.x * blockDim.x + threadIdx.x) * 4;
  if (i >= 2 * n) return;
  const bool isv = i >= n;
  const long long j = isv ? i - n : i;
  const float* src = part + (isv ? splits * n : 0) + j;
  float4 acc = *reinterpret_cast<const float4*>(src);
  for (int s = 1; s < splits; s++) {
    float4 x = *reinterpret_cast<const float4*>(src + s * n);
    acc.x += x.x;
    acc.y += x.y;
    acc.z += x.z;
    acc.w += x.w;
  }
  uint2 out = make_uint2(bf16x2(acc.x, acc.y), bf16x2(acc.z, acc.w));
  *reinterpret_cast<uint2*>((isv ? dv : dk) + j) = out;
}

// ---- instantiations: tile sizes per head dim (bench/notes/cuda.md) ------------------------------
// d 64:  forward BN 64, dQ BN 64, dK/dV BM 64.  d 128: forward BN 64, dQ BN 32, dK/dV BM 32
// (the smaller tiles keep the dQ and dK/dV accumulators in registers without spilling).
// The host mirrors these in flash-attention.ts for the dynamic shared memory sizes.

#define FA_INSTANCE(D, FWD_BN, DQ_BN, DKDV_BM)                                                                  \
  extern "C" __global__ void __launch_bounds__(FA_THREADS) flash_forward_d##D(                                 \
      const bf16_t* q, const bf16_t* k, const bf16_t* v, bf16_t* o, float* lse, int T, int H, int Hkv,         \
      int window, float scale) {                                                                               \
    flash_forward<D, FWD_BN>(q, k, v, o, lse, T, H, Hkv, window, scale);                                       \
  }                                                                                                            \
  extern "C" __global__ void __launch_bounds__(FA_THREADS) flash_backward_dq_d##D(                             \
      const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* dout, const float* lse,                 \
      const float* Dsum, bf16_t* dq, int T, int H, int Hkv, int window, float scale) {                         \
    flash_backward_dq<D, DQ_BN>(q, k, v, dout, lse, Dsum, dq, T, H, Hkv, window, scale);                       \
  }                                                                                                            \
  extern "C" __global__ void __launch_bounds__(FA_THREADS) flash_backward_dkdv_d##D(                           \
      const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* dout, const float* lse,                 \
      const float* Dsum, bf16_t* dk, bf16_t* dv, float* part, int T, int H, int Hkv, int window, float scale,  \
      int splits) {                                                                                            \
    flash_backward_dkdv<D, DKDV_BM>(q, k, v, dout, lse, Dsum, dk, dv, part, T, H, Hkv, window, scale, splits); \
  }

FA_INSTANCE(64, 64, 64, 64)
FA_INSTANCE(128, 64, 32, 32)
