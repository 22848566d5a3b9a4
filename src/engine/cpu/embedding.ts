import { InvalidInputError } from "../../errors.js";

/** ids: [tokens] → out: [tokens, dim] = table[ids] · scale; table: [vocab, dim] (Gemma scales by √dim). */
export function embeddingForward(out: Float32Array, table: Float32Array, ids: Int32Array, tokens: number, dim: number, scale: number): void {
  const vocab = table.length / dim;
  for (let t = 0; t < tokens; t++) {
    const id = ids[t];
    if (id < 0 || id >= vocab) throw new InvalidInputError(`token id ${id} at position ${t} is outside the vocabulary (0..${vocab - 1})`, { hint: "check the tokenizer matches the model" });
    const src = id * dim;
    const dst = t * dim;
    for (let j = 0; j < dim; j++) out[dst + j] = table[src + j] * scale;
  }
}

/** dout: [tokens, dim] → dtable: [vocab, dim] += scatter-add of dout · scale at the rows ids (frozen under LoRA, kept for full training). */
export function embeddingBackward(dtable: Float32Array, dout: Float32Array, ids: Int32Array, tokens: number, dim: number, scale: number): void {
  for (let t = 0; t < tokens; t++) {
    const dst = ids[t] * dim;
    const src = t * dim;
    for (let j = 0; j < dim; j++) dtable[dst + j] += dout[src + j] * scale;
  }
}
