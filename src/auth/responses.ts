/** What a denial needs of the request. */
export interface DenialRequest {
  readonly requestId: string;
}

/**
 * The denial responses of the access phase, JSON like every gateway error:
 * `{ "error", "message", "request_id" }`. Messages are fixed phrases chosen
 * by this module; a credential is never echoed.
 *
 * Challenges (RFC 9110 §11.6.1, RFC 6750 §3):
 *  - no credential:      `Bearer realm="gateway"` (no error attribute, §3.1)
 *  - bad token:          `Bearer realm="gateway", error="invalid_token", error_description="..."`
 *  - malformed request:  400 with `Bearer realm="gateway", error="invalid_request", ...`
 *                        (Bearer header not `Bearer 1*SP b64token`, or a token sent two ways)
 *  - scope missing:      403 with `Bearer realm="gateway", error="insufficient_scope", ..., scope="..."`
 *  - API-key routes:     `ApiKey realm="gateway", header="x-api-key"` (plus `query="..."`
 *                        when keys are accepted in the query). "ApiKey" is not a
 *                        registered scheme; it tells a client where the key goes.
 *  - auth = "any":       both challenges, as two WWW-Authenticate fields.
 */

export const REALM = "gateway";
export const BEARER_CHALLENGE = `Bearer realm="${REALM}"`;

/**
 * `s` reduced to the characters RFC 6750 §3 allows in error_description and
 * scope values (%x20-21 / %x23-5B / %x5D-7E): no `"`, no `\`, no controls,
 * no non-ASCII, so every attribute is a valid quoted-string (RFC 9110 §5.6.4).
 * Only ever applied to config text and fixed phrases, at build time.
 */
export function quotable(s: string): string {
  return s.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "");
}

export function apiKeyChallenge(header: string, query: string | null): string {
  return `ApiKey realm="${REALM}", header="${quotable(header)}"` + (query !== null ? `, query="${quotable(query)}"` : "");
}

export type BearerError = "invalid_request" | "invalid_token" | "insufficient_scope";

export function bearerErrorChallenge(error: BearerError, description: string, scope?: string): string {
  return (
    `Bearer realm="${REALM}", error="${error}", error_description="${quotable(description)}"` +
    (scope !== undefined ? `, scope="${quotable(scope)}"` : "")
  );
}

function json(ctx: DenialRequest, status: number, error: string, message: string, challenges: readonly string[]): Response {
  const headers: [string, string][] = [["content-type", "application/json"]];
  for (const c of challenges) headers.push(["www-authenticate", c]);
  return new Response(JSON.stringify({ error, message, request_id: ctx.requestId }), { status, headers });
}

/** 401, no credential presented. */
export function unauthorized(ctx: DenialRequest, challenges: readonly string[]): Response {
  return json(ctx, 401, "unauthorized", "authentication required", challenges);
}

/** 401, a credential was presented and refused. */
export function invalidCredential(
  ctx: DenialRequest,
  error: "invalid_token" | "invalid_api_key",
  reason: string,
  challenge: string,
): Response {
  return json(ctx, 401, error, reason, [challenge]);
}

/** 400 invalid_request (RFC 6750 §3.1): the request itself is malformed. */
export function badRequest(ctx: DenialRequest, reason: string, challenges: readonly string[]): Response {
  return json(ctx, 400, "invalid_request", reason, challenges);
}

/** 403, authenticated but not allowed. */
export function forbidden(ctx: DenialRequest, message: string, challenge: string | null): Response {
  return json(ctx, 403, "forbidden", message, challenge === null ? [] : [challenge]);
}
