/**
 * bitsandbytes' signed "dynamic" 8-bit map (Dettmers, 8-bit approximations for parallelism):
 * 256 sorted values in [-1, 1] with a dynamic exponent, used to quantise the NF4 absmaxes in
 * double quantisation. Built exactly as bitsandbytes' `create_dynamic_map(signed=True,
 * max_exponent_bits=7, total_bits=8)`, including float32 rounding of its linspace.
 */
function linspaceF32(start: number, end: number, steps: number): number[] {
  // torch.linspace on float32: step in float32, the first half counted from start and the
  // second half from end, so both ends are exact.
  const step = Math.fround((end - start) / (steps - 1));
  const half = Math.floor(steps / 2);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    out.push(i < half ? Math.fround(start + step * i) : Math.fround(end - step * (steps - i - 1)));
  }
  return out;
}

function meansF32(boundaries: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < boundaries.length; i++) out.push(Math.fround(Math.fround(boundaries[i] + boundaries[i + 1]) / 2));
  return out;
}

function createDynamicMap(): Float32Array {
  const maxExponentBits = 7;
  const nonSignBits = 7;
  const data: number[] = [];
  let scale: number;
  for (let i = 0; i < maxExponentBits; i++) {
    const fractionItems = 2 ** (i + nonSignBits - maxExponentBits) + 1;
    const means = meansF32(linspaceF32(Math.fround(0.1), 1, fractionItems));
    // torch multiplies a float32 tensor by a Python float in float32
    scale = Math.fround(10 ** (-(maxExponentBits - 1) + i));
    for (const m of means) data.push(Math.fround(scale * m));
    for (const m of means) data.push(Math.fround(-scale * m));
  }
  // additional_items = 2^(7-7) - 1 = 0: no linear region for the signed 8-bit map
  data.push(0, 1);
  while (data.length < 256) data.push(0);
  return Float32Array.from(data.sort((a, b) => a - b));
}

/** The 256 values, sorted ascending (index = the 8-bit code). */
export const DYNAMIC_MAP: Float32Array = createDynamicMap();
