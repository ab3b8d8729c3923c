import { describe, expect, test } from "bun:test";
import { CircuitBreaker } from "../../src/upstream/breaker.ts";
import { createUpstreamRuntime, retryAfterSeconds } from "../../src/upstream/runtime.ts";
import { ctx, ManualClock, setup, upstream, urls } from "./helpers.ts";

const c = ctx();
const breaker = (over: Partial<{ failures: number; open_for: number; half_open_requests: number }> = {}) => ({
  failures: 3,
  open_for: 1000,
  half_open_requests: 2,
  statuses: [500, 502, 503, 504],
  ...over,
});

function fail(rt: ReturnType<typeof setup>["rt"], i: number, times = 1): void {
  for (let k = 0; k < times; k++) {
    rt.onStart(i);
    rt.onEnd(i, true, 1);
  }
}
function succeed(rt: ReturnType<typeof setup>["rt"], i: number): void {
  rt.onStart(i);
  rt.onEnd(i, false, 1);
}
const state = (view: ReturnType<typeof setup>["view"], t = 0) => view.snapshot()[0]!.targets[t]!.breaker;

describe("circuit breaker, injected clock", () => {
  test("closed → open after `failures` consecutive failures; a success in between resets the count", () => {
    const clock = new ManualClock();
    const { rt, view } = setup(upstream({ targets: urls(1), circuit_breaker: breaker() }), clock.now);
    fail(rt, 0, 2);
    succeed(rt, 0);
    fail(rt, 0, 2);
    expect(state(view)).toBe("closed");
    expect(rt.pick(c, null)).toBe(0);
    fail(rt, 0);
    expect(state(view)).toBe("open");
    expect(rt.pick(c, null)).toBe(-1);
  });

  test("open → nothing until open_for passed → half-open admits exactly half_open_requests → a success closes", () => {
    const clock = new ManualClock();
    const { rt, view } = setup(upstream({ targets: urls(1), circuit_breaker: breaker() }), clock.now);
    fail(rt, 0, 3);
    clock.advance(999);
    expect(rt.pick(c, null)).toBe(-1);
    clock.advance(1);
    expect(rt.pick(c, null)).toBe(0);
    expect(state(view)).toBe("half_open");
    expect(rt.pick(c, null)).toBe(0);
    expect(rt.pick(c, null)).toBe(-1);
    expect(rt.pick(c, null)).toBe(-1);
    rt.onStart(0);
    rt.onEnd(0, false, 5);
    expect(state(view)).toBe("closed");
    for (let k = 0; k < 10; k++) expect(rt.pick(c, null)).toBe(0);
  });

  test("a failed probe re-opens for a full open_for from the failure", () => {
    const clock = new ManualClock();
    const { rt, view } = setup(upstream({ targets: urls(1), circuit_breaker: breaker() }), clock.now);
    fail(rt, 0, 3);
    clock.advance(1500);
    expect(rt.pick(c, null)).toBe(0);
    fail(rt, 0);
    expect(state(view)).toBe("open");
    clock.advance(999);
    expect(rt.pick(c, null)).toBe(-1);
    clock.advance(1);
    expect(rt.pick(c, null)).toBe(0);
  });

  test("while open, traffic goes to the other targets", () => {
    const clock = new ManualClock();
    const { rt } = setup(upstream({ targets: urls(3), circuit_breaker: breaker({ failures: 1 }) }), clock.now);
    fail(rt, 1);
    for (let k = 0; k < 60; k++) expect(rt.pick(c, null)).not.toBe(1);
    clock.advance(1000);
    const seen = new Set<number>();
    for (let k = 0; k < 60; k++) seen.add(rt.pick(c, null));
    expect(seen.has(1)).toBe(true);
  });

  test("a breaker opened in one worker stops the others at once", () => {
    const clock = new ManualClock();
    const config = upstream({ targets: urls(2), circuit_breaker: breaker({ failures: 1 }) });
    const { rt: a, view } = setup(config, clock.now);
    const b = createUpstreamRuntime(config, view, 0, clock.now);
    expect(b.pick(c, [1])).toBe(0);
    fail(a, 0);
    expect(b.pick(c, [1])).toBe(-1);
    for (let k = 0; k < 20; k++) expect(b.pick(c, null)).toBe(1);
  });

  test("a success reported while open (request sent before it opened) does not close it", () => {
    const clock = new ManualClock();
    const { rt, view } = setup(upstream({ targets: urls(1), circuit_breaker: breaker({ failures: 1 }) }), clock.now);
    rt.onStart(0);
    fail(rt, 0);
    rt.onEnd(0, false, 1);
    expect(state(view)).toBe("open");
  });

  test("permits taken but never reported come back after the probe timeout", () => {
    const clock = new ManualClock();
    const config = upstream({ targets: urls(1), circuit_breaker: breaker({ failures: 1, half_open_requests: 1 }), timeouts: { connect: 100, read: 2000, total: 0 } });
    const { rt } = setup(config, clock.now);
    fail(rt, 0);
    clock.advance(1000);
    expect(rt.pick(c, null)).toBe(0);
    // The caller dropped that pick (no onStart/onEnd).
    clock.advance(2099);
    expect(rt.pick(c, null)).toBe(-1);
    clock.advance(1);
    expect(rt.pick(c, null)).toBe(0);
    expect(rt.pick(c, null)).toBe(-1);
  });

  test("retryAfterSeconds: seconds until the soonest open breaker half-opens", () => {
    const clock = new ManualClock();
    const { rt } = setup(upstream({ targets: urls(2), circuit_breaker: breaker({ failures: 1, open_for: 30_000 }) }), clock.now);
    expect(retryAfterSeconds(rt)).toBe(0);
    fail(rt, 0);
    clock.advance(10_500);
    fail(rt, 1);
    expect(rt.pick(c, null)).toBe(-1);
    expect(retryAfterSeconds(rt)).toBe(20);
    expect(rt.retryAfterSeconds()).toBe(20);
    clock.advance(19_600);
    expect(retryAfterSeconds(rt)).toBe(1);
  });

  test("exactly N permits under interleaved admits (CAS on one word)", () => {
    const i32 = new Int32Array(new SharedArrayBuffer(64 * 4));
    const b = new CircuitBreaker(i32, 0, { failures: 1, openFor: 10, halfOpenRequests: 5, probeTimeout: 1000 });
    b.onFailure(16, 100);
    let admitted = 0;
    for (let k = 0; k < 50; k++) if (b.admit(16, 110)) admitted++;
    expect(admitted).toBe(5);
    b.release(16);
    expect(b.admit(16, 110)).toBe(true);
    expect(b.admit(16, 110)).toBe(false);
    b.onSuccess(16);
    expect(b.admit(16, 110)).toBe(true);
  });
});

