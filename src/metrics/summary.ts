/**
 * The seed-style JSON summary of admin GET /status, from the same shared
 * counters a scrape reads: totals, successes (1xx-3xx), failures (5xx, and
 * 4xx other than 429), rate-limited (429), per route.
 */
import { splitSeriesKey, type SharedMetrics } from "./registry.ts";

export interface RequestSummary {
  total: number;
  success: number;
  failed: number;
  rate_limited: number;
  routes: Record<string, { total: number; success: number; failed: number; rate_limited: number }>;
}

export function requestSummary(m: SharedMetrics): RequestSummary {
  const out: RequestSummary = { total: 0, success: 0, failed: 0, rate_limited: 0, routes: {} };
  for (const e of m.entries()) {
    if (!e.key.startsWith("gateway_requests_total\u0000")) continue;
    const { values } = splitSeriesKey(e.key);
    const [route, , code] = values as [string, string, string];
    const n = m.read(e.cell);
    const r = (out.routes[route] ??= { total: 0, success: 0, failed: 0, rate_limited: 0 });
    const status = Number(code);
    const kind = status === 429 ? "rate_limited" : status >= 400 ? "failed" : "success";
    out.total += n;
    out[kind] += n;
    r.total += n;
    r[kind] += n;
  }
  return out;
}

export interface CacheRequestSummary {
  hit: number;
  stale: number;
  miss: number;
  revalidated: number;
  bypass: number;
  /** (hit + stale) / (hit + stale + miss + revalidated); null before any cacheable request. */
  hit_ratio: number | null;
}

/** Requests of cached routes by cache result (gateway_cache_requests_total, all routes), for GET /status. */
export function cacheSummary(m: SharedMetrics): CacheRequestSummary {
  const out: CacheRequestSummary = { hit: 0, stale: 0, miss: 0, revalidated: 0, bypass: 0, hit_ratio: null };
  for (const e of m.entries()) {
    if (!e.key.startsWith("gateway_cache_requests_total\u0000")) continue;
    const result = splitSeriesKey(e.key).values[1] as keyof Omit<CacheRequestSummary, "hit_ratio">;
    if (result in out) out[result] += m.read(e.cell);
  }
  const served = out.hit + out.stale;
  const asked = served + out.miss + out.revalidated;
  out.hit_ratio = asked === 0 ? null : Math.round((served / asked) * 10000) / 10000;
  return out;
}
