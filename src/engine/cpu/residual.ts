/** out: [n] = a + b (out may alias a or b). The backward pass hands dout to both inputs: `accumulate`. */
export function residualForward(out: Float32Array, a: Float32Array, b: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/** dst: [n] += src: [n]. */
export function accumulate(dst: Float32Array, src: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dst[i] += src[i];
}
