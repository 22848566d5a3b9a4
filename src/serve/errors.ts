import { AgentTuneError } from "../errors.js";

/**
 * An error the server answers with a status code and an OpenAI-style body
 * `{"error": {"message", "type", "param", "code"}}`.
 */
export class HttpError extends AgentTuneError {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    message: string,
    options: { type?: string; param?: string; hint?: string; headers?: Record<string, string> } = {},
  ) {
    super(message, { hint: options.hint });
    this.status = status;
    this.type = options.type ?? (status >= 500 ? "server_error" : "invalid_request_error");
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
  }

  /** The JSON body sent to the client. */
  toBody(): { error: { message: string; type: string; param: string | null; code: number } } {
    const message = this.hint === undefined ? this.message : `${this.message} (${this.hint})`;
    return { error: { message, type: this.type, param: this.param, code: this.status } };
  }
}

/** A request field is missing or wrong: 400 naming the field. */
export class RequestFieldError extends HttpError {
  constructor(param: string, message: string) {
    super(400, `${param}: ${message}`, { param });
  }
}

/** The queue is full: 429 with Retry-After. */
export class ServerBusyError extends HttpError {
  constructor(retryAfterSeconds: number) {
    super(429, "the server is busy: every model slot and queue place is taken", {
      type: "rate_limit_error",
      hint: `retry after ${retryAfterSeconds} s`,
      headers: { "retry-after": String(retryAfterSeconds) },
    });
  }
}
