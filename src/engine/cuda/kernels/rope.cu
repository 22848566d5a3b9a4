// Rotary position embedding, rotate-half layout (Hugging Face's apply_rotary_pos_emb), in place.
// x: [tokens, heads, head_dim] bf16; positions: [tokens] int32. One thread a (token, head, pair).
//   (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin), angle = pos · theta^(−2i/head_dim)
// direction = −1 applies the inverse rotation, which is the backward pass.
extern "C" __global__ void rope_apply(bf16_t* __restrict__ x, const int* __restrict__ positions,
                                      int tokens, int heads, int head_dim, float theta, float direction) {
  int half = head_dim >> 1;
  long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  long long total = (long long)tokens * heads * half;
  if (idx >= total) return;
  int i = idx % half;
  long long th = idx / half;  // token · heads + head
  int t = th / heads;
  // inv_freq in fp32 as transformers computes it: 1 / theta^(2i/d)
  float inv_freq = 1.0f / powf(theta, (float)(2 * i) / (float)head_dim);
  float angle = (float)positions[t] * inv_freq;
  float s, c;
  sincosf(angle, &s, &c);
  s *= direction;
  bf16_t* row = x + th * head_dim;
  float x1 = bf16_to_f32(row[i]), x2 = bf16_to_f32(row[i + half]);
  row[i] = f32_to_bf16(x1 * c - x2 * s);
  row[i + half] = f32_to_bf16(x2 * c + x1 * s);
}

// The same rotation from a table of (cos, sin) per (token, pair), made once a step by rope_table:
// the positions and theta are the same in every layer, and powf + sincosf of each element cost
// more than its load and store. table: [tokens, head_dim/2] float2, the values rope_apply computes.
extern "C" __global__ void rope_table(float2* __restrict__ table, const int* __restrict__ positions,
                                      int tokens, int head_dim, float theta) {
  int half = head_dim >> 1;
  long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (long long)tokens * half) return;
  int i = idx % half;
  int t = idx / half;
  float inv_freq = 1.0f / powf(theta, (float)(2 * i) / (float)head_dim);
  float s, c;
  sincosf((float)positions[t] * inv_freq, &s, &c);
  table[idx] = make_float2(c, s);
}

extern "C" __global__ void rope_apply_table(bf16_t* __restrict__ x, const float2* __restrict__ table,
                                            int tokens, int heads, int head_dim, float direction) {
  int half = head_dim >> 1;
  long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  long long total = (long long)tokens * heads * half;
  if (idx >= total) return;
  int i = idx % half;
  long long th = idx / half;  // token · heads + head
  int t = th / heads;
  float2 cs = table[(long long)t * half + i];
  float c = cs.x, s = cs.y * direction;
  bf16_t* row = x + th * head_dim;
  float x1 = bf16_to_f32(row[i]), x2 = bf16_to_f32(row[i + half]);
  row[i] = f32_to_bf16(x1 * c - x2 * s);
  row[i + half] = f32_to_bf16(x2 * c + x1 * s);
}
