/**
 * Can a stored entry answer this request? (RFC 9111 §4, §4.2.4, §5.2.1,
 * RFC 5861.) Pure: the entry, the time and the request's directives.
 */
import { deltaSeconds, parseCacheControl } from "./directives.ts";
import { FLAG_MUST_REVALIDATE, FLAG_NO_CACHE, type StoredEntry } from "./entry.ts";
import { currentAge } from "./freshness.ts";

/** The request's Cache-Control (§5.2.1), in ms; NaN where absent. */
export interface RequestDirectives {
  noCache: boolean;
  noStore: boolean;
  maxAge: number;
  /** Infinity for a bare max-stale ("any staleness"). */
  maxStale: number;
  minFresh: number;
  onlyIfCached: boolean;
}

const NONE: RequestDirectives = { noCache: false, noStore: false, maxAge: NaN, maxStale: NaN, minFresh: NaN, onlyIfCached: false };

export function requestDirectives(cacheControl: string | null, pragma: string | null): RequestDirectives {
  if (cacheControl === null) {
    // §5.4: Pragma: no-cache stands for Cache-Control: no-cache when the request has no Cache-Control.
    return pragma !== null && /(?:^|,)\s*no-cache\s*(?:,|$)/i.test(pragma) ? { ...NONE, noCache: true } : NONE;
  }
  const cc = parseCacheControl(cacheControl);
  if (cc.size === 0) return NONE;
  const ms = (name: string) => deltaSeconds(cc.get(name)) * 1000;
  const ms2 = cc.get("max-stale");
  return {
    noCache: cc.has("no-cache"),
    noStore: cc.has("no-store"),
    maxAge: ms("max-age"),
    maxStale: ms2 === undefined ? NaN : ms2 === true ? Infinity : deltaSeconds(ms2) * 1000,
    minFresh: ms("min-fresh"),
    onlyIfCached: cc.has("only-if-cached"),
  };
}

/**
 * - fresh: serve it (a hit);
 * - stale-ok: stale, but the client accepts it (max-stale): serve it;
 * - swr: stale within stale-while-revalidate: serve it and refresh in the background;
 * - revalidate: ask the origin (conditionally); on an error the entry may still serve within stale-if-error.
 */
export type Use = "fresh" | "stale-ok" | "swr" | "revalidate";

export interface Verdict {
  use: Use;
  /** current_age (ms). */
  age: number;
  /** lifetime − age (ms): negative when stale. */
  ttl: number;
}

export function evaluate(e: StoredEntry, now: number, rd: RequestDirectives): Verdict {
  const age = currentAge(e.initialAge, e.responseTime, now);
  const ttl = e.lifetime - age;
  const v = (use: Use): Verdict => ({ use, age, ttl });
  if ((e.flags & FLAG_NO_CACHE) !== 0 || rd.noCache) return v("revalidate");
  if (age > rd.maxAge) return v("revalidate");
  if (ttl < rd.minFresh) return v("revalidate");
  if (ttl > 0) return v("fresh");
  // §4.2.4 / §5.2.2.2: must-revalidate, proxy-revalidate and s-maxage forbid serving stale, whatever the client accepts.
  if ((e.flags & FLAG_MUST_REVALIDATE) !== 0) return v("revalidate");
  const stale = -ttl;
  if (stale <= rd.maxStale) return v("stale-ok");
  if (e.swr > 0 && stale <= e.swr) return v("swr");
  return v("revalidate");
}

/**
 * RFC 5861 §4: the entry may answer a failed revalidation (5xx, timeout,
 * unreachable), unless an in-protocol directive forbids a response that was
 * not validated (RFC 9111 §4.2.4): must-revalidate, proxy-revalidate,
 * s-maxage, and no-cache, whose response must be validated before every use
 * (§5.2.2.4), stale-if-error, the route's window or max-stale notwithstanding.
 */
export function usableOnError(e: StoredEntry, now: number, rd: RequestDirectives): boolean {
  if ((e.flags & (FLAG_MUST_REVALIDATE | FLAG_NO_CACHE)) !== 0) return false;
  const stale = currentAge(e.initialAge, e.responseTime, now) - e.lifetime;
  return (e.sie > 0 && stale <= e.sie) || stale <= rd.maxStale;
}
