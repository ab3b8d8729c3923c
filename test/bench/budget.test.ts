import { describe, expect, test } from "bun:test";
import { faultChecks, routeChecks } from "../../src/bench/budget.ts";
import { recovery, type FaultResult } from "../../src/bench/faults.ts";
import type { RouteResult } from "../../src/bench/measure.ts";
import type { Summary } from "../../src/bench/stats.ts";

const summary = (p99: number, rps: number, failed = 0): Summary => ({
  requests: 1000,
  ok: 1000 - failed,
  client_errors: 0,
  failed,
  unsent: 0,
  rps,
  latency: { p50: p99 / 4, p90: p99 / 2, p99, p999: p99 * 2, max: p99 * 3, mean: p99 / 4 },
  statuses: {},
  errors: {},
});

const route = (budget: RouteResult["budget"], direct: boolean): RouteResult => ({
  name: "r",
  method: "GET",
  path: "/",
  upstream: "u",
  closed: summary(1, 9000),
  open: { rate: 4500, gateway: summary(2, 4500, 1), direct: direct ? summary(1.5, 4500) : null },
  overhead: direct ? { p50: 0.1, p90: 0.2, p99: 0.5, p999: 1 } : null,
  percentiles: [],
  histogram: [],
  ramp: [],
  knee: null,
  budget,
  warnings: [],
});

describe("bench budgets", () => {
  test("each budget key against its measurement", () => {
    const checks = routeChecks(route({ p50: 1, p99: 1.5, max: 10, overhead_p99: 1, min_rps: 10_000, max_failed: 0 }, true));
    const by = Object.fromEntries(checks.map((c) => [c.key, c]));
    expect(by.p50).toMatchObject({ actual: 0.5, pass: true });
    expect(by.p99).toMatchObject({ limit: 1.5, actual: 2, pass: false, unit: "ms" });
    expect(by.max).toMatchObject({ actual: 6, pass: true });
    expect(by.overhead_p99).toMatchObject({ actual: 0.5, pass: true });
    expect(by.min_rps).toMatchObject({ actual: 9000, pass: false, unit: "req/s" });
    expect(by.max_failed).toMatchObject({ actual: 1, pass: false });
    expect(checks).toHaveLength(6);
  });

  test("no budget, no checks; an overhead budget without a direct measurement fails and says why", () => {
    expect(routeChecks(route(null, true))).toEqual([]);
    const [c] = routeChecks(route({ overhead_p50: 1 }, false));
    expect(c).toMatchObject({ key: "overhead_p50", actual: null, pass: false });
    expect(c!.note).toContain("no direct measurement");
  });

  test("faults: failed requests against max_failed (default 0); skipped scenarios check nothing", () => {
    const f = { name: "reload", route: "r", method: "GET", idempotent: true, skipped: null, failed: 2 } as unknown as FaultResult;
    expect(faultChecks(f, null)[0]).toMatchObject({ key: "fault:reload", limit: 0, actual: 2, pass: false });
    expect(faultChecks(f, { max_failed: 5 })[0]!.pass).toBe(true);
    expect(faultChecks({ ...f, skipped: "needs --stub" }, null)).toEqual([]);
  });
});

describe("fault recovery time", () => {
  const w = (t: number, p99: number, failed = 0) => ({ t, rps: 1000, failed, p50: p99 / 2, p99 });

  test("from the fault's end to the first window after which every window is clean", () => {
    const windows = [w(0, 1), w(100, 1), w(200, 50, 3), w(300, 30), w(400, 1.5), w(500, 1), w(600, 1)];
    // The fault ended at 250; p99 before was 1 ms (limit 2 ms): the window at 400 starts the clean run.
    expect(recovery(windows, 250, 1)).toBe(150);
  });

  test("a relapse restarts the count; never clean is null", () => {
    expect(recovery([w(0, 1), w(100, 1), w(200, 9), w(300, 1), w(400, 1)], 100, 1)).toBe(200);
    expect(recovery([w(0, 1), w(100, 1), w(200, 1, 1)], 100, 1)).toBeNull();
    expect(recovery([w(0, 1), w(100, 1), w(200, 1)], 150, 1)).toBe(0);
  });
});
