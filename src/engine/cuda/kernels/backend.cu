// Kernels of the engine's Backend interface on the GPU (src/engine/cuda/backend.ts).
//
// Every float operand arrives as a pointer and a storage flag: bf = 1 for bf16, 0 for fp32.
// Values are read into fp32 and written back in the operand's own type, so one kernel serves
// fp32 tensors (the conformance suite, parameter gradients) and bf16 ones (activations and
// weights of a training step) and any mix of them. A flag is the same for every thread of a
// launch, so the branch costs nothing measurable in these memory-bound kernels. Math is fp32
// with the accurate expf/logf (no fast-math intrinsics); RoPE rounds through double as the CPU
// reference does. Shapes are in the comments above each kernel.

__device__ __forceinline__ float ld(const void* p, int bf, long long i) {
  return bf ? bf16_to_f32(((const bf16_t*)p)[i]) : ((const float*)p)[i];
}
__device__ __forceinline__ void st(void* p, int bf, long long i, float v) {
  if (bf) ((bf16_t*)p)[i] = f32_to_bf16(v);
  else ((float*)p)[i] = v;
}

__device__ __forceinline__ long long thread_index() { return (long long)blockIdx.x * blockDim.x + threadIdx.x; }

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffff, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffff, v, o));
  return v;
}

// Sum (or max) over the block; every thread gets the result. Ends with a barrier, so shared
// memory and the block's earlier reads are settled when it returns.
__device__ float block_reduce(float v, float* scratch, bool is_max) {
  v = is_max ? warp_max(v) : warp_sum(v);
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  int warps = blockDim.x >> 5;
  v = lane < warps ? scratch[lane] : (is_max ? NEG_INF : 0.0f);
  v = is_max ? warp_max(v) : warp_sum(v);
  __syncthreads();
  return v;
}

// ---- copies and elementwise sums ----------------------------------------------------------

// dst: [n] = src: [n] (a change of storage type, or a plain copy)
extern "C" __global__ void convert(void* dst, int dbf, const void* src, int sbf, long long n) {
  long long i = thread_index();
  if (i < n) st(dst, dbf, i, ld(src, sbf, i));
}

// out: [n] = a + b (out may be a or b: the residual add, and accumulate as out = a = dst)
extern "C" __global__ void add(void* out, int obf, const void* a, int abf, const void* b, int bbf, long long n) {
  long long i = thread_index();
  if (i < n) st(out, obf, i, ld(a, abf, i) + ld(b, bbf, i));
}

// y: [rows, cols] += bias: [cols], n = rows · cols
extern "C" __global__ void bias_add(void* y, int ybf, const void* bias, int bbf, long long n, int cols) {
  long long i = thread_index();
  if (i < n) st(y, ybf, i, ld(y, ybf, i) + ld(bias, bbf, i % cols));
}

// db: [cols] += Σ_rows dy: [rows, cols]; one thread a column (deterministic, no atomics)
extern "C" __global__ void column_sum_add(void* db, int dbbf, const void* dy, int dybf, int rows, int cols) {
  long long j = thread_index();
  if (j >= cols) return;
  float acc = 0.0f;
  for (int r = 0; r < rows; r++) acc += ld(dy, dybf, (long long)r * cols + j);
  st(db, dbbf, j, ld(db, dbbf, j) + acc);
}

// ---- embedding -----------------------------------------------------------------------------

// ids: [tokens] → out: [tokens, dim] = table: [vocab, dim][ids] · scale (ids checked on the host)
extern "C" __global__ void embedding_forward(void* out, int obf, const void* table, int tbf, const int* __restrict__ ids,
                                             int tokens, int dim, float scale) {
  long long i = thread_index();
  if (i >= (long long)tokens * dim) return;
  long long t = i / dim, c = i % dim;
  st(out, obf, i, ld(table, tbf, (long long)ids[t] * dim + c) * scale);
}

// dtable: [vocab, dim] += scatter of dout: [tokens, dim] · scale at the rows ids. One thread a
// column walks the tokens in order, so repeated ids add up without atomics and the result does
// not depend on scheduling. Ids outside [0, vocab) are skipped.
extern "C" __global__ void embedding_backward(void* dtable, int tbf, const void* dout, int obf, const int* __restrict__ ids,
                                              int tokens, int dim, int vocab, float scale) {
  long long c = thread_index();
  if (c >= dim) return;
  for (int t = 0; t < tokens; t++) {
    int id = ids[t];
    if (id < 0 || id >= vocab) continue;
    long long o = (long long)id * dim + c;
    st(dtable, tbf, o, ld(dtable, tbf, o) + ld(dout, obf, (long long)t * dim + c) * scale);
  }
}

