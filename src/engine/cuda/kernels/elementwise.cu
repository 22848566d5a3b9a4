// Small elementwise kernels of the training step. bf16 unless said otherwise; one thread an element.

// y[i] += x[i]
extern "C" __global__ void add_inplace(bf16_t* __restrict__ y, const bf16_t* __restrict__ x, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = f32_to_bf16(bf16_to_f32(y[i]) + bf16_to_f32(x[i]));
}

// y[r, c] += bias[c] (bias fp32), y: [rows, cols]
extern "C" __global__ void add_bias(bf16_t* __restrict__ y, const float* __restrict__ bias, long long n, int cols) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = f32_to_bf16(bf16_to_f32(y[i]) + bias[i % cols]);
}

// dst: [rows, cols] = src: [rows, cols], src_ld elements a row (a column slice of a wider matrix:
// the xa columns beside a folded projection's input, kept apart when the input is freed)
extern "C" __global__ void copy_columns(bf16_t* __restrict__ dst, const bf16_t* __restrict__ src, int rows, int cols, int src_ld) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (long long)rows * cols) return;
  long long r = i / cols;
  dst[i] = src[r * src_ld + i % cols];
}

// fp32 → bf16 copy (the LoRA masters → their bf16 shadows when set from the host; the optimizer step
// writes them itself, in adamw_shadow_step)
extern "C" __global__ void f32_to_bf16_copy(bf16_t* __restrict__ dst, const float* __restrict__ src, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) dst[i] = f32_to_bf16(src[i]);
}

// NEFTune (src/engine/neftune.ts): x: [n] += (2u − 1)·magnitude, u = hash_uniform_bits(seed, i) / 2^32,
// the values neftuneNoise gives on the host.
extern "C" __global__ void neftune_noise_add(bf16_t* __restrict__ x, long long n, uint32_t seed, float magnitude) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float u = (float)hash_uniform_bits(seed, i) * 2.3283064365386963e-10f;
  x[i] = f32_to_bf16(bf16_to_f32(x[i]) + (2.0f * u - 1.0f) * magnitude);
}

// out[t, :] = table[ids[t], :] · scale; table: [vocab, dim] bf16, ids: [tokens] int32
extern "C" __global__ void embedding_gather(bf16_t* __restrict__ out, const bf16_t* __restrict__ table,
                                            const int* __restrict__ ids, int tokens, int dim, float scale) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (long long)tokens * dim) return;
  int t = i / dim, c = i % dim;
  out[i] = f32_to_bf16(bf16_to_f32(table[(long long)ids[t] * dim + c]) * scale);
}

// embedding_gather 8 elements a thread (dim8 = dim / 8; 16-byte aligned rows), the same bits: a
// table in page-locked host memory is read over the bus in 16-byte reads instead of 2-byte ones
extern "C" __global__ void embedding_gather_x8(uint4* __restrict__ out, const uint4* __restrict__ table,
                                               const int* __restrict__ ids, int tokens, int dim8, float scale) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (long long)tokens * dim8) return;
  int t = i / dim8, c = i % dim8;
  float f[8];
  unpack_bf16x8(table[(long long)ids[t] * dim8 + c], f);
#pragma unroll
  for (int j = 0; j < 8; j++) f[j] *= scale;
  out[i] = pack_bf16x8(f);
}

// out[index[t]] = src[t] row by row: out [*, dim], src [rows, dim], index [rows] int32
extern "C" __global__ void scatter_rows(bf16_t* __restrict__ out, const bf16_t* __restrict__ src,
                                        const int* __restrict__ index, int rows, int dim) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (long long)rows * dim) return;
  int t = i / dim, c = i % dim;
  out[(long long)index[t] * dim + c] = src[i];
}

// Deterministic pseudo-random fills for speed benchmarks (random weights), hash of (seed, index).
__device__ __forceinline__ uint32_t hash_u32(uint32_t x) {
  x ^= x >> 16; x *= 0x7feb352dU; x ^= x >> 15; x *= 0x846ca68bU; x ^= x >> 16;
  return x;
}

// out[i] uniform in [-scale, scale)
extern "C" __global__ void fill_random_bf16(bf16_t* __restrict__ out, long long n, float scale, uint32_t seed) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  uint32_t h = hash_u32((uint32_t)i ^ hash_u32(seed + (uint32_t)(i >> 32)));
  out[i] = f32_to_bf16(scale * ((float)h * 2.3283064e-10f * 2.0f - 1.0f));
}

extern "C" __global__ void fill_random_u8(uint8_t* __restrict__ out, long long n, uint32_t seed) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = (uint8_t)(hash_u32((uint32_t)i ^ hash_u32(seed + (uint32_t)(i >> 32))) >> 24);
}

// out[i] = a[i] + b[i]
extern "C" __global__ void add(bf16_t* __restrict__ out, const bf16_t* __restrict__ a, const bf16_t* __restrict__ b, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = f32_to_bf16(bf16_to_f32(a[i]) + bf16_to_f32(b[i]));
}
