/**
 * Figures from a load record: percentiles (nearest rank over every sample,
 * no histogram rounding), throughput, outcome counts, and time windows for
 * the fault timelines.
 */
import type { LoadRecord } from "./load.ts";

export interface Summary {
  requests: number;
  /** 2xx and 3xx answers. */
  ok: number;
  /** 4xx answers (a 429 from a limit is an answer, not a failure). */
  client_errors: number;
  /** 5xx answers and requests with no answer at all. */
  failed: number;
  /** Due but never sent before the run ended: every connection was busy (open model backlog); not a failure of the server. */
  unsent: number;
  /** Answered requests per second over the window. */
  rps: number;
  /** Milliseconds. */
  latency: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  statuses: Record<string, number>;
  errors: Record<string, number>;
}

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** The summary of the requests due in [fromMs, toMs) of the run (default: all of it). */
export function summarize(rec: LoadRecord, fromMs = 0, toMs = Number.POSITIVE_INFINITY): Summary {
  const lat: number[] = [];
  const statuses: Record<string, number> = {};
  let ok = 0;
  let client = 0;
  let failed = 0;
  let unsent = 0;
  let sum = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (let i = 0; i < rec.at.length; i++) {
    const at = rec.at[i]!;
    if (at < fromMs || at >= toMs) continue;
    const s = rec.status[i]!;
    const l = rec.latency[i]!;
    lat.push(l);
    sum += l;
    if (at < first) first = at;
    if (at > last) last = at;
    const key = s === 0 ? "none" : s === -1 ? "unsent" : String(s);
    statuses[key] = (statuses[key] ?? 0) + 1;
    if (s === -1) unsent++;
    else if (s === 0 || s >= 500) failed++;
    else if (s >= 400) client++;
    else ok++;
  }
  const sorted = Float64Array.from(lat).sort();
  const span = Number.isFinite(toMs) ? toMs - fromMs : Math.max(rec.elapsedMs - fromMs, 1);
  return {
    requests: lat.length,
    ok,
    client_errors: client,
    failed,
    unsent,
    rps: ((ok + client) * 1000) / Math.max(span, 1),
    latency: {
      p50: percentile(sorted, 0.5),
      p90: percentile(sorted, 0.9),
      p99: percentile(sorted, 0.99),
      p999: percentile(sorted, 0.999),
      max: sorted.length ? sorted[sorted.length - 1]! : 0,
      mean: lat.length ? sum / lat.length : 0,
    },
    statuses,
    errors: fromMs === 0 && !Number.isFinite(toMs) ? { ...rec.errors } : {},
  };
}

export interface Window {
  /** Start of the window, ms since the run's start. */
  t: number;
  rps: number;
  failed: number;
  p50: number;
  p99: number;
}

/** Fixed windows over the run, for timelines. */
export function timeline(rec: LoadRecord, windowMs: number): Window[] {
  const out: Window[] = [];
  for (let t = 0; t < rec.elapsedMs; t += windowMs) {
    const s = summarize(rec, t, t + windowMs);
    out.push({ t, rps: s.rps, failed: s.failed, p50: s.latency.p50, p99: s.latency.p99 });
  }
  return out;
}

/** Latency histogram on log-spaced buckets (ms upper bounds), for the report's plot. */
export function histogram(rec: LoadRecord, fromMs = 0, toMs = Number.POSITIVE_INFINITY): { le: number; count: number }[] {
  const bounds: number[] = [];
  for (let b = 0.05; b < 20_000; b *= 1.25) bounds.push(Number(b.toPrecision(3)));
  const counts = new Array<number>(bounds.length + 1).fill(0);
  for (let i = 0; i < rec.at.length; i++) {
    const at = rec.at[i]!;
    if (at < fromMs || at >= toMs || rec.status[i]! <= 0) continue;
    const l = rec.latency[i]!;
    let k = 0;
    while (k < bounds.length && l > bounds[k]!) k++;
    counts[k]++;
  }
  const out = bounds.map((le, k) => ({ le, count: counts[k]! }));
  out.push({ le: Number.POSITIVE_INFINITY, count: counts[bounds.length]! });
  // Trim the empty tails so the plot shows where the samples are.
  let a = 0;
  let z = out.length;
  while (a < z && out[a]!.count === 0) a++;
  while (z > a && out[z - 1]!.count === 0) z--;
  return out.slice(Math.max(0, a - 1), Math.min(out.length, z + 1));
}
