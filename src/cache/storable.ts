/**
 * May a shared cache store this response? (RFC 9111 §3, §3.5, §5.2.)
 * Pure: the request's method, whether it carried Authorization, both sides'
 * Cache-Control and the response's status and explicit-expiration fields.
 */
import type { Directives } from "./directives.ts";
import { hasSurrogateMaxAge } from "./surrogate.ts";

/**
 * Status codes "heuristically cacheable" (RFC 9110 §15.1): a response with
 * one of them may be stored and given a heuristic or configured lifetime
 * without explicit freshness. 206 is in the list but this cache does not
 * store partial content.
 */
export const HEURISTIC_STATUSES: ReadonlySet<number> = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

/**
 * Status codes whose requirements this cache knows and meets: the ones a
 * response with `must-understand` may be stored with (§5.2.2.3). Without
 * that directive any final status may be stored (§3): an unrecognised one is
 * treated as the x00 of its class (RFC 9110 §15) and, not being
 * heuristically cacheable, needs explicit freshness.
 */
export const UNDERSTOOD_STATUSES: ReadonlySet<number> = new Set([
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
  /** The Surrogate-Control directives that apply to this cache (surrogate.ts); empty when none. */
  surrogate: Directives;
}

/** null when storable, else why not (for Cache-Status `detail` and tests). */
export function notStorableReason(x: StorabilityInput): string | null {
  // Only GET responses are stored; HEAD is answered from the GET entry (§4.3.5 lets HEAD use a GET response).
  if (x.method !== "GET") return "method";
  // §3: a final status; partial content (206) is not stored here and a 304 is never a response to store.
  if (x.status < 200 || x.status > 599 || x.status === 206 || x.status === 304) return "status";
  const res = x.responseCC;
  // §5.2.2.3: must-understand stores only a status this cache understands, and then no-store gives way to it.
  const mustUnderstand = res.has("must-understand");
  if (mustUnderstand && !UNDERSTOOD_STATUSES.has(x.status)) return "must-understand";
  if (x.requestCC.has("no-store") || x.surrogate.has("no-store")) return "no-store";
  // A Surrogate-Control max-age aimed at this cache outranks the response's no-store (surrogate.ts).
  const surrogateFresh = hasSurrogateMaxAge(x.surrogate);
  if (res.has("no-store") && !mustUnderstand && !surrogateFresh) return "no-store";
  // A shared cache never stores private responses (§5.2.2.7), the qualified form included: the simple, safe reading.
  if (res.has("private")) return "private";
  // §3.5: a request with Authorization only when the response says a shared cache may (must-revalidate, public, s-maxage).
  if (x.authorization && !res.has("must-revalidate") && !res.has("public") && !res.has("s-maxage")) return "authorization";
  // §3: explicit freshness, public, a cache extension allowing it (Surrogate-Control), or a heuristically cacheable
  // status (heuristics or the route's ttl then apply).
  if (surrogateFresh || res.has("public") || res.has("s-maxage") || res.has("max-age") || x.hasExpires) return null;
  if (HEURISTIC_STATUSES.has(x.status)) return null;
  // no-cache responses are storable: they are revalidated on every use (§5.2.2.4).
  if (res.has("no-cache")) return null;
  return "no-freshness";
}
