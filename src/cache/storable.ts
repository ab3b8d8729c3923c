/**
 * May a shared cache store this response? (RFC 9111 §3, §3.5, §5.2.)
 * Pure: the request's method, whether it carried Authorization, both sides'
 * Cache-Control and the response's status and explicit-expiration fields.
 */
import type { Directives } from "./directives.ts";

/**
 * Status codes "heuristically cacheable" (RFC 9110 §15.1): a response with
 * one of them may be stored and given a heuristic or configured lifetime
 * without explicit freshness. 206 is in the list but this cache does not
 * store partial content.
 */
export const HEURISTIC_STATUSES: ReadonlySet<number> = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

/** Final status codes this cache understands well enough to store (§3: "the response status code is final" and understood). */
const UNDERSTOOD: ReadonlySet<number> = new Set([
  200, 203, 204, 300, 301, 302, 303, 307, 308, 400, 403, 404, 405, 410, 414, 500, 501, 502, 503, 504,
]);

export interface StorabilityInput {
  method: string;
  /** The request carried Authorization (§3.5). */
  authorization: boolean;
  requestCC: Directives;
  status: number;
  responseCC: Directives;
  /** The response has an Expires field (any value: an invalid one is stored as stale, §5.3). */
  hasExpires: boolean;
  /** The route configured a ttl: responses of heuristically cacheable statuses are stored with it. */
  routeTtl: boolean;
}

/** null when storable, else why not (for Cache-Status `detail` and tests). */
export function notStorableReason(x: StorabilityInput): string | null {
  // Only GET responses are stored; HEAD is answered from the GET entry (§4.3.5 lets HEAD use a GET response).
  if (x.method !== "GET") return "method";
  if (x.status < 200 || x.status === 206 || x.status === 304 || !UNDERSTOOD.has(x.status)) return "status";
  const res = x.responseCC;
  if (x.requestCC.has("no-store") || res.has("no-store")) return "no-store";
  // A shared cache never stores private responses (§5.2.2.7), the qualified form included: the simple, safe reading.
  if (res.has("private")) return "private";
  // §3.5: a request with Authorization only when the response says a shared cache may (must-revalidate, public, s-maxage).
  if (x.authorization && !res.has("must-revalidate") && !res.has("public") && !res.has("s-maxage")) return "authorization";
  // §3: explicit freshness, public, or a heuristically cacheable status (heuristics or the route's ttl then apply).
  if (res.has("public") || res.has("s-maxage") || res.has("max-age") || x.hasExpires) return null;
  if (HEURISTIC_STATUSES.has(x.status)) return null;
  // no-cache responses are storable: they are revalidated on every use (§5.2.2.4).
  if (res.has("no-cache")) return null;
  return "no-freshness";
}
