import { GatewayError } from "../errors.ts";
import type { RequestContext } from "./context.ts";

/**
 * The JSON error every answer of the gateway uses, `{ error, message,
 * request_id }`, and the one boundary where failures become responses
 * (toGatewayError): clients get this stable shape with the request id,
 * causes go to the log only.
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

/**
 * A policy's expected denial (403, 409, 422, ...): the same JSON error, with
 * the request id (the runner adds the request-id header to every answer).
 */
export function reject(ctx: RequestContext, status: number, error: string, message: string, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify({ error, message, request_id: ctx.requestId }), {
    status,
    headers: headers ? { "content-type": "application/json", ...headers } : { "content-type": "application/json" },
  });
}

export function errorResponse(err: GatewayError, requestId: string, ridHeader: string): Response {
  return jsonError(err.status, err.kind, err.message, requestId, ridHeader, err.headers);
}

export function toGatewayError(e: unknown): GatewayError {
  return e instanceof GatewayError ? e : new GatewayError("internal", 500, "internal error", { source: "internal", cause: e });
}
