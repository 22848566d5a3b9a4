// The host optimizer step (clipGradNorm + AdamW.step over float32 arrays) at LoRA sizes: what a
// training step paid on the CPU when the CUDA path kept AdamW on the host.
// Usage: npx tsx bench/host-adamw.ts   (prints ms a step, median of 5 after 2 warm-up steps)
import { AdamW, clipGradNorm } from "../src/train/optimizer.js";

// SmolLM2-135M's LoRA r16 on all seven projections, and r64
for (const [label, n] of [["SmolLM2-135M r16", 4_884_480], ["SmolLM2-135M r64", 19_537_920]] as const) {
  const matrices = 210; // 30 layers × 7 projections
  const per = Math.floor(n / matrices);
  const params = Array.from({ length: matrices }, (_, i) => ({ name: `p${i}`, shape: [per], value: new Float32Array(per).fill(0.01), grad: new Float32Array(per).map((_, j) => Math.sin(j) * 1e-3) }));
  const optimizer = new AdamW(params);
  const times: number[] = [];
  for (let s = 0; s < 7; s++) {
    const t0 = performance.now();
    clipGradNorm(params, 1);
    optimizer.step(1e-3);
    if (s >= 2) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(`${label} (${(matrices * per).toLocaleString("en")} parameters): ${(times[2] as number).toFixed(1)} ms a step`);
}
