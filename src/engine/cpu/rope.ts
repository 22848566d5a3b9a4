/**
 * Rotary position embedding in Hugging Face's rotate-half layout (`apply_rotary_pos_emb`): for
 * i < d/2, the pair (x[i], x[i + d/2]) is rotated by the angle pos · θ^(−2i/d). Angles are formed
 * in float32 as transformers does (inv_freq and pos·inv_freq rounded to float32).
 * x: [tokens, heads, headDim], rotated in place; positions: [tokens].
 * The backward pass is the inverse rotation of the gradient: `ropeBackward`.
 */
export function ropeForward(x: Float32Array, positions: Int32Array, tokens: number, heads: number, headDim: number, theta: number): void {
  rotate(x, positions, tokens, heads, headDim, theta, 1);
}

/** dx: [tokens, heads, headDim] in place: the gradient of `ropeForward` (rotation by the negative angle). */
export function ropeBackward(dx: Float32Array, positions: Int32Array, tokens: number, heads: number, headDim: number, theta: number): void {
  rotate(dx, positions, tokens, heads, headDim, theta, -1);
}

let cache: { key: string; invFreq: Float32Array } | undefined;

function invFreqs(headDim: number, theta: number): Float32Array {
  const key = `${headDim}:${theta}`;
  if (cache?.key !== key) {
    const half = headDim / 2;
    const f = new Float32Array(half);
    for (let i = 0; i < half; i++) f[i] = 1 / theta ** Math.fround((2 * i) / headDim);
    cache = { key, invFreq: f };
  }
  return cache.invFreq;
}

function rotate(x: Float32Array, positions: Int32Array, tokens: number, heads: number, headDim: number, theta: number, sign: number): void {
  const half = headDim / 2;
  const invFreq = invFreqs(headDim, theta);
  const cos = new Float32Array(half);
  const sin = new Float32Array(half);
  for (let t = 0; t < tokens; t++) {
    const pos = positions[t];
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(pos * invFreq[i]);
      cos[i] = Math.cos(angle);
      sin[i] = sign * Math.sin(angle);
    }
    for (let h = 0; h < heads; h++) {
      const o = (t * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const a = x[o + i];
        const b = x[o + i + half];
        x[o + i] = a * cos[i] - b * sin[i];
        x[o + i + half] = b * cos[i] + a * sin[i];
      }
    }
  }
}