// ---- RMSNorm -------------------------------------------------------------------------------

// One block a row. x: [rows, dim], weight: [dim] → out: [rows, dim], rstd: [rows];
// out = x · rstd · (w + unit_offset), rstd = 1 / sqrt(mean(x²) + eps)
extern "C" __global__ void rmsnorm_forward(void* out, int obf, void* rstd, int rbf, const void* x, int xbf,
                                           const void* weight, int wbf, int dim, float eps, float unit_offset) {
  __shared__ float scratch[32];
  long long base = (long long)blockIdx.x * dim;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) {
    float v = ld(x, xbf, base + i);
    ss += v * v;
  }
  float r = 1.0f / sqrtf(block_reduce(ss, scratch, false) / dim + eps);
  if (threadIdx.x == 0) st(rstd, rbf, blockIdx.x, r);
  for (int i = threadIdx.x; i < dim; i += blockDim.x) {
    st(out, obf, base + i, ld(x, xbf, base + i) * r * (ld(weight, wbf, i) + unit_offset));
  }
}

// One block a row. dout → dx (overwritten; may be dout itself):
//   dx = rstd · (g − x̂ · mean(g · x̂)),  g = dout · (w + unit_offset),  x̂ = x · rstd
extern "C" __global__ void rmsnorm_backward(void* dx, int dxbf, const void* dout, int dobf, const void* x, int xbf,
                                            const void* weight, int wbf, const void* rstd, int rbf, int dim,
                                            float unit_offset) {
  __shared__ float scratch[32];
  long long base = (long long)blockIdx.x * dim;
  float s = ld(rstd, rbf, blockIdx.x);
  float dot = 0.0f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) {
    dot += ld(dout, dobf, base + i) * (ld(weight, wbf, i) + unit_offset) * ld(x, xbf, base + i) * s;
  }
  float mean = block_reduce(dot, scratch, false) / dim;  // every read of the row is done here
  for (int i = threadIdx.x; i < dim; i += blockDim.x) {
    float xhat = ld(x, xbf, base + i) * s;
    float g = ld(dout, dobf, base + i) * (ld(weight, wbf, i) + unit_offset);
    st(dx, dxbf, base + i, s * (g - xhat * mean));
  }
}

// dweight: [dim] += Σ_rows dout · x · rstd; one thread a column. Runs before rmsnorm_backward,
// whose dx may overwrite dout.
extern "C" __global__ void rmsnorm_dweight(void* dweight, int dwbf, const void* dout, int dobf, const void* x, int xbf,
                                           const void* rstd, int rbf, int rows, int dim) {
  long long j = thread_index();
  if (j >= dim) return;
  float acc = 0.0f;
  for (int r = 0; r < rows; r++) {
    long long o = (long long)r * dim + j;
    acc += ld(dout, dobf, o) * (ld(x, xbf, o) * ld(rstd, rbf, r));
  }
  st(dweight, dwbf, j, ld(dweight, dwbf, j) + acc);
}

// ---- RoPE ----------------------------------------------------------------------------------

// x: [tokens, heads, head_dim] rotated in place, rotate-half pairs (i, i + d/2); positions:
// [tokens]; inv_freq: [d/2] fp32 (made on the host exactly as the CPU makes it). As the CPU
// reference: angle = fp32(pos · inv_freq), cos and sin rounded to fp32, the rotation in double.
// sign = −1 is the inverse rotation (the backward pass). One thread a (token, head, pair).
extern "C" __global__ void rope(void* x, int xbf, const int* __restrict__ positions, const float* __restrict__ inv_freq,
                                int tokens, int heads, int head_dim, float sign) {
  int half = head_dim >> 1;
  long long idx = thread_index();
  if (idx >= (long long)tokens * heads * half) return;
  int i = idx % half;
  long long th = idx / half;  // token · heads + head
  long long t = th / heads;
  float angle = (float)positions[t] * inv_freq[i];
  double sn, cs;
  sincos((double)angle, &sn, &cs);
  double c = (double)(float)cs;
  double s = (double)(float)((double)sign * sn);
  long long o = th * head_dim;
  double a = ld(x, xbf, o + i), b = ld(x, xbf, o + i + half);
  st(x, xbf, o + i, (float)(a * c - b * s));
  st(x, xbf, o + i + half, (float)(b * c + a * s));
}

