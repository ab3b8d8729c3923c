/**
 * The config keys of `gateway bench` (DESIGN.md "The bench suite users
 * run"): a route's `budget = { p99 = "5ms", overhead_p99 = "1ms", min_rps =
 * 5000 }` and a `[bench]` section with the run's shape and a default budget
 * for every route. The gateway itself ignores both: they cost a served
 * request nothing.
 *
 * Latencies accept microseconds ("500us"), fractions of milliseconds
 * ("1.5ms") and seconds, because budgets live below the millisecond.
 * Defaults: duration "5s" per measured phase, connections 16, rate 0 (half
 * the closed-loop maximum), warmup "1s", ramp_steps 5, faults [] (all four
 * when `--faults` is given without a list), stub latency "0ms" and body "1KB",
 * headers {}, params {} and requests {} (request synthesis, src/bench/request.ts).
 */
import { Type } from "@sinclair/typebox";
import { type NormalizeContext, readDuration, readSize } from "../config/normalize-common.ts";
import type { KeyPath } from "../config/problems.ts";
import { Duration, NonNegativeInt, opt, PositiveInt, Size, Str, table } from "../config/schema-kit.ts";

export const LATENCY_PATTERN = "^(\\d+)(?:\\.(\\d+))?(us|µs|ms|s)$";
const LATENCY = new RegExp(LATENCY_PATTERN);
const Latency = Type.String({ pattern: LATENCY_PATTERN, errorMessage: 'expected a latency such as "500us", "1.5ms", "2s"' });

export const FAULTS = ["target", "reload", "redis", "slow"] as const;
export type FaultName = (typeof FAULTS)[number];

export const BudgetSchema = table({
  p50: opt(Latency),
  p90: opt(Latency),
  p99: opt(Latency),
  p999: opt(Latency),
  max: opt(Latency),
  overhead_p50: opt(Latency),
  overhead_p99: opt(Latency),
  min_rps: opt(Type.Number({ exclusiveMinimum: 0, errorMessage: "expected a number of requests per second > 0" })),
  max_failed: opt(NonNegativeInt),
});

export const BenchSchema = table({
  duration: opt(Duration),
  connections: opt(PositiveInt),
  rate: opt(NonNegativeInt),
  warmup: opt(Duration),
  ramp_steps: opt(NonNegativeInt),
  faults: opt(
    Type.Array(
      Type.Union(
        FAULTS.map((f) => Type.Literal(f)),
        { errorMessage: `expected one of ${FAULTS.map((f) => JSON.stringify(f)).join(", ")}` },
      ),
      { errorMessage: "expected a list of fault names" },
    ),
  ),
  budget: opt(BudgetSchema),
  stub: opt(table({ latency: opt(Latency), body: opt(Size) })),
  // Request synthesis (src/bench/request.ts): headers sent on every request (credentials), values of route params.
  headers: opt(Type.Record(Type.String(), Type.String({ errorMessage: "expected a header value string" }))),
  params: opt(Type.Record(Type.String(), Type.String({ errorMessage: "expected a param value string" }))),
  // The request of one route, by route name, when the synthesized one will not do (a route's own credentials, a body).
  requests: opt(
    Type.Record(
      Type.String(),
      table({
        path: opt(Type.String({ pattern: "^/", errorMessage: 'expected a request path starting with "/" (query allowed)' })),
        method: opt(Type.String({ pattern: "^[A-Z]+$", errorMessage: 'expected an upper-case method such as "POST"' })),
        headers: opt(Type.Record(Type.String(), Type.String({ errorMessage: "expected a header value string" }))),
        body: opt(Str),
      }),
    ),
  ),
});

export interface BenchRequest {
  path?: string;
  method?: string;
  headers: Record<string, string>;
  body?: string;
}

/** Budgets in milliseconds (latencies), requests per second, and failed-request counts. */
export interface Budget {
  p50?: number;
  p90?: number;
  p99?: number;
  p999?: number;
  max?: number;
  overhead_p50?: number;
  overhead_p99?: number;
  min_rps?: number;
  max_failed?: number;
}

