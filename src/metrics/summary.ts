/**
 * The seed-style JSON summary of admin GET /status, from the same shared
 * counters a scrape reads: totals, successes (1xx-3xx), failures (5xx, and
 * 4xx other than 429), rate-limited (429), cache results, and per route the
 * same plus the mean of the request-duration histogram (its sum over its
 * count, since the process started).
 */
import { splitSeriesKey, familyKey, type FamilyDescriptor, type SharedMetrics } from "./registry.ts";

export interface RouteSummary {
  total: number;
  success: number;
  failed: number;
  rate_limited: number;
  /** Mean time from accept to response head, ms; null before the route's first request. */
  latency_ms: number | null;
}

export interface RequestSummary {
  total: number;
  success: number;
  failed: number;
  rate_limited: number;
  /** gateway_cache_requests_total by result, over every cached route (hit, miss, stale, revalidated, bypass). */
  cache: Record<string, number>;
  routes: Record<string, RouteSummary>;
}

const REQUESTS = "gateway_requests_total\u0000";
const DURATION = "gateway_request_duration_seconds\u0000";
const CACHE = "gateway_cache_requests_total\u0000";

export function requestSummary(m: SharedMetrics): RequestSummary {
  const out: RequestSummary = { total: 0, success: 0, failed: 0, rate_limited: 0, cache: {}, routes: {} };
  const route = (name: string) => (out.routes[name] ??= { total: 0, success: 0, failed: 0, rate_limited: 0, latency_ms: null });
  let buckets = -1;
  const durations: { route: string; cell: number }[] = [];
  for (const e of m.entries()) {
    if (e.key.startsWith(REQUESTS)) {
      const [name, , code] = splitSeriesKey(e.key).values as [string, string, string];
      const n = m.read(e.cell);
      const r = route(name);
      const status = Number(code);
      const kind = status === 429 ? "rate_limited" : status >= 400 ? "failed" : "success";
      out.total += n;
      out[kind] += n;
      r.total += n;
      r[kind] += n;
    } else if (e.key.startsWith(CACHE)) {
      const [, result] = splitSeriesKey(e.key).values as [string, string];
      out.cache[result] = (out.cache[result] ?? 0) + m.read(e.cell);
    } else if (e.key.startsWith(DURATION)) {
      durations.push({ route: splitSeriesKey(e.key).values[0]!, cell: e.cell });
    } else if (e.key === familyKey("gateway_request_duration_seconds")) {
      buckets = (JSON.parse(e.payload) as FamilyDescriptor).buckets.length;
    }
  }
  if (buckets >= 0) {
    // A histogram's cells: one count per bucket, +Inf, then the sum in microseconds (registry.ts).
    for (const d of durations) {
      let count = 0;
      for (let b = 0; b <= buckets; b++) count += m.read(d.cell + b);
      if (count > 0) route(d.route).latency_ms = Math.round(m.read(d.cell + buckets + 1) / count) / 1000;
    }
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
