import type { CudaDriver, Handle } from "./driver.js";

/** GPU time of one launch name over a profiled stretch. */
export interface LaunchTime {
  name: string;
  calls: number;
  ms: number;
}

/**
 * GPU time by launch, measured with a pair of CUDA events around every kernel launch and GEMM
 * on the stream — what Nsight Systems' kernel summary gives, for machines where it cannot run.
 * The events are pooled and read back only in `collect`, so a profiled step costs two event
 * records a launch and no extra synchronisation until then. Kernel times are exact; the launch
 * overhead the events add shows up only as idle time between kernels (wall time − the sum).
 */
export class LaunchProfiler {
  private readonly pool: Handle[] = [];
  private readonly pending: { name: string; start: number; end: number }[] = [];
  private used = 0;
  private readonly elapsed = new Float32Array(1);

  constructor(
    private readonly driver: CudaDriver,
    private readonly stream: Handle,
  ) {}

  /** Records the start of a launch; pass the result to `end`. */
  begin(): number {
    const start = this.event();
    this.driver.call("cuEventRecord", this.pool[start], this.stream);
    return start;
  }

  /** Records the end of the launch `begin` returned `start` for, under `name`. */
  end(name: string, start: number): void {
    const end = this.event();
    this.driver.call("cuEventRecord", this.pool[end], this.stream);
    this.pending.push({ name, start, end });
  }

  /** Waits for the stream, adds up every recorded launch by name (largest first) and starts afresh. */
  collect(): LaunchTime[] {
    this.driver.call("cuStreamSynchronize", this.stream);
    const byName = new Map<string, LaunchTime>();
    for (const p of this.pending) {
      this.driver.call("cuEventElapsedTime", this.elapsed, this.pool[p.start], this.pool[p.end]);
      const row = byName.get(p.name) ?? { name: p.name, calls: 0, ms: 0 };
      row.calls++;
      row.ms += this.elapsed[0];
      byName.set(p.name, row);
    }
    this.pending.length = 0;
    this.used = 0;
    return [...byName.values()].sort((a, b) => b.ms - a.ms);
  }

  dispose(): void {
    for (const e of this.pool) this.driver.call("cuEventDestroy", e);
    this.pool.length = 0;
    this.pending.length = 0;
    this.used = 0;
  }

  private event(): number {
    if (this.used === this.pool.length) {
      const out: Handle[] = [null];
      this.driver.call("cuEventCreate", out, 0);
      this.pool.push(out[0]);
    }
    return this.used++;
  }
}

/** A GEMM's profile name: its shape, so base projections, LoRA products and attention part. */
export function gemmLaunchName(m: number, n: number, k: number, transA: boolean, transB: boolean, batch?: number): string {
  return `gemm ${transA ? "T" : "N"}${transB ? "T" : "N"} ${m}×${n}×${k}${batch === undefined ? "" : ` ×${batch}`}`;
}
