import { AgentTuneError } from "../errors.js";
import type { AgentResult } from "./types.js";

/**
 * The model could not produce a reply: it threw (a server error after its retries, a native
 * failure) or it ran past `modelTimeoutMs`. This is a failure of the infrastructure, not of the
 * agent's behaviour, so it is not one of the failure kinds: it ends the episode by propagating
 * out of `runAgent` / `streamAgent`, carrying the episode so far in `partial`.
 */
export class ModelCallError extends AgentTuneError {
  /** The model reply (1-based) that failed. */
  readonly step: number;
  /** True when the call ran past `modelTimeoutMs`. */
  readonly timedOut: boolean;
  /** The episode up to the failed call (status "aborted", as it did not finish). */
  readonly partial: AgentResult;

  constructor(options: { modelId: string; step: number; timedOut: boolean; partial: AgentResult; timeoutMs?: number; cause?: unknown }) {
    const what = options.timedOut
      ? `timed out after ${options.timeoutMs} ms`
      : `failed: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`;
    super(`model "${options.modelId}" ${what} (reply ${options.step})`, {
      hint: options.timedOut
        ? "raise the model timeout, lower maxTokens, or check that the model server is responding"
        : "check that the model is reachable and loads; the cause has the details",
      cause: options.cause,
    });
    this.step = options.step;
    this.timedOut = options.timedOut;
    this.partial = options.partial;
  }
}
