/**
 * The policy's own answers: the gateway's JSON error ({ error, message,
 * request_id }, as every gateway error) with the members of the draft's
 * examples (draft-ietf-httpapi-idempotency-key-header §2.7: problem details,
 * RFC 9457: type, title, status, detail). `type` and a `Link: rel="help"` point to the idempotency
 * documentation (§2.7 asks the resource to publish its policy); the 400 for
 * a missing key also states the route's policy itself.
 */
import type { RequestContext } from "../context.ts";
import type { IdempotencySettings } from "./config.ts";

/** Where the policy is documented: the draft itself, the spec the gateway follows. */
export const POLICY_DOCS = "https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/";

function problem(ctx: RequestContext, status: number, error: string, title: string, detail: string, extra?: Record<string, unknown>, headers?: Record<string, string>): Response {
  // The gateway's error shape ({ error, message, request_id }, served as application/json like every gateway error) carrying the RFC 9457 members too.
  const body = JSON.stringify({ error, message: detail, request_id: ctx.requestId, type: POLICY_DOCS, title, status, detail, ...extra });
  return new Response(body, {
    status,
    headers: { "content-type": "application/json", link: `<${POLICY_DOCS}>; rel="help"`, ...headers },
  });
}

/** The route's policy, as a client may read it (the 400's `policy` member). */
export function describePolicy(s: IdempotencySettings, maxResponse: number): Record<string, unknown> {
  return {
    header: "Idempotency-Key",
    format: 'Structured Field String, 1-255 characters, e.g. "8e03978e-40d5-43e8-bc93-6894a57f9324"',
    required: s.required,
    methods: s.methods,
    expires_after_seconds: Math.round(s.ttl / 1000),
    lock_timeout_seconds: Math.round(s.lock_timeout / 1000),
    wait_in_flight_seconds: s.wait_in_flight / 1000,
    max_replayable_response_bytes: maxResponse,
  };
}

export const missingKey = (ctx: RequestContext, policy: Record<string, unknown>) =>
  problem(ctx, 400, "idempotency_key_missing", "Idempotency-Key is missing", `${ctx.method} on this route requires an Idempotency-Key header.`, { policy });

export const malformedKey = (ctx: RequestContext, why: string) =>
  problem(ctx, 400, "idempotency_key_invalid", "Idempotency-Key is malformed", `Idempotency-Key: ${why}.`);

export const keyReused = (ctx: RequestContext) =>
  problem(ctx, 422, "idempotency_key_reused", "Idempotency-Key is already used", "This Idempotency-Key was used with a different request (method, path, query or body); use a new key for a new request.");

export const inFlight = (ctx: RequestContext) =>
  problem(
    ctx,
    409,
    "idempotency_request_in_flight",
    "A request is outstanding for this Idempotency-Key",
    "The first request with this key has not finished yet; retry later to get its response.",
    undefined,
    { "retry-after": "1" },
  );

export const notReplayable = (ctx: RequestContext, status: number) =>
  problem(
    ctx,
    409,
    "idempotency_response_not_replayable",
    "The request with this Idempotency-Key already ran",
    `The first request with this key was executed and answered (status ${status}), but its response was too large to keep, so it cannot be replayed; it is not executed again.`,
    { original_status: status },
  );

export const storeUnavailable = (ctx: RequestContext) =>
  problem(
    ctx,
    503,
    "idempotency_store_unavailable",
    "Idempotency records are unavailable",
    "The store of idempotency records cannot be reached and this gateway is set to refuse rather than risk a second execution (redis.on_error = \"deny\"); retry later with the same key.",
    undefined,
    { "retry-after": "1" },
  );
