// Cross-entropy over a chunk of rows of logits, fused with its gradient, one block a row.
// logits: [rows, vocab] bf16 (overwritten with dlogits = (softmax − onehot) · scale);
// targets: [rows] int32, −100 = ignored (its dlogits row is zeroed, its loss 0);
// losses: [rows] fp32. The caller runs this on chunks so the logits of a whole batch never
// exist at once, and sets scale = 1 / (unmasked tokens in the batch).

__device__ __forceinline__ float block_reduce(float v, float* scratch, bool is_max) {
  for (int o = 16; o > 0; o >>= 1) {
    float other = __shfl_xor_sync(0xffffffff, v, o);
    v = is_max ? fmaxf(v, other) : v + other;
  }
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  int warps = blockDim.x >> 5;
  v = lane < warps ? scratch[lane] : (is_max ? NEG_INF : 0.0f);
  for (int o = 16; o > 0; o >>= 1) {
    float other = __shfl_xor_sync(0xffffffff, v, o);
    v = is_max ? fmaxf(v, other) : v + other;
  }
  __syncthreads();
  return v;
}

extern "C" __global__ void cross_entropy_fused(bf16_t* __restrict__ logits, const int* __restrict__ targets,
                                               float* __restrict__ losses, int vocab, float scale) {
  __shared__ float scratch[32];
  size_t row = blockIdx.x;
  bf16_t* lr = logits + row * vocab;
  int target = targets[row];
  if (target < 0) {
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) lr[i] = 0;
    if (threadIdx.x == 0) losses[row] = 0.0f;
    return;
  }
  float mx = NEG_INF;
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) mx = fmaxf(mx, bf16_to_f32(lr[i]));
  mx = block_reduce(mx, scratch, true);
  float sum = 0.0f;
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) sum += __expf(bf16_to_f32(lr[i]) - mx);
  sum = block_reduce(sum, scratch, false);
  float lse = mx + logf(sum);
  if (threadIdx.x == 0) losses[row] = lse - bf16_to_f32(lr[target]);
  __syncthreads();
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
    float p = __expf(bf16_to_f32(lr[i]) - lse);
    lr[i] = f32_to_bf16((p - (i == target ? 1.0f : 0.0f)) * scale);
  }
}
