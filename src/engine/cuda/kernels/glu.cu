// Gated MLP activations, elementwise over [n] (n = tokens · intermediate):
//   SwiGLU: h = silu(gate) · up          GeGLU (Gemma): h = gelu_tanh(gate) · up
// act: 0 = silu, 1 = gelu_tanh. All tensors bf16; math in fp32.
// The _x8 kernels take 8 elements a thread in 16-byte loads and stores (n divisible by 8, every
// pointer 16-byte aligned): over [4096, 11008] the one-element kernels reach about 1.3 TB/s on an
// H200, two bytes a load. Each element's arithmetic is the same, so both give the same bits.

__device__ __forceinline__ float gelu_tanh(float x, float* dgelu) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  float inner = k * (x + 0.044715f * x * x * x);
  float t = tanhf(inner);
  *dgelu = 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * k * (1.0f + 3.0f * 0.044715f * x * x);
  return 0.5f * x * (1.0f + t);
}

__device__ __forceinline__ float silu(float x, float* dsilu) {
  float s = 1.0f / (1.0f + __expf(-x));
  *dsilu = s * (1.0f + x * (1.0f - s));
  return x * s;
}

// One element of the backward pass: dgate, dup, and h = act(gate) · up (the forward's product).
__device__ __forceinline__ float glu_element_backward(float g, float u, float d, int act, float* dg, float* du) {
  float da;
  float a = act == 0 ? silu(g, &da) : gelu_tanh(g, &da);
  *dg = d * u * da;
  *du = d * a;
  return a * u;
}

extern "C" __global__ void glu_forward(const bf16_t* __restrict__ gate, const bf16_t* __restrict__ up,
                                       bf16_t* __restrict__ h, long long n, int act) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float g = bf16_to_f32(gate[i]), d;
  float a = act == 0 ? silu(g, &d) : gelu_tanh(g, &d);
  h[i] = f32_to_bf16(a * bf16_to_f32(up[i]));
}

// dh → dgate = dh · up · act'(gate), dup = dh · act(gate)
// The _remake kernels also write h = act(gate) · up over dh (each element read before it is
// written, by the same thread), with the forward's arithmetic, so the same bits: a backward pass
// that dropped h gets it back from the gate and up it reads anyway, instead of a forward pass more.
extern "C" __global__ void glu_backward(const bf16_t* __restrict__ dh, const bf16_t* __restrict__ gate,
                                        const bf16_t* __restrict__ up, bf16_t* __restrict__ dgate,
                                        bf16_t* __restrict__ dup, long long n, int act) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float dg, du;
  glu_element_backward(bf16_to_f32(gate[i]), bf16_to_f32(up[i]), bf16_to_f32(dh[i]), act, &dg, &du);
  dgate[i] = f32_to_bf16(dg);
  dup[i] = f32_to_bf16(du);
}

extern "C" __global__ void glu_forward_x8(const uint4* __restrict__ gate, const uint4* __restrict__ up,
                                          uint4* __restrict__ h, long long n8, int act) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n8) return;
  float g[8], u[8], o[8], d;
  unpack_bf16x8(gate[i], g);
  unpack_bf16x8(up[i], u);
#pragma unroll
  for (int j = 0; j < 8; j++) o[j] = (act == 0 ? silu(g[j], &d) : gelu_tanh(g[j], &d)) * u[j];
  h[i] = pack_bf16x8(o);
}

extern "C" __global__ void glu_backward_x8(const uint4* __restrict__ dh, const uint4* __restrict__ gate,
                                           const uint4* __restrict__ up, uint4* __restrict__ dgate,
                                           uint4* __restrict__ dup, long long n8, int act) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n8) return;
  float g[8], u[8], d[8], dg[8], du[8];
  unpack_bf16x8(gate[i], g);
  unpack_bf16x8(up[i], u);
  unpack_bf16x8(dh[i], d);
#pragma unroll
  for (int j = 0; j < 8; j++) glu_element_backward(g[j], u[j], d[j], act, &dg[j], &du[j]);
  dgate[i] = pack_bf16x8(dg);
  dup[i] = pack_bf16x8(du);
}

extern "C" __global__ void glu_backward_remake(bf16_t* dh_h, const bf16_t* __restrict__ gate,
                                               const bf16_t* __restrict__ up, bf16_t* __restrict__ dgate,
                                               bf16_t* __restrict__ dup, long long n, int act) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float dg, du;
  float h = glu_element_backward(bf16_to_f32(gate[i]), bf16_to_f32(up[i]), bf16_to_f32(dh_h[i]), act, &dg, &du);
  dgate[i] = f32_to_bf16(dg);
  dup[i] = f32_to_bf16(du);
  dh_h[i] = f32_to_bf16(h);
}

extern "C" __global__ void glu_backward_remake_x8(uint4* dh_h, const uint4* __restrict__ gate,
                                                  const uint4* __restrict__ up, uint4* __restrict__ dgate,
                                                  uint4* __restrict__ dup, long long n8, int act) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n8) return;
  float g[8], u[8], d[8], dg[8], du[8], h[8];
  unpack_bf16x8(gate[i], g);
  unpack_bf16x8(up[i], u);
  unpack_bf16x8(dh_h[i], d);
#pragma unroll
  for (int j = 0; j < 8; j++) h[j] = glu_element_backward(g[j], u[j], d[j], act, &dg[j], &du[j]);
  dgate[i] = pack_bf16x8(dg);
  dup[i] = pack_bf16x8(du);
  dh_h[i] = pack_bf16x8(h);
}
