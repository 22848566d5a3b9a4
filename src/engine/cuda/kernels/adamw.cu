// AdamW over fp32 parameters (LoRA A and B):
//   m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²
//   p −= lr · ( m/(1−β1^t) / (sqrt(v/(1−β2^t)) + eps) + wd · p )
// grad_scale multiplies g first (1/accumulation steps and the clipping factor in one number).
// bias1 = 1−β1^t, bias2 = 1−β2^t and the moments' weights 1−β1, 1−β2 come from the host in
// float64: 1.0f − β2 in fp32 is 1 − fp32(0.999) = 0.00099998713, 1.3e-5 off 0.001, which biases v
// and every update by 6e-6 against torch's AdamW. Both kernels below use this one function, so the
// per-matrix step and the whole-arena step give the same bits.
__device__ __forceinline__ float adamw_update(float p, float g, float* __restrict__ m, float* __restrict__ v, long long i,
                                              float lr, float beta1, float beta2, float one_minus_beta1,
                                              float one_minus_beta2, float eps, float weight_decay, float bias1,
                                              float bias2, float grad_scale) {
  float grad = g * grad_scale;
  float mi = beta1 * m[i] + one_minus_beta1 * grad;
  float vi = beta2 * v[i] + one_minus_beta2 * grad * grad;
  m[i] = mi;
  v[i] = vi;
  float mhat = mi / bias1, vhat = vi / bias2;
  return p - lr * (mhat / (sqrtf(vhat) + eps) + weight_decay * p);
}

// One AdamW step on p, g, m, v: [n] fp32, one thread an element.
extern "C" __global__ void adamw_step(float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
                                      float* __restrict__ v, long long n, float lr, float beta1, float beta2,
                                      float one_minus_beta1, float one_minus_beta2, float eps, float weight_decay,
                                      float bias1, float bias2, float grad_scale) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  p[i] = adamw_update(p[i], g[i], m, v, i, lr, beta1, beta2, one_minus_beta1, one_minus_beta2, eps, weight_decay, bias1,
                      bias2, grad_scale);
}

// The whole optimizer step over the LoRA arenas (lora-arena.ts) in one launch, grid-stride over [n]:
// the AdamW step of adamw_step on the fp32 master p, then shadow = bf16(new p) (round to nearest
// even, as f32_to_bf16_copy) for the next forward's GEMMs, then g = 0 for the next accumulation.
// The zero padding between matrices stays zero: g = m = v = p = 0 gives 0 / (0 + eps) = 0 (eps > 0).
extern "C" __global__ void adamw_shadow_step(float* __restrict__ p, float* __restrict__ g, float* __restrict__ m,
                                             float* __restrict__ v, bf16_t* __restrict__ shadow, long long n, float lr,
                                             float beta1, float beta2, float one_minus_beta1, float one_minus_beta2,
                                             float eps, float weight_decay, float bias1, float bias2, float grad_scale) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
    float pi = adamw_update(p[i], g[i], m, v, i, lr, beta1, beta2, one_minus_beta1, one_minus_beta2, eps, weight_decay,
                            bias1, bias2, grad_scale);
    p[i] = pi;
    shadow[i] = f32_to_bf16(pi);
    g[i] = 0.0f;
  }
}

// Σ over a block of 256 threads (8 warps), in a fixed order: every thread gets the block's sum.
__device__ __forceinline__ float block_sum_256(float s, float* scratch) {
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffff, s, o);
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = s;
  __syncthreads();
  s = (threadIdx.x & 31) < 8 ? scratch[threadIdx.x & 31] : 0.0f;
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffff, s, o);
  return s;
}

// The gradient norm's Σx² in two passes with no atomics, so a run repeats it bit for bit (an
// atomicAdd of the blocks' sums adds them in the order they finish). Pass 1: x: [n] fp32,
// grid-stride; block b writes its sum to partial[b]. 256 threads a block.
extern "C" __global__ void sum_squares_partial(const float* __restrict__ x, long long n, float* __restrict__ partial) {
  __shared__ float scratch[8];
  float s = 0.0f;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) s += x[i] * x[i];
  s = block_sum_256(s, scratch);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// Pass 2, one block of 256 threads: *out = Σ partial[0..count), thread t summing t, t + 256, … first.
extern "C" __global__ void sum_partials(const float* __restrict__ partial, int count, float* __restrict__ out) {
  __shared__ float scratch[8];
  float s = 0.0f;
  for (int i = threadIdx.x; i < count; i += blockDim.x) s += partial[i];
  s = block_sum_256(s, scratch);
  if (threadIdx.x == 0) *out = s;
}