// ---- gated MLP -----------------------------------------------------------------------------

__device__ __forceinline__ float act_forward(float g, int gelu, float* dact) {
  if (gelu) {
    const float k = 0.7978845608028654f;  // sqrt(2/pi)
    float t = tanhf(k * (g + 0.044715f * g * g * g));
    *dact = 0.5f * (1.0f + t) + 0.5f * g * (1.0f - t * t) * k * (1.0f + 3.0f * 0.044715f * g * g);
    return 0.5f * g * (1.0f + t);
  }
  float sig = 1.0f / (1.0f + expf(-g));
  *dact = sig * (1.0f + g * (1.0f - sig));
  return g * sig;
}

// gate, up: [n] → h: [n] = act(gate) · up; gelu = 0: SiLU, 1: tanh-approximate GELU
extern "C" __global__ void glu_forward(void* h, int hbf, const void* gate, int gbf, const void* up, int ubf, long long n, int gelu) {
  long long i = thread_index();
  if (i >= n) return;
  float d;
  float a = act_forward(ld(gate, gbf, i), gelu, &d);
  st(h, hbf, i, a * ld(up, ubf, i));
}

// dh: [n] → dgate = dh · up · act'(gate), dup = dh · act(gate) (inputs read before any write)
extern "C" __global__ void glu_backward(void* dgate, int dgbf, void* dup, int dubf, const void* dh, int dhbf,
                                        const void* gate, int gbf, const void* up, int ubf, long long n, int gelu) {
  long long i = thread_index();
  if (i >= n) return;
  float g = ld(gate, gbf, i), u = ld(up, ubf, i), d = ld(dh, dhbf, i), da;
  float a = act_forward(g, gelu, &da);
  st(dgate, dgbf, i, d * u * da);
  st(dup, dubf, i, d * a);
}

// ---- LoRA dropout --------------------------------------------------------------------------

// dst: [n] = src · (hash(seed, i) ≥ threshold ? scale : 0), the mask of src/engine/cpu/dropout.ts
// (hashUniform(seed, i) ≥ p ⇔ hash ≥ ⌈p·2^32⌉ = threshold), bit for bit; dst may be src.
extern "C" __global__ void dropout(void* dst, int dbf, const void* src, int sbf, long long n, uint32_t seed,
                                   uint32_t threshold, float scale) {
  long long i = thread_index();
  if (i >= n) return;
  st(dst, dbf, i, hash_uniform_bits(seed, i) >= threshold ? ld(src, sbf, i) * scale : 0.0f);
}

// ---- cross-entropy -------------------------------------------------------------------------

// One block a row. logits: [rows, vocab], targets: [rows] (−100 = ignored) → losses: [rows] fp32
// (0 on ignored rows); when has_d, dlogits = (softmax − onehot) · inv_count (zero on ignored
// rows). dlogits may be logits: the row is read whole before the first write.
extern "C" __global__ void cross_entropy(float* __restrict__ losses, void* dlogits, int dbf, int has_d, const void* logits,
                                         int lbf, const int* __restrict__ targets, int vocab, float inv_count) {
  __shared__ float scratch[32];
  long long base = (long long)blockIdx.x * vocab;
  int target = targets[blockIdx.x];
  if (target < 0 || target >= vocab) {
    if (has_d) for (int i = threadIdx.x; i < vocab; i += blockDim.x) st(dlogits, dbf, base + i, 0.0f);
    if (threadIdx.x == 0) losses[blockIdx.x] = 0.0f;
    return;
  }
  float zt = ld(logits, lbf, base + target);
  float mx = NEG_INF;
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) mx = fmaxf(mx, ld(logits, lbf, base + i));
  mx = block_reduce(mx, scratch, true);
  float sum = 0.0f;
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) sum += expf(ld(logits, lbf, base + i) - mx);
  float lse = mx + logf(block_reduce(sum, scratch, false));
  if (threadIdx.x == 0) losses[blockIdx.x] = lse - zt;
  if (!has_d) return;
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
    float p = expf(ld(logits, lbf, base + i) - lse);
    st(dlogits, dbf, base + i, (p - (i == target ? 1.0f : 0.0f)) * inv_count);
  }
}

