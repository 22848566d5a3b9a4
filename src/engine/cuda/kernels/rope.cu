// Rotary position embedding, rotate-half layout (Hugging Face's apply_rotary_pos_emb), in place.
// x: [tokens, heads, head_dim] bf16; positions: [tokens] int32. One thread a (token, head, pair).
//   (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin), angle = pos · theta^(−2i/head_dim)
// direction = −1 applies the inverse rotation, which is the backward pass. With a table (from
// rope_table, below) the angles are read from it instead of computed: the same bits.

// (cos, sin) of the angle of pair i at a position; inv_freq in fp32 as transformers computes it: 1 / theta^(2i/d)
__device__ __forceinline__ float2 rope_cos_sin(int position, int i, int head_dim, float theta) {
  float inv_freq = 1.0f / powf(theta, (float)(2 * i) / (float)head_dim);
  float s, c;
  sincosf((float)position * inv_freq, &s, &c);
  return make_float2(c, s);
}

// (row[i], row[i + half]) → (x1·cos − x2·sin, x2·cos + x1·sin)
__device__ __forceinline__ void rotate_pair(bf16_t* row, int i, int half, float c, float s) {
  float x1 = bf16_to_f32(row[i]), x2 = bf16_to_f32(row[i + half]);
  row[i] = f32_to_bf16(x1 * c - x2 * s);
  row[i + half] = f32_to_bf16(x2 * c + x1 * s);
}

extern "C" __global__ void rope_apply(bf16_t* __restrict__ x, const int* __restrict__ positions,
                                      const float2* __restrict__ table, int tokens, int heads, int head_dim,
                                      float theta, float direction) {
  int half = head_dim >> 1;
  long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  long long total = (long long)tokens * heads * half;
  if (idx >= total) return;
  int i = idx % half;
  long long th = idx / half;  // token · heads + head
  long long t = th / heads;
  float2 cs = table != nullptr ? table[t * half + i] : rope_cos_sin(positions[t], i, head_dim, theta);
  rotate_pair(x + th * head_dim, i, half, cs.x, cs.y * direction);
}

// The table of (cos, sin) per (token, pair) that rope_apply reads instead of computing them, made
// once a training step: the positions and theta are the same in every layer, and powf + sincosf
// of each element cost more than its load and store. table: [tokens, head_dim/2] float2.
extern "C" __global__ void rope_table(float2* __restrict__ table, const int* __restrict__ positions,
                                      int tokens, int head_dim, float theta) {
  int half = head_dim >> 1;
  long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (long long)tokens * half) return;
  table[idx] = rope_cos_sin(positions[idx / half], idx % half, head_dim, theta);
}
