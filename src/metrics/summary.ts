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
