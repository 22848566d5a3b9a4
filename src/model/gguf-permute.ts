// llama.cpp's convert_hf_to_gguf.py reorders the rows of Q and K for Llama-style models so
// that RoPE can rotate adjacent pairs: within each head of `headDim` rows, HF row
// `j*half + i` (j ∈ {0,1}, i < half = headDim/2) becomes GGUF row `2*i + j`.
//   permute(w, n_head) = w.reshape(n_head, 2, half, cols).swapaxes(1, 2).reshape(w.shape)

import { InvalidInputError } from "../errors.js";

function checkShape(weight: ArrayLike<number>, rows: number, cols: number, nHead: number): number {
  if (weight.length !== rows * cols) throw new InvalidInputError(`weight has ${weight.length} values, not ${rows}×${cols}`);
  if (nHead <= 0 || rows % nHead !== 0 || (rows / nHead) % 2 !== 0) {
    throw new InvalidInputError(`${rows} rows do not split into ${nHead} heads of an even size`);
  }
  return rows / nHead;
}

/**
 * Undoes llama.cpp's Q/K row permutation: `weight` is `[rows, cols]` row-major as read from the
 * GGUF (rows = nHead·headDim; nHead is the query head count for Q, the KV head count for K,
 * and cols = 1 for a bias). Returns a new array in Hugging Face row order.
 */
export function unpermuteQK(weight: Float32Array, rows: number, cols: number, nHead: number): Float32Array {
  return reorderQK(weight, rows, cols, nHead, "toHf");
}

/** The inverse of {@link unpermuteQK}: Hugging Face row order → llama.cpp's (for writing GGUF). */
export function permuteQK(weight: Float32Array, rows: number, cols: number, nHead: number): Float32Array {
  return reorderQK(weight, rows, cols, nHead, "toGguf");
}

/**
 * Within each head, llama.cpp's row 2i + j is Hugging Face's row j·headDim/2 + i (j = 0, 1): the
 * interleaved rotary pairs against the two halves. Copies every row to its place in the other order.
 */
function reorderQK(weight: Float32Array, rows: number, cols: number, nHead: number, direction: "toHf" | "toGguf"): Float32Array {
  const headDim = checkShape(weight, rows, cols, nHead);
  const half = headDim / 2;
  const out = new Float32Array(weight.length);
  for (let h = 0; h < nHead; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const gguf = (h * headDim + 2 * i + j) * cols;
        const hf = (h * headDim + j * half + i) * cols;
        const [src, dst] = direction === "toHf" ? [gguf, hf] : [hf, gguf];
        out.set(weight.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

/** Whether llama.cpp permuted Q/K rows when converting this GGUF architecture (llama does; qwen2/3 and gemma3 do not). */
export function ggufPermutesQK(architecture: string | undefined): boolean {
  return architecture === "llama";
}
