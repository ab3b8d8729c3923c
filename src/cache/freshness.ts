/**
 * Freshness lifetime (RFC 9111 §4.2.1, §4.2.2) and age (§4.2.3). Times are
 * milliseconds; header arguments are seconds.
 */
import { deltaSeconds, type Directives } from "./directives.ts";
import { parseHttpDate } from "./dates.ts";
import { HEURISTIC_STATUSES } from "./storable.ts";
import { surrogateMaxAge } from "./surrogate.ts";

/** §4.2.2: a typical heuristic is a fraction of the time since Last-Modified; 10% as the RFC suggests. */
export const HEURISTIC_FRACTION = 0.1;
/** Upper bound of a heuristic lifetime: a day, so a file untouched for years is not fresh for months. */
export const HEURISTIC_MAX_MS = 24 * 3600 * 1000;

export interface LifetimeInput {
  status: number;
  cc: Directives;
  /** Raw field values, null when absent. */
  date: string | null;
  expires: string | null;
  lastModified: string | null;
  /** When the response was received (the Date stand-in when Date is absent or invalid). */
  responseTime: number;
  /** The route's ttl, 0 when none: the lifetime of a response without explicit expiration. */
  routeTtl: number;
  /** The Surrogate-Control directives aimed at this cache (surrogate.ts), when the response has some. */
  surrogate?: Directives;
}

export interface Lifetime {
  ms: number;
  /** Where it came from, for tests and Cache-Status details. */
  source: "surrogate-control" | "s-maxage" | "max-age" | "expires" | "ttl" | "heuristic" | "none";
}

/**
 * §4.2.1, first match: a Surrogate-Control max-age aimed at this cache (the
 * extension of surrogate.ts), s-maxage (a shared cache), max-age, Expires −
 * Date; then the route's ttl (like nginx proxy_cache_valid); then a heuristic
 * from Last-Modified, only for heuristically cacheable statuses or `public`
 * responses (§4.2.2, §5.2.2.9). An invalid max-age or s-maxage, or an invalid
 * Expires date, means stale (0).
 */
export function freshnessLifetime(x: LifetimeInput): Lifetime {
  const sm = x.surrogate === undefined ? NaN : surrogateMaxAge(x.surrogate);
  if (!Number.isNaN(sm)) return { ms: sm * 1000, source: "surrogate-control" };
  const s = x.cc.get("s-maxage");
  if (s !== undefined) return { ms: orZero(deltaSeconds(s)) * 1000, source: "s-maxage" };
  const m = x.cc.get("max-age");
  if (m !== undefined) return { ms: orZero(deltaSeconds(m)) * 1000, source: "max-age" };
  const dateMs = parseHttpDate(x.date);
  // Expires is relative to the origin's own Date, so a clock skew between origin and gateway does not matter.
  const base = Number.isNaN(dateMs) ? x.responseTime : dateMs;
  if (x.expires !== null) {
    const exp = parseHttpDate(x.expires);
    return { ms: Number.isNaN(exp) ? 0 : Math.max(0, exp - base), source: "expires" };
  }
  if (x.routeTtl > 0) return { ms: x.routeTtl, source: "ttl" };
  // §5.2.2.9: a public response without explicit freshness is heuristically cacheable, whatever its status.
  if (x.lastModified !== null && (HEURISTIC_STATUSES.has(x.status) || x.cc.has("public"))) {
    const lm = parseHttpDate(x.lastModified);
    if (!Number.isNaN(lm) && lm < base) return { ms: Math.min(HEURISTIC_MAX_MS, Math.floor((base - lm) * HEURISTIC_FRACTION)), source: "heuristic" };
  }
  return { ms: 0, source: "none" };
}

function orZero(v: number): number {
  return Number.isNaN(v) ? 0 : v;
}

/** The Age field's value in seconds (§5.1): the first valid delta-seconds of the field, 0 when absent or invalid. */
export function ageValue(field: string | null): number {
  if (field === null) return 0;
  const first = field.split(",")[0]!.trim();
  const v = deltaSeconds(first);
  return Number.isNaN(v) ? 0 : v;
}

/**
 * §4.2.3 corrected_initial_age, in ms, from the response's Date and Age and
 * the times the request was sent and the response received.
 */
export function correctedInitialAge(date: string | null, age: string | null, requestTime: number, responseTime: number): number {
  const dateMs = parseHttpDate(date);
  const apparent = Number.isNaN(dateMs) ? 0 : Math.max(0, responseTime - dateMs);
  const responseDelay = Math.max(0, responseTime - requestTime);
  const correctedAgeValue = ageValue(age) * 1000 + responseDelay;
  return Math.max(apparent, correctedAgeValue);
}

/** §4.2.3 current_age in ms: corrected_initial_age + resident_time. */
export function currentAge(initialAge: number, responseTime: number, now: number): number {
  return initialAge + Math.max(0, now - responseTime);
}
