import type { ServerResponse } from "node:http";

/** Starts a server-sent event stream on `res`. */
export function startEventStream(res: ServerResponse): void {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  res.flushHeaders();
}

/** Writes one `data:` event (a JSON value, or the literal `[DONE]`). */
export function sendEvent(res: ServerResponse, data: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  res.write(`data: ${data === "[DONE]" ? "[DONE]" : JSON.stringify(data)}\n\n`);
}
