import { describe, expect, test } from "bun:test";
import { T_REQUESTS_LO } from "../../src/upstream/layout.ts";
import { createUpstreamRuntime, createUpstreamRuntimes } from "../../src/upstream/runtime.ts";
import { allocateUpstreamState, UpstreamStateView } from "../../src/upstream/shared-state.ts";
import { ctx, ManualClock, upstream, urls } from "./helpers.ts";

const users = upstream({ name: "users", targets: urls(3) });
const orders = upstream({
  name: "orders",
  targets: urls(2),
  health_check: { path: "/health", interval: 1000, timeout: 100, healthy: 1, unhealthy: 1, expected_status: [200, 399] },
  circuit_breaker: { failures: 1, open_for: 60_000, half_open_requests: 1, statuses: [] },
});

describe("shared upstream state", () => {
  test("every target starts up, with or without a health check", () => {
    const sab = allocateUpstreamState([users, orders]);
    const snap = new UpstreamStateView(sab, [users, orders]).snapshot();
    expect(snap.map((u) => u.name)).toEqual(["users", "orders"]);
    for (const u of snap) for (const t of u.targets) expect([t.health, t.breaker, t.passive, t.available]).toEqual(["up", "closed", "ok", true]);
  });

  test("a second view over the same buffer (another thread) sees every write", () => {
    const clock = new ManualClock();
    const sab = allocateUpstreamState([users, orders]);
    const [, ordersRt] = createUpstreamRuntimes([users, orders], sab, clock.now);
    const admin = new UpstreamStateView(sab, [users, orders]);
    ordersRt!.onStart(0);
    ordersRt!.onStart(1);
    ordersRt!.onEnd(1, false, 12.5);
    ordersRt!.onStart(1);
    ordersRt!.onEnd(1, true, 3);
    const [t0, t1] = admin.snapshot(clock.t)[1]!.targets;
    expect(t0).toMatchObject({ in_flight: 1, requests: 1, failures: 0, breaker: "closed", latency_ewma_ms: 0 });
    // 12.5 ms, then a failure counted at the 2 s connect timeout: 12.5 + (2000 − 12.5) × 0.2.
    expect(t1).toMatchObject({ in_flight: 0, requests: 2, failures: 1, breaker: "open", available: false });
    expect(t1!.latency_ewma_ms).toBeCloseTo(410, 0);
    // Users untouched.
    expect(admin.snapshot()[0]!.targets.every((t) => t.requests === 0)).toBe(true);
  });

  test("snapshot is plain JSON-able data", () => {
    const sab = allocateUpstreamState([users]);
    const snap = new UpstreamStateView(sab, [users]).snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    expect(Object.keys(snap[0]!.targets[0]!).sort()).toEqual(
      ["available", "backup", "breaker", "check_error", "check_status", "failures", "health", "in_flight", "index", "latency_ewma_ms", "passive", "requests", "url", "weight"].sort(),
    );
  });

  test("request counters are 64-bit: the low word carries into the high word", () => {
    const sab = allocateUpstreamState([users]);
    const view = new UpstreamStateView(sab, [users]);
    const rt = createUpstreamRuntime(users, view, 0);
    Atomics.store(view.i32, view.targetBase(0, 1) + T_REQUESTS_LO, -2);
    rt.onStart(1);
    expect(view.snapshot()[0]!.targets[1]!.requests).toBe(0xffffffff);
    rt.onStart(1);
    rt.onStart(1);
    expect(view.snapshot()[0]!.targets[1]!.requests).toBe(2 ** 32 + 1);
  });

  test("setHealth takes a target out by hand and reports whether it changed", () => {
    const sab = allocateUpstreamState([users]);
    const view = new UpstreamStateView(sab, [users]);
    const rt = createUpstreamRuntime(users, view, 0);
    expect(view.setHealth(0, 0, false)).toBe(true);
    expect(view.setHealth(0, 0, false)).toBe(false);
    for (let k = 0; k < 20; k++) expect(rt.pick(ctx(), null)).not.toBe(0);
    expect(view.isHealthy(0, 0)).toBe(false);
    expect(view.setHealth(0, 0, true)).toBe(true);
  });

  test("a view refuses a buffer that does not match its config", () => {
    const sab = allocateUpstreamState([users, orders]);
    expect(() => new UpstreamStateView(sab, [users])).toThrow(/does not match/);
    expect(() => new UpstreamStateView(sab, [orders, users])).not.toThrow(); // same shape
    expect(() => new UpstreamStateView(new SharedArrayBuffer(sab.byteLength), [users, orders])).toThrow(/not made by allocateUpstreamState/);
    expect(() => new UpstreamStateView(new ArrayBuffer(sab.byteLength) as unknown as SharedArrayBuffer, [users, orders])).toThrow(/does not match/);
    const view = new UpstreamStateView(sab, [users, orders]);
    expect(() => createUpstreamRuntime(orders, view, 0)).toThrow(/no upstream "orders" at index 0/);
  });

  test("reload carries over state of targets whose upstream and URL stayed, not in-flight counts", () => {
    const clock = new ManualClock();
    const sab = allocateUpstreamState([users, orders]);
    const view = new UpstreamStateView(sab, [users, orders]);
    const [usersRt, ordersRt] = createUpstreamRuntimes([users, orders], sab, clock.now);
    view.setHealth(0, 2, false);
    usersRt!.onStart(1);
    usersRt!.onEnd(1, false, 7);
    usersRt!.onStart(1);
    ordersRt!.onStart(0);
    ordersRt!.onEnd(0, true, 1);
    // New config: users loses its first target and gains one; orders is removed; a new upstream appears.
    const users2 = upstream({ name: "users", targets: [...urls(3).slice(1), "http://127.0.0.1:3999"] });
    const billing = upstream({ name: "billing", targets: urls(1) });
    const sab2 = allocateUpstreamState([billing, users2], { upstreams: [users, orders], sab });
    const snap = new UpstreamStateView(sab2, [billing, users2]).snapshot(clock.t);
    expect(snap[0]!.targets[0]).toMatchObject({ requests: 0, health: "up" });
    const [was1, was2, fresh] = snap[1]!.targets;
    expect(was1).toMatchObject({ url: urls(3)[1], requests: 2, in_flight: 0, latency_ewma_ms: 7 });
    expect(was2).toMatchObject({ url: urls(3)[2], health: "down" });
    expect(fresh).toMatchObject({ requests: 0, health: "up" });
  });

  test("reload resets half-open permits (their requests report to the old buffer)", () => {
    const clock = new ManualClock();
    const sab = allocateUpstreamState([orders]);
    const rt = createUpstreamRuntimes([orders], sab, clock.now)[0]!;
    rt.onStart(0);
    rt.onEnd(0, true, 1);
    clock.advance(60_000);
    expect(rt.pick(ctx(), [1])).toBe(0);
    expect(rt.pick(ctx(), [1])).toBe(-1);
    const sab2 = allocateUpstreamState([orders], { upstreams: [orders], sab });
    const rt2 = createUpstreamRuntimes([orders], sab2, clock.now)[0]!;
    expect(new UpstreamStateView(sab2, [orders]).snapshot()[0]!.targets[0]!.breaker).toBe("half_open");
    expect(rt2.pick(ctx(), [1])).toBe(0);
  });
});
