import { ServerBusyError } from "./errors.js";

/** Releases a slot taken from a `ModelQueue`; calling it twice does nothing. */
export type Release = () => void;

/**
 * The bounded queue in front of the model: at most `concurrency` requests run at once and at most
 * `maxWaiting` wait; past that `acquire` throws `ServerBusyError` (a 429) at once, so excess load
 * costs a short answer instead of memory. A waiter whose signal fires leaves the queue.
 */
export class ModelQueue {
  readonly concurrency: number;
  readonly maxWaiting: number;
  private active = 0;
  private readonly waiting: { resolve: (release: Release) => void; reject: (error: unknown) => void }[] = [];

  constructor(options: { concurrency?: number; maxWaiting?: number } = {}) {
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
    this.maxWaiting = Math.max(0, Math.floor(options.maxWaiting ?? 16));
  }

  /** Requests running now. */
  get running(): number {
    return this.active;
  }

  /** Requests waiting now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** True when a request now would be turned away. */
  get full(): boolean {
    return this.active >= this.concurrency && this.waiting.length >= this.maxWaiting;
  }

  /** A slot at once, or undefined when none is free. */
  tryAcquire(): Release | undefined {
    if (this.active >= this.concurrency) return undefined;
    this.active++;
    return this.releaser();
  }

  /** Waits for a slot. Rejects with `ServerBusyError` when full, or with the signal's reason when it fires. */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.active < this.concurrency) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxWaiting) return Promise.reject(new ServerBusyError(this.retryAfter()));
    return new Promise<Release>((resolve, reject) => {
      const entry = {
        resolve: (release: Release) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release);
        },
        reject,
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(entry);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  /** Seconds a client told 429 should wait: grows with the backlog. */
  retryAfter(): number {
    return Math.min(60, 1 + Math.ceil(this.waiting.length / this.concurrency));
  }

  private releaser(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiting.shift();
      if (next) next.resolve(this.releaser());
      else this.active--;
    };
  }
}
