// RMSNorm, one block of 256 threads a row. x, y: [rows, dim] bf16; weight: [dim] fp32;
// rstd: [rows] fp32 (saved for the backward). unit_offset = 1 for Gemma's (1 + w).
//   y = x · rstd · (w + unit_offset),  rstd = 1 / sqrt(mean(x²) + eps)

__device__ __forceinline__ float block_sum(float v, float* scratch) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffff, v, o);
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  int warps = blockDim.x >> 5;
  v = lane < warps ? scratch[lane] : 0.0f;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffff, v, o);
  __syncthreads();
  return v;
}

extern "C" __global__ void rmsnorm_forward(const bf16_t* __restrict__ x, const float* __restrict__ weight,
                                           bf16_t* __restrict__ y, float* __restrict__ rstd,
                                           int dim, float eps, float unit_offset) {
  __shared__ float scratch[32];
  const bf16_t* xr = x + (size_t)blockIdx.x * dim;
  bf16_t* yr = y + (size_t)blockIdx.x * dim;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) { float v = bf16_to_f32(xr[i]); ss += v * v; }
  float r = rsqrtf(block_sum(ss, scratch) / dim + eps);
  if (threadIdx.x == 0) rstd[blockIdx.x] = r;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) {
    yr[i] = f32_to_bf16(bf16_to_f32(xr[i]) * r * (weight[i] + unit_offset));
  }
}

// dy: [rows, dim] bf16 → dx: [rows, dim] bf16 (written, or added to when accumulate = 1).
//   dx = rstd · g · dy − x · rstd³ · mean(x · g · dy),  g = w + unit_offset
extern "C" __global__ void rmsnorm_backward(const bf16_t* __restrict__ dy, const bf16_t* __restrict__ x,
                                            const float* __restrict__ weight, const float* __restrict__ rstd,
                                            bf16_t* __restrict__ dx, int dim, float unit_offset, int accumulate) {
  __shared__ float scratch[32];
  size_t row = blockIdx.x;
  const bf16_t* xr = x + row * dim;
  const bf16_t* dyr = dy + row * dim;
  bf16_t* dxr = dx + row * dim;
  float r = rstd[row];
  float dot = 0.0f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) dot += bf16_to_f32(xr[i]) * (weight[i] + unit_offset) * bf16_to_f32(dyr[i]);
  float mean = block_sum(dot, scratch) / dim;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) {
    float g = weight[i] + unit_offset;
    float v = r * g * bf16_to_f32(dyr[i]) - bf16_to_f32(xr[i]) * r * r * r * mean;
    if (accumulate) v += bf16_to_f32(dxr[i]);
    dxr[i] = f32_to_bf16(v);
  }
}

// The residual add fused with the next RMSNorm, one block a row:
//   sum = a + b (written: the residual stream), y = sum · rstd · (w + unit_offset)
// Saves a pass over the stream and a separate add kernel.
extern "C" __global__ void add_rmsnorm_forward(const bf16_t* __restrict__ a, const bf16_t* __restrict__ b,
                                               const float* __restrict__ weight, bf16_t* __restrict__ sum,
                                               bf16_t* __restrict__ y, float* __restrict__ rstd,
                                               int dim, float eps, float unit_offset) {
  __shared__ float scratch[32];
  size_t base = (size_t)blockIdx.x * dim;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) {
    // round the sum to bf16 first: the norm must see exactly the stream value the backward will read
    bf16_t s = f32_to_bf16(bf16_to_f32(a[base + i]) + bf16_to_f32(b[base + i]));
    sum[base + i] = s;
    float v = bf16_to_f32(s);
    ss += v * v;
  }
  float r = rsqrtf(block_sum(ss, scratch) / dim + eps);
  if (threadIdx.x == 0) rstd[blockIdx.x] = r;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) {
    y[base + i] = f32_to_bf16(bf16_to_f32(sum[base + i]) * r * (weight[i] + unit_offset));
  }
}
