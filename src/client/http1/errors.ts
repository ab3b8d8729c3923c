import { clientClosed, GatewayError } from "../../errors.ts";

/**
 * The pool's failures as GatewayErrors. Messages are generic on purpose: they
 * may reach a client, so addresses, ports and parser details go in `cause`.
 */

/** Nothing was sent: refused, unreachable, connect timeout. Safe to try another target. */
export function unreachable(cause: unknown): GatewayError {
  return new GatewayError("upstream_unreachable", 502, "upstream connection failed", {
    source: "upstream",
    retryable: true,
    cause,
  });
}

/** The request was sent and no (more) response came in time; not retryable, the upstream may have acted on it. */
export function readTimeout(): GatewayError {
  return new GatewayError("upstream_timeout", 504, "upstream timed out", {
    source: "upstream",
    cause: new Error("no response bytes within the read timeout"),
  });
}

/** The upstream broke HTTP/1.1 framing; the connection is destroyed. */
export function protocolError(detail: string): GatewayError {
  return new GatewayError("upstream_protocol", 502, "invalid response from upstream", {
    source: "upstream",
    cause: new Error(detail),
  });
}

/** The connection closed or failed after the request went out (fully or partly). */
export function connectionLost(cause: unknown): GatewayError {
  return new GatewayError("upstream_protocol", 502, "upstream connection closed", {
    source: "upstream",
    cause,
  });
}

/** Pool full: queue full, or the wait for a connection took too long. */
export function unavailable(detail: string): GatewayError {
  return new GatewayError("upstream_unavailable", 503, "upstream busy", {
    source: "upstream",
    retryable: true,
    cause: new Error(detail),
  });
}

/** The client went away; the upstream exchange was abandoned (queued, connecting, or waiting for the head). */
export function aborted(): GatewayError {
  return clientClosed();
}

/**
 * Reading the client's request body failed; not the upstream's fault. Bun's
 * request body fails with an AbortError when the client disconnected.
 */
export function requestBodyFailed(cause: unknown): GatewayError {
  if (cause instanceof GatewayError) return cause;
  if ((cause as { name?: unknown } | null)?.name === "AbortError") return clientClosed();
  return new GatewayError("bad_request", 400, "request body could not be read", { source: "client", cause });
}