// ---- attention -----------------------------------------------------------------------------
// Token-major [B, T, heads, d] ↔ head-major [B, heads, T, d]. With the g = H/Hkv query heads of
// one KV head adjacent (HF's GQA: head h reads KV head h / g), the head-major Q of batch entry
// (b, kvh) is one [g·T, d] matrix, and S[g·T, T] = Q·Kᵀ is one product of a strided batch.
// Rows of S, P, lse and D are (b·H + h)·T + t: lse comes out in the interface's [B, H, T].

// one thread an element, indexed token-major; inverse = 1 copies head-major back to token-major
extern "C" __global__ void permute_heads(void* dst, int dbf, const void* src, int sbf, int B, int T, int heads, int d, int inverse) {
  long long i = thread_index();
  long long total = (long long)B * T * heads * d;
  if (i >= total) return;
  int c = i % d;
  long long rest = i / d;
  int h = rest % heads;
  rest /= heads;
  int t = rest % T;
  long long b = rest / T;
  long long hm = ((b * heads + h) * T + t) * d + c;
  if (inverse) st(dst, dbf, i, ld(src, sbf, hm));
  else st(dst, dbf, hm, ld(src, sbf, i));
}

__device__ __forceinline__ bool masked(int q, int k, int window) { return k > q || (window > 0 && q - k >= window); }

// One warp a row of S (fp32, already scaled): P = softmax over the visible keys (0 elsewhere),
// lse saved. rows_total = B·H·T, T keys a row.
extern "C" __global__ void softmax_forward(const float* __restrict__ S, void* P, int pbf, void* lse, int lbf,
                                           long long rows_total, int T, int window) {
  long long row = thread_index() >> 5;
  int lane = threadIdx.x & 31;
  if (row >= rows_total) return;
  int q = row % T;
  const float* s = S + row * T;
  float mx = NEG_INF;
  for (int k = lane; k < T; k += 32) if (!masked(q, k, window)) mx = fmaxf(mx, s[k]);
  mx = warp_max(mx);
  float sum = 0.0f;
  for (int k = lane; k < T; k += 32) if (!masked(q, k, window)) sum += expf(s[k] - mx);
  float l = mx + logf(warp_sum(sum));
  for (int k = lane; k < T; k += 32) st(P, pbf, row * T + k, masked(q, k, window) ? 0.0f : expf(s[k] - l));
  if (lane == 0) st(lse, lbf, row, l);
}

// D[row] = Σ_c dO[row, c] · O[row, c] (head-major rows, fp32 out). One warp a row.
extern "C" __global__ void row_dot(float* __restrict__ D, const void* dO, int dobf, const void* O, int obf, long long rows_total, int d) {
  long long row = thread_index() >> 5;
  int lane = threadIdx.x & 31;
  if (row >= rows_total) return;
  float acc = 0.0f;
  for (int c = lane; c < d; c += 32) acc += ld(dO, dobf, row * d + c) * ld(O, obf, row * d + c);
  acc = warp_sum(acc);
  if (lane == 0) D[row] = acc;
}

// Backward through the softmax, one warp a row. S: the recomputed scaled scores, dP = dO·Vᵀ
// (both fp32) → P (for dV = Pᵀ·dO) and dS = P ⊙ (dP − D) · scale (for dQ and dK); masked
// entries are zero in both.
extern "C" __global__ void softmax_backward(const float* __restrict__ S, const float* __restrict__ dP, const void* lse, int lbf,
                                            const float* __restrict__ D, void* P, int pbf, void* dS, int dsbf,
                                            long long rows_total, int T, int window, float scale) {
  long long row = thread_index() >> 5;
  int lane = threadIdx.x & 31;
  if (row >= rows_total) return;
  int q = row % T;
  float l = ld(lse, lbf, row), drow = D[row];
  for (int k = lane; k < T; k += 32) {
    long long i = row * T + k;
    if (masked(q, k, window)) {
      st(P, pbf, i, 0.0f);
      st(dS, dsbf, i, 0.0f);
      continue;
    }
    float p = expf(S[i] - l);
    st(P, pbf, i, p);
    st(dS, dsbf, i, p * (dP[i] - drow) * scale);
  }
}

