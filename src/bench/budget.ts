/**
 * Budgets against measurements: one check per budget key of a route (its own
 * `budget` over `[bench] budget`), and one per fault scenario (failed
 * idempotent requests against `max_failed`, default 0). Any failed check
 * makes `gateway bench` exit 1.
 *
 * What each key is compared with:
 *   p50 … max       the gateway's latency, open model at the run's rate
 *   overhead_pNN    gateway minus direct-to-upstream at that percentile
 *   min_rps         the closed-loop maximum throughput
 *   max_failed      failed requests (5xx or no answer) of the measured phases
 */
import type { Budget } from "./config.ts";
import type { FaultResult } from "./faults.ts";
import type { RouteResult } from "./measure.ts";

export interface Check {
  route: string;
  /** A budget key, or "fault:<name>". */
  key: string;
  limit: number;
  actual: number | null;
  unit: "ms" | "req/s" | "requests";
  pass: boolean;
  note?: string;
}

export function routeChecks(r: RouteResult): Check[] {
  const b: Budget | null = r.budget;
  if (b === null) return [];
  const out: Check[] = [];
  const lat = r.open.gateway.latency;
  const atMost = (key: string, limit: number | undefined, actual: number | null, unit: Check["unit"], note?: string) => {
    if (limit === undefined) return;
    out.push({ route: r.name, key, limit, actual, unit, pass: actual !== null && actual <= limit, ...(note ? { note } : {}) });
  };
  atMost("p50", b.p50, lat.p50, "ms");
  atMost("p90", b.p90, lat.p90, "ms");
  atMost("p99", b.p99, lat.p99, "ms");
  atMost("p999", b.p999, lat.p999, "ms");
  atMost("max", b.max, lat.max, "ms");
  const noDirect = r.overhead === null ? "no direct measurement (the route has no single HTTP upstream)" : undefined;
  atMost("overhead_p50", b.overhead_p50, r.overhead?.p50 ?? null, "ms", noDirect);
  atMost("overhead_p99", b.overhead_p99, r.overhead?.p99 ?? null, "ms", noDirect);
  if (b.min_rps !== undefined) out.push({ route: r.name, key: "min_rps", limit: b.min_rps, actual: r.closed.rps, unit: "req/s", pass: r.closed.rps >= b.min_rps });
  atMost("max_failed", b.max_failed, r.closed.failed + r.open.gateway.failed, "requests");
  return out;
}

export function faultChecks(f: FaultResult, budget: Budget | null): Check[] {
  if (f.skipped !== null) return [];
  const limit = budget?.max_failed ?? 0;
  const note = f.idempotent ? undefined : `${f.method} is not idempotent: failures are reported, and still counted`;
  return [{ route: f.route, key: `fault:${f.name}`, limit, actual: f.failed, unit: "requests", pass: f.failed <= limit, ...(note ? { note } : {}) }];
}