describe("circuit breaker, real time", () => {
  // Exact boundaries are tested with the injected clock above; here the real
  // clock drives the same transitions. "Still open" is only asserted while
  // the measured time says so, since a loaded machine can oversleep.
  test("opens, half-opens after open_for (150 ms) and closes on a successful probe", async () => {
    const { rt, view } = setup(upstream({ targets: urls(1), circuit_breaker: breaker({ failures: 2, open_for: 150, half_open_requests: 1 }) }));
    fail(rt, 0, 2);
    const opened = performance.now();
    expect(rt.pick(c, null)).toBe(-1);
    await Bun.sleep(30);
    if (performance.now() - opened < 140) expect(rt.pick(c, null)).toBe(-1);
    await Bun.sleep(Math.max(0, 160 - (performance.now() - opened)));
    expect(rt.pick(c, null)).toBe(0);
    expect(rt.pick(c, null)).toBe(-1);
    rt.onStart(0);
    rt.onEnd(0, false, 3);
    expect(state(view)).toBe("closed");
    expect(rt.pick(c, null)).toBe(0);
  });

  test("a failed probe waits another open_for", async () => {
    const { rt } = setup(upstream({ targets: urls(1), circuit_breaker: breaker({ failures: 1, open_for: 100, half_open_requests: 1 }) }));
    fail(rt, 0);
    await Bun.sleep(110);
    expect(rt.pick(c, null)).toBe(0);
    fail(rt, 0);
    const reopened = performance.now();
    expect(rt.pick(c, null)).toBe(-1);
    await Bun.sleep(40);
    if (performance.now() - reopened < 90) expect(rt.pick(c, null)).toBe(-1);
    await Bun.sleep(Math.max(0, 110 - (performance.now() - reopened)));
    expect(rt.pick(c, null)).toBe(0);
  });
});