export interface BenchConfig {
  /** ms per measured phase. */
  duration: number;
  connections: number;
  /** Open-model rate in req/s; 0: half of the closed-loop maximum measured first. */
  rate: number;
  warmup: number;
  ramp_steps: number;
  faults: FaultName[];
  budget: Budget | null;
  stub: { latency: number; body: number };
  /** Sent on every bench request (e.g. `authorization`); `--header` adds to them. */
  headers: Record<string, string>;
  /** Values of route `:params` in the synthesized paths; default "1". */
  params: Record<string, string>;
  /** Route name → what to send instead of the synthesized request (its parts that are set). */
  requests: Record<string, BenchRequest>;
}

export const BUDGET_KEYS = ["p50", "p90", "p99", "p999", "max", "overhead_p50", "overhead_p99", "min_rps", "max_failed"] as const;

/** "500us" → 0.5, "1.5ms" → 1.5, "2s" → 2000 (milliseconds). Throws on anything else. */
export function parseLatency(s: string): number {
  const m = LATENCY.exec(s.trim());
  if (m === null) throw new Error(`invalid latency ${JSON.stringify(s)} (expected a number and a unit: us, ms, s)`);
  const v = Number(`${m[1]}.${m[2] ?? "0"}`);
  return m[3] === "s" ? v * 1000 : m[3] === "ms" ? v : v / 1000;
}

export function normalizeBudget(raw: Record<string, unknown> | undefined): Budget | null {
  if (raw === undefined) return null;
  const out: Budget = {};
  for (const k of BUDGET_KEYS) {
    const v = raw[k];
    if (v === undefined) continue;
    out[k] = typeof v === "string" ? parseLatency(v) : (v as number);
  }
  return out;
}

export function normalizeBench(ctx: NormalizeContext, raw: Record<string, unknown> | undefined): BenchConfig {
  const r = (raw ?? {}) as {
    duration?: string;
    connections?: number;
    rate?: number;
    warmup?: string;
    ramp_steps?: number;
    faults?: FaultName[];
    budget?: Record<string, unknown>;
    stub?: { latency?: string; body?: string };
    headers?: Record<string, string>;
    params?: Record<string, string>;
    requests?: Record<string, { path?: string; method?: string; headers?: Record<string, string>; body?: string }>;
  };
  const at = (k: string): KeyPath => ["bench", k];
  return {
    duration: readDuration(ctx, r.duration, at("duration"), 5000),
    connections: r.connections ?? 16,
    rate: r.rate ?? 0,
    warmup: readDuration(ctx, r.warmup, at("warmup"), 1000),
    ramp_steps: r.ramp_steps ?? 5,
    faults: [...new Set((r.faults ?? []).filter((f) => f !== undefined))],
    budget: normalizeBudget(r.budget),
    stub: {
      latency: r.stub?.latency !== undefined && LATENCY.test(r.stub.latency) ? parseLatency(r.stub.latency) : 0,
      body: readSize(ctx, r.stub?.body, ["bench", "stub", "body"], 1024),
    },
    headers: { ...(r.headers ?? {}) },
    params: { ...(r.params ?? {}) },
    requests: Object.fromEntries(
      Object.entries(r.requests ?? {}).map(([name, q]) => [
        name,
        { ...(q.path !== undefined ? { path: q.path } : {}), ...(q.method !== undefined ? { method: q.method } : {}), headers: { ...(q.headers ?? {}) }, ...(q.body !== undefined ? { body: q.body } : {}) },
      ]),
    ),
  };
}

/** The route's budget over the [bench] default: each key the route names wins. */
export function mergeBudget(dflt: Budget | null, route: Budget | null): Budget | null {
  if (dflt === null && route === null) return null;
  return { ...(dflt ?? {}), ...(route ?? {}) };
}
