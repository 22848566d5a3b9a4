// RMSNorm, one block of 256 threads a row. x, y: [rows, dim] bf16; weight: [dim] fp32;
// rstd: [rows] fp32 (saved for the backward). unit_offset = 1 for Gemma's (1 + w).
//   y = x · rstd · (w + unit_offset),  rstd = 1 / sqrt(mean(x²) + eps)
// y (and the backward's dy) may be the first dim columns of a wider matrix, y_ld (dy_ld) elements a
// row: the input of projections whose LoRA B side is folded into the base product keeps its xa
// columns beside it (CudaSharedInputGroup).

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
                                           int dim, float eps, float unit_offset, int y_ld) {
  __shared__ float scratch[32];
  const bf16_t* xr = x + (size_t)blockIdx.x * dim;
  bf16_t* yr = y + (size_t)blockIdx.x * y_ld;
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
                                            bf16_t* __restrict__ dx, int dim, float unit_offset, int accumulate, int dy_ld) {
  __shared__ float scratch[32];
  size_t row = blockIdx.x;
  const bf16_t* xr = x + row * dim;
  const bf16_t* dyr = dy + row * dy_ld;
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
                                               int dim, float eps, float unit_offset, int y_ld) {
  __shared__ float scratch[32];
  size_t base = (size_t)blockIdx.x * dim;
  bf16_t* yr = y + (size_t)blockIdx.x * y_ld;
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
    yr[i] = f32_to_bf16(bf16_to_f32(sum[base + i]) * r * (weight[i] + unit_offset));
  }
}

// The three kernels above with 8 elements a thread in 16-byte loads and stores, for dim divisible
// by 8 and 16-byte-aligned rows (every hidden size and head size of the supported families). Each
// thread keeps its elements in registers between the two passes. The sums run in another order,
// so rstd may differ from the one-element kernels' in its last bits. Row strides (y_ld8, dy_ld8) are
// in 16-byte words.
#define RMS_VEC_MAX 2  // 16-byte words a thread keeps: dim ≤ 2 · 8 · blockDim (4096 with 256 threads)

__device__ __forceinline__ void weight8(const float* __restrict__ weight, int i8, float unit_offset, float* g) {
  float4 a = reinterpret_cast<const float4*>(weight)[2 * i8], b = reinterpret_cast<const float4*>(weight)[2 * i8 + 1];
  g[0] = a.x + unit_offset; g[1] = a.y + unit_offset; g[2] = a.z + unit_offset; g[3] = a.w + unit_offset;
  g[4] = b.x + unit_offset; g[5] = b.y + unit_offset; g[6] = b.z + unit_offset; g[7] = b.w + unit_offset;
}

// The second half of both forward kernels: rstd from the row's Σx² (ss, this thread's part), then
// yr = v · rstd · g from the values each thread kept in registers.
__device__ __forceinline__ void normalize_row_x8(const float (&v)[RMS_VEC_MAX][8], float ss, float* scratch,
                                                 const float* __restrict__ weight, float unit_offset,
                                                 uint4* __restrict__ yr, float* __restrict__ rstd, int dim, float eps) {
  int d8 = dim >> 3;
  float r = rsqrtf(block_sum(ss, scratch) / dim + eps);
  if (threadIdx.x == 0) rstd[blockIdx.x] = r;
#pragma unroll
  for (int k = 0; k < RMS_VEC_MAX; k++) {
    int i8 = threadIdx.x + k * blockDim.x;
    if (i8 < d8) {
      float g[8], o[8];
      weight8(weight, i8, unit_offset, g);
#pragma unroll
      for (int j = 0; j < 8; j++) o[j] = v[k][j] * r * g[j];
      yr[i8] = pack_bf16x8(o);
    }
  }
}

