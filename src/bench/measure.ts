/**
 * The measurement of one route, in this order, all on the same connections
 * count:
 *
 *  1. warm-up, closed loop (discarded): JIT, pools, caches;
 *  2. closed loop for `duration`: the maximum throughput (min_rps budget);
 *  3. open model at `rate` (default half that maximum) for `duration`, to
 *     the gateway, then the same request at the same rate straight to the
 *     upstream: latency percentiles with coordinated-omission correction,
 *     and the gateway's overhead as the difference of the two, percentile by
 *     percentile (a difference of percentiles, not a percentile of
 *     differences: the two runs are not paired request by request);
 *  4. the ramp: open model at 1/n, 2/n … n/n of the maximum for
 *     `duration` each, stopping at the first step whose p99 is over the
 *     limit (or that failed requests or could not send 1 % of them). That
 *     step's rate is the knee. The limit is the route's p99
 *     budget, or without one 10x the p99 of the first step.
 */
import type { Budget } from "./config.ts";
import { type LoadRecord, runLoad } from "./load.ts";
import type { Progress } from "./progress.ts";
import type { Endpoint, RoutePlan } from "./request.ts";
import { histogram, percentile, type Summary, summarize } from "./stats.ts";

export interface LoadShape {
  duration: number;
  warmup: number;
  connections: number;
  /** 0: half the closed-loop maximum. */
  rate: number;
  rampSteps: number;
  maxRequests: number | undefined;
}

export interface RampStep {
  rate: number;
  rps: number;
  p50: number;
  p99: number;
  failed: number;
  /** Backlog at the step's end: the offered rate was not kept up with. */
  unsent: number;
}

export interface RouteResult {
  name: string;
  method: string;
  path: string;
  upstream: string;
  /** Closed loop: the maximum throughput. */
  closed: Summary;
  open: { rate: number; gateway: Summary; direct: Summary | null };
  /** Gateway minus direct, ms; null without a direct measurement. */
  overhead: { p50: number; p90: number; p99: number; p999: number } | null;
  /** Latency at each quantile, open model (the percentile plot). */
  percentiles: { q: number; gateway: number; direct: number | null }[];
  histogram: { le: number; count: number }[];
  ramp: RampStep[];
  knee: { rate: number | null; limit_ms: number; basis: "budget" | "baseline" } | null;
  budget: Budget | null;
  warnings: string[];
}

export const QUANTILES = [0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999, 1];

export async function measureRoute(gateway: Endpoint, plan: RoutePlan, budget: Budget | null, shape: LoadShape, progress: Progress): Promise<RouteResult> {
  const head = plan.method === "HEAD";
  const run = (phase: string, to: Endpoint, request: Uint8Array, durationMs: number, rate: number): Promise<LoadRecord> => {
    progress.begin(plan.name, phase);
    return runLoad({
      hostname: to.hostname,
      port: to.port,
      request,
      head,
      connections: shape.connections,
      durationMs,
      rate,
      maxRequests: shape.maxRequests,
      timeoutMs: 5000,
      onProgress: progress.update,
    });
  };

  if (shape.warmup > 0) await run("warmup", gateway, plan.request, shape.warmup, 0);
  const closed = summarize(await run("closed", gateway, plan.request, shape.duration, 0));
  const rate = shape.rate > 0 ? shape.rate : Math.max(1, Math.round(closed.rps / 2));

  const gwRec = await run(`open@${rate}`, gateway, plan.request, shape.duration, rate);
  const gw = summarize(gwRec);
  let direct: Summary | null = null;
  let directRec: LoadRecord | null = null;
  if (plan.direct !== null) {
    directRec = await run(`direct@${rate}`, plan.direct.endpoint, plan.direct.request, shape.duration, rate);
    direct = summarize(directRec);
  }

  const ramp: RampStep[] = [];
  let knee: RouteResult["knee"] = null;
  if (shape.rampSteps > 0 && closed.rps > 0) {
    let limit = budget?.p99 ?? 0;
    const basis = budget?.p99 !== undefined ? "budget" : "baseline";
    knee = { rate: null, limit_ms: limit, basis };
    for (let i = 1; i <= shape.rampSteps; i++) {
      const r = Math.max(1, Math.round((closed.rps * i) / shape.rampSteps));
      const s = summarize(await run(`ramp ${i}/${shape.rampSteps}@${r}`, gateway, plan.request, shape.duration, r));
      ramp.push({ rate: r, rps: s.rps, p50: s.latency.p50, p99: s.latency.p99, failed: s.failed, unsent: s.unsent });
      if (limit === 0) {
        limit = Math.max(s.latency.p99 * 10, 0.1);
        knee.limit_ms = limit;
      }
      // A few requests still queued when the step ends are a tick of jitter; 1 % is a generator that cannot keep up.
      if (s.latency.p99 > limit || s.failed > 0 || s.unsent > s.requests / 100) {
        knee.rate = r;
        break;
      }
    }
  }

  const warnings: string[] = [];
  if (gw.client_errors > gw.requests / 2) {
    const codes = Object.keys(gw.statuses).filter((k) => k.startsWith("4"));
    warnings.push(
      `most answers were ${codes.join("/")}: the figures measure a rejection, not the route (credentials: --header or [bench] headers; params: [bench] params)`,
    );
  }
  if (closed.failed > 0 || gw.failed > 0) warnings.push(`failed requests during measurement: ${closed.failed + gw.failed} (${describeErrors(gw, closed)})`);
  if (gw.unsent > gw.requests / 100) warnings.push(`${gw.unsent} requests were still waiting for a free connection when the open-model phase ended: raise --connections or lower --rate`);
  if (direct !== null && direct.failed > 0) warnings.push(`the upstream failed ${direct.failed} direct requests: the overhead figures are unreliable`);

  const sortedGw = sortedLatencies(gwRec);
  const sortedDirect = directRec === null ? null : sortedLatencies(directRec);
  return {
    name: plan.name,
    method: plan.method,
    path: plan.path,
    upstream: plan.upstream,
    closed,
    open: { rate, gateway: gw, direct },
    overhead:
      direct === null
        ? null
        : {
            p50: gw.latency.p50 - direct.latency.p50,
            p90: gw.latency.p90 - direct.latency.p90,
            p99: gw.latency.p99 - direct.latency.p99,
            p999: gw.latency.p999 - direct.latency.p999,
          },
    percentiles: QUANTILES.map((q) => ({ q, gateway: percentile(sortedGw, q), direct: sortedDirect === null ? null : percentile(sortedDirect, q) })),
    histogram: histogram(gwRec),
    ramp,
    knee,
    budget,
    warnings,
  };
}

function sortedLatencies(rec: LoadRecord): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < rec.latency.length; i++) if (rec.status[i] !== 0) out.push(rec.latency[i]!);
  return Float64Array.from(out).sort();
}

function describeErrors(...s: Summary[]): string {
  const all: Record<string, number> = {};
  for (const x of s) {
    for (const [k, v] of Object.entries(x.errors)) all[k] = (all[k] ?? 0) + v;
    for (const [k, v] of Object.entries(x.statuses)) if (k === "none" || k.startsWith("5")) all[k] = (all[k] ?? 0) + v;
  }
  return Object.entries(all)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ");
}
