import { GatewayError } from "../errors.ts";

/**
 * The one boundary where failures become responses. Clients get a stable JSON
 * shape with the request id; causes go to the log only.
 */
export function jsonError(
  status: number,
  error: string,
  message: string,
  requestId: string,
  ridHeader: string,
  extra?: Record<string, string>,
): Response {
  const headers: Record<string, string> = { "content-type": "application/json", [ridHeader]: requestId, ...extra };
  return new Response(JSON.stringify({ error, message, request_id: requestId }), { status, headers });
}

export function errorResponse(err: GatewayError, requestId: string, ridHeader: string): Response {
  return jsonError(err.status, err.kind, err.message, requestId, ridHeader, err.headers);
}

export function toGatewayError(e: unknown): GatewayError {
  return e instanceof GatewayError ? e : new GatewayError("internal", 500, "internal error", { source: "internal", cause: e });
}