// Inference attention of new query rows over a KV cache (the decoder's prefill and decode).
// grid (rows, heads), CACHED_WARPS warps a block; query row t sits at position p = start + t and
// sees keys lo … p (lo = p − window + 1 with a sliding window, else 0). Each warp takes groups of
// CACHED_UNROLL consecutive keys, every CACHED_WARPS-th group: the lanes split the head dimension
// (d ≤ 256: 8 values a lane), a group's K and V rows are loaded before any of its arithmetic so
// their loads are in flight together, each dot product is a warp sum, and the warp keeps an online
// softmax (running max m, sum l, unnormalised output acc). The warps' partial results are merged
// through shared memory at the end. A decode step has one row and a few heads, so a block's warps
// and their loads in flight are what hide the cache's latency: with 4 warps and one key at a time
// a SmolLM2 step spent about 4 of its 5.4 ms here (bench/results/host-overhead-cpu.md).
// q: [*, H, d] (row q_row + t), kc, vc: [≥ start + rows, Hkv, d], out: like q; fp32 math whatever
// the storage. Launched with 32 · CACHED_WARPS threads (CACHED_ATTENTION_THREADS in backend.ts).
#define CACHED_WARPS 16
#define CACHED_UNROLL 4
extern "C" __global__ void cached_attention(void* out, int obf, const void* q, int qbf, const void* kc, const void* vc, int kvbf,
                                            int q_row, int start, int heads, int kv_heads, int d, float scale, int window) {
  const int t = blockIdx.x, h = blockIdx.y;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int g = h / (heads / kv_heads);
  const int p = start + t;
  const int lo = window > 0 ? max(0, p - window + 1) : 0;
  const long long qbase = ((long long)(q_row + t) * heads + h) * d;
  float qv[8], acc[8];
#pragma unroll
  for (int i = 0; i < 8; i++) {
    int c = lane + 32 * i;
    qv[i] = c < d ? ld(q, qbf, qbase + c) * scale : 0.0f;
    acc[i] = 0.0f;
  }
  float m = __int_as_float(0xff800000), l = 0.0f;  // −∞
  for (int j0 = lo + warp * CACHED_UNROLL; j0 <= p; j0 += CACHED_WARPS * CACHED_UNROLL) {
    // the group's loads first (j is the same for the whole warp, so the branches do not diverge)
    float s[CACHED_UNROLL], vv[CACHED_UNROLL][8];
#pragma unroll
    for (int u = 0; u < CACHED_UNROLL; u++) {
      const int j = j0 + u;
      const long long kbase = ((long long)j * kv_heads + g) * d;
      float dot = 0.0f;
#pragma unroll
      for (int i = 0; i < 8; i++) {
        int c = lane + 32 * i;
        vv[u][i] = 0.0f;
        if (j <= p && c < d) {  // past p: nothing is read (the cache may end there)
          dot += qv[i] * ld(kc, kvbf, kbase + c);
          vv[u][i] = ld(vc, kvbf, kbase + c);
        }
      }
      s[u] = dot;
    }
#pragma unroll
    for (int u = 0; u < CACHED_UNROLL; u++) s[u] = warp_sum(s[u]);
#pragma unroll
    for (int u = 0; u < CACHED_UNROLL; u++) {
      if (j0 + u > p) break;
      float mn = fmaxf(m, s[u]);
      float corr = expf(m - mn);  // 0 on the first key (m = −∞)
      float e = expf(s[u] - mn);
      l = l * corr + e;
#pragma unroll
      for (int i = 0; i < 8; i++) acc[i] = acc[i] * corr + e * vv[u][i];
      m = mn;
    }
  }
  __shared__ float wm[CACHED_WARPS], wl[CACHED_WARPS];
  __shared__ float wacc[CACHED_WARPS][256];
  if (lane == 0) {
    wm[warp] = m;
    wl[warp] = l;
  }
#pragma unroll
  for (int i = 0; i < 8; i++) {
    int c = lane + 32 * i;
    if (c < d) wacc[warp][c] = acc[i];
  }
  __syncthreads();
  // key p is always seen, so the overall max M is finite; a warp that saw no key has m = −∞ and weight 0
  float M = __int_as_float(0xff800000);
  for (int w = 0; w < CACHED_WARPS; w++) M = fmaxf(M, wm[w]);
  float L = 0.0f;
  float weight[CACHED_WARPS];
  for (int w = 0; w < CACHED_WARPS; w++) {
    weight[w] = wl[w] > 0.0f ? expf(wm[w] - M) : 0.0f;
    L += wl[w] * weight[w];
  }
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    float o = 0.0f;
    for (int w = 0; w < CACHED_WARPS; w++) o += wacc[w][c] * weight[w];
    st(out, obf, qbase + c, o / L);
  }
}