extern "C" __global__ void rmsnorm_forward_x8(const uint4* __restrict__ x, const float* __restrict__ weight,
                                              uint4* __restrict__ y, float* __restrict__ rstd,
                                              int dim, float eps, float unit_offset, int y_ld8) {
  __shared__ float scratch[32];
  int d8 = dim >> 3;
  const uint4* xr = x + (size_t)blockIdx.x * d8;
  uint4* yr = y + (size_t)blockIdx.x * y_ld8;
  float v[RMS_VEC_MAX][8];
  float ss = 0.0f;
#pragma unroll
  for (int k = 0; k < RMS_VEC_MAX; k++) {
    int i8 = threadIdx.x + k * blockDim.x;
    if (i8 < d8) {
      unpack_bf16x8(xr[i8], v[k]);
#pragma unroll
      for (int j = 0; j < 8; j++) ss += v[k][j] * v[k][j];
    }
  }
  normalize_row_x8(v, ss, scratch, weight, unit_offset, yr, rstd, dim, eps);
}

extern "C" __global__ void rmsnorm_backward_x8(const uint4* __restrict__ dy, const uint4* __restrict__ x,
                                               const float* __restrict__ weight, const float* __restrict__ rstd,
                                               uint4* __restrict__ dx, int dim, float unit_offset, int accumulate, int dy_ld8) {
  __shared__ float scratch[32];
  int d8 = dim >> 3;
  size_t row = blockIdx.x;
  const uint4* xr = x + row * d8;
  const uint4* dyr = dy + row * dy_ld8;
  uint4* dxr = dx + row * d8;
  float r = rstd[row];
  float xv[RMS_VEC_MAX][8], gd[RMS_VEC_MAX][8];  // x, and g · dy
  float dot = 0.0f;
#pragma unroll
  for (int k = 0; k < RMS_VEC_MAX; k++) {
    int i8 = threadIdx.x + k * blockDim.x;
    if (i8 < d8) {
      float g[8], d[8];
      unpack_bf16x8(xr[i8], xv[k]);
      unpack_bf16x8(dyr[i8], d);
      weight8(weight, i8, unit_offset, g);
#pragma unroll
      for (int j = 0; j < 8; j++) {
        gd[k][j] = g[j] * d[j];
        dot += xv[k][j] * gd[k][j];
      }
    }
  }
  float mean = block_sum(dot, scratch) / dim;
#pragma unroll
  for (int k = 0; k < RMS_VEC_MAX; k++) {
    int i8 = threadIdx.x + k * blockDim.x;
    if (i8 < d8) {
      float o[8], prev[8];
      if (accumulate) unpack_bf16x8(dxr[i8], prev);
#pragma unroll
      for (int j = 0; j < 8; j++) o[j] = r * gd[k][j] - xv[k][j] * r * r * r * mean + (accumulate ? prev[j] : 0.0f);
      dxr[i8] = pack_bf16x8(o);
    }
  }
}

extern "C" __global__ void add_rmsnorm_forward_x8(const uint4* __restrict__ a, const uint4* __restrict__ b,
                                                  const float* __restrict__ weight, uint4* __restrict__ sum,
                                                  uint4* __restrict__ y, float* __restrict__ rstd,
                                                  int dim, float eps, float unit_offset, int y_ld8) {
  __shared__ float scratch[32];
  int d8 = dim >> 3;
  size_t base = (size_t)blockIdx.x * d8;
  float v[RMS_VEC_MAX][8];
  float ss = 0.0f;
#pragma unroll
  for (int k = 0; k < RMS_VEC_MAX; k++) {
    int i8 = threadIdx.x + k * blockDim.x;
    if (i8 < d8) {
      float fa[8], fb[8];
      unpack_bf16x8(a[base + i8], fa);
      unpack_bf16x8(b[base + i8], fb);
      // round the sum to bf16 first: the norm must see exactly the stream value the backward will read
#pragma unroll
      for (int j = 0; j < 8; j++) fa[j] += fb[j];
      uint4 s = pack_bf16x8(fa);
      sum[base + i8] = s;
      unpack_bf16x8(s, v[k]);
#pragma unroll
      for (int j = 0; j < 8; j++) ss += v[k][j] * v[k][j];
    }
  }
  normalize_row_x8(v, ss, scratch, weight, unit_offset, y + (size_t)blockIdx.x * y_ld8, rstd, dim, eps);
}
