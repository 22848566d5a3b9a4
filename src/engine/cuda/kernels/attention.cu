// Causal self-attention through batched GEMMs (cuBLAS does Q·Kᵀ, P·V and the backward's four
// products on tensor cores); these kernels do the layout changes and the row-wise softmax parts.
//
// Layouts. Projections give token-major [B, T, H, d]. GEMMs want head-major, with the g = H/Hkv
// query heads of one KV head stacked: q_hm [B, Hkv, g, T, d], k_hm/v_hm [B, Hkv, T, d]. Then one
// batch entry (b, kvh) is  S[g·T, T] = Q[g·T, d] · K[T, d]ᵀ,  and GQA needs no copies of K and V.
// Scores S and probabilities P are [B, Hkv, g·T, T]; row r of a batch entry is query position r % T.

// [B, T, heads, d] ↔ [B, heads/group... ] permutation: token-major → head-major and back.
// One thread moves 8 bf16 (16 bytes); d is a multiple of 8.
extern "C" __global__ void to_head_major(const uint4* __restrict__ src, uint4* __restrict__ dst,
                                         int B, int T, int heads, int d8, int inverse) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  long long total = (long long)B * T * heads * d8;
  if (i >= total) return;
  int c = i % d8;
  long long rest = i / d8;
  int h = rest % heads; rest /= heads;
  int t = rest % T;
  int b = rest / T;
  long long token_major = (((long long)b * T + t) * heads + h) * d8 + c;
  long long head_major = (((long long)b * heads + h) * T + t) * d8 + c;
  if (inverse) dst[token_major] = src[head_major];
  else dst[head_major] = src[token_major];
}

__device__ __forceinline__ bool masked(int q, int k, int window) {
  return k > q || (window > 0 && q - k >= window);
}

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffff, v, o));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffff, v, o);
  return v;
}

// One warp a row of S (fp32, already scaled): P = softmax over the unmasked keys (bf16), lse saved.
// rows_total = B·Hkv·g·T; T keys a row.
extern "C" __global__ void causal_softmax_forward(const float* __restrict__ S, bf16_t* __restrict__ P,
                                                  float* __restrict__ lse, long long rows_total, int T, int window) {
  long long row = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  int lane = threadIdx.x & 31;
  if (row >= rows_total) return;
  int q = row % T;
  const float* s = S + row * T;
  bf16_t* p = P + row * T;
  float mx = NEG_INF;
  for (int k = lane; k < T; k += 32) if (!masked(q, k, window)) mx = fmaxf(mx, s[k]);
  mx = warp_max(mx);
  float sum = 0.0f;
  for (int k = lane; k < T; k += 32) if (!masked(q, k, window)) sum += __expf(s[k] - mx);
  sum = warp_sum(sum);
  float l = mx + __logf(sum);
  for (int k = lane; k < T; k += 32) p[k] = masked(q, k, window) ? (bf16_t)0 : f32_to_bf16(__expf(s[k] - l));
  if (lane == 0) lse[row] = l;
}

// D[row] = Σ_d dO[row, d] · O[row, d]  (head-major rows, bf16 in, fp32 out). One warp a row.
extern "C" __global__ void attention_row_dot(const bf16_t* __restrict__ dO, const bf16_t* __restrict__ O,
                                             float* __restrict__ D, long long rows_total, int d) {
  long long row = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  int lane = threadIdx.x & 31;
  if (row >= rows_total) return;
  float acc = 0.0f;
  for (int c = lane; c < d; c += 32) acc += bf16_to_f32(dO[row * d + c]) * bf16_to_f32(O[row * d + c]);
  acc = warp_sum(acc);
  if (lane == 0) D[row] = acc;
}

// Backward through the softmax, one warp a row. S holds the recomputed scaled scores (fp32),
// dP = dO·Vᵀ (fp32). Writes P (bf16, for dV = Pᵀ·dO) and dS = P ⊙ (dP − D) · scale (bf16, for
// dQ and dK); masked entries are zero in both.
extern "C" __global__ void causal_softmax_backward(const float* __restrict__ S, const float* __restrict__ dP,
                                                   const float* __restrict__ lse, const float* __restrict__ D,
                                                   bf16_t* __restrict__ P, bf16_t* __restrict__ dS,
                                                   long long rows_total, int T, int window, float scale) {
  long long row = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  int lane = threadIdx.x & 31;
  if (row >= rows_total) return;
  int q = row % T;
  float l = lse[row], drow = D[row];
  for (int k = lane; k < T; k += 32) {
    long long i = row * T + k;
    if (masked(q, k, window)) { P[i] = 0; dS[i] = 0; continue; }
    float p = __expf(S[i] - l);
    P[i] = f32_to_bf16(p);
    dS[i] = f32_to_bf16(p * (dP[i] - drow) * scale);
  }
}
