/**
 * Rate-limit response fields, in the Structured Fields syntax of
 * draft-ietf-httpapi-ratelimit-headers (-08 onward; cited against -10):
 *
 *   RateLimit-Policy: "users#0";q=100;w=60, "users#1";q=1000;w=86400
 *     §3: a List of quota policy items; the item is the policy name (a String),
 *     §3.1 parameters q (quota, Integer), w (window, Integer seconds),
 *     qu (quota unit, String; "concurrent-requests" for concurrency limits).
 *   RateLimit: "users#0";r=0;t=12
 *     §4: a List of service limit items; §4.1 parameters r (remaining quota,
 *     Integer) and t (seconds until the quota resets, Integer). We send one
 *     member, the most restrictive limit (§5: with several windows, the one
 *     with the lowest remaining).
 *
 * When Retry-After is also sent (the 429), t names the same point in time
 * (§5, "the reset parameter value SHOULD reference the same point in time").
 * Legacy X-RateLimit-Limit / -Remaining / -Reset (seconds until reset) are
 * added unless rate_limit.legacy_headers = false.
 */

/** A Structured Fields String (RFC 8941 §3.3.3): printable ASCII, `"` and `\` escaped. */
export function sfString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) out += "\\" + s[i];
    else if (c < 0x20 || c > 0x7e) out += "?";
    else out += s[i];
  }
  return out + '"';
}

/** Whole seconds, rounded up, never negative. */
export function secondsUntil(ms: number): number {
  return ms <= 0 ? 0 : Math.ceil(ms / 1000);
}

/** Retry-After (RFC 9110 §10.2.3) in whole seconds: rounded up, at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

export function rateLimitField(sfName: string, remaining: number, resetSec: number): string {
  return `${sfName};r=${remaining};t=${resetSec}`;
}

export interface RejectionInfo {
  limit: number;
  windowSec: number;
  retryAfterMs: number;
  requestId: string;
  policyField: string;
  sfName: string;
  legacy: boolean;
}

/** The 429 answer: JSON body, Retry-After, and the rate-limit fields (t = Retry-After). */
export function rateLimitedResponse(info: RejectionInfo): Response {
  const retry = retryAfterSeconds(info.retryAfterMs);
  const body =
    `{"error":"rate_limited","message":"Too many requests: limit of ${info.limit} per ${info.windowSec}s exceeded",` +
    `"limit":${info.limit},"window":${info.windowSec},"retry_after":${retry},"request_id":${JSON.stringify(info.requestId)}}`;
  const headers: [string, string][] = [
    ["content-type", "application/json"],
    ["retry-after", String(retry)],
    ["ratelimit-policy", info.policyField],
    ["ratelimit", rateLimitField(info.sfName, 0, retry)],
  ];
  if (info.legacy) {
    headers.push(["x-ratelimit-limit", String(info.limit)], ["x-ratelimit-remaining", "0"], ["x-ratelimit-reset", String(retry)]);
  }
  return new Response(body, { status: 429, headers });
}
