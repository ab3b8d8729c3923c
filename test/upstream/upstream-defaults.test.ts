import { describe, expect, test } from "bun:test";
import { ctx, ManualClock, setup, upstream, urls } from "./helpers.ts";

/**
 * Issue 9 (upstream defaults): a target that refuses connections must leave
 * the rotation by default, connect failures must not spend the retry budget,
 * and a client that goes away must count for nothing.
 */

const c = ctx();
/** What the config loader fills in when [[upstreams]] has no passive table (src/config/normalize-upstreams.ts). */
const DEFAULT_PASSIVE = { max_fails: 1, fail_timeout: 10_000, connect_only: true };

type Rt = ReturnType<typeof setup>["rt"];
const connectFails = (rt: Rt, i: number) => (rt.onStart(i), rt.onConnectFailure(i, 0));
const answers = (rt: Rt, i: number, failed: boolean) => (rt.onStart(i), rt.onEnd(i, failed, 1));

describe("the default passive check counts connect failures only", () => {
  test("one refused connect takes the target out for fail_timeout; then one probe goes through", () => {
    const clock = new ManualClock();
    const { rt, view } = setup(upstream({ targets: urls(2), passive: DEFAULT_PASSIVE }), clock.now);
    connectFails(rt, 0);
    for (let k = 0; k < 10; k++) expect(rt.pick(c, null)).toBe(1);
    const t = view.snapshot(clock.t)[0]!.targets[0]!;
    expect([t.passive, t.available, t.failures]).toEqual(["down", false, 1]);
    clock.advance(9_999);
    expect(rt.pick(c, [1])).toBe(-1);
    clock.advance(1);
    expect(rt.pick(c, [1])).toBe(0);
    // The probe is out: nobody else gets the target meanwhile.
    expect(rt.pick(c, [1])).toBe(-1);
  });

  test("failed answers (5xx, read timeouts) never eject a target", () => {
    const clock = new ManualClock();
    const { rt, view } = setup(upstream({ targets: urls(2), passive: DEFAULT_PASSIVE }), clock.now);
    for (let k = 0; k < 50; k++) answers(rt, 0, true);
    expect(rt.pick(c, [1])).toBe(0);
    const t = view.snapshot(clock.t)[0]!.targets[0]!;
    expect([t.passive, t.available, t.failures]).toEqual(["ok", true, 50]);
  });

  test("any answer to the probe, even a 500, puts the target back: it accepts connections again", () => {
    const clock = new ManualClock();
    const { rt, view } = setup(upstream({ targets: urls(2), passive: DEFAULT_PASSIVE }), clock.now);
    connectFails(rt, 0);
    clock.advance(10_000);
    expect(rt.pick(c, [1])).toBe(0);
    answers(rt, 0, true);
    expect(view.snapshot(clock.t)[0]!.targets[0]!.passive).toBe("ok");
    expect(rt.pick(c, [1])).toBe(0);
  });

  test("a probe that is refused again keeps the target out for another fail_timeout", () => {
    const clock = new ManualClock();
    const { rt } = setup(upstream({ targets: urls(2), passive: DEFAULT_PASSIVE }), clock.now);
    connectFails(rt, 0);
    clock.advance(10_000);
    expect(rt.pick(c, [1])).toBe(0);
    connectFails(rt, 0);
    clock.advance(9_999);
    expect(rt.pick(c, [1])).toBe(-1);
    clock.advance(1);
    expect(rt.pick(c, [1])).toBe(0);
  });

  test("max_fails = 0 turns it off: a refusing target stays in rotation", () => {
    const { rt } = setup(upstream({ targets: urls(2), passive: { ...DEFAULT_PASSIVE, max_fails: 0 } }));
    for (let k = 0; k < 5; k++) connectFails(rt, 0);
    expect(rt.pick(c, [1])).toBe(0);
  });

  test("an explicit passive table still counts every failure", () => {
    const { rt } = setup(upstream({ targets: urls(2), passive: { max_fails: 1, fail_timeout: 10_000 } }));
    answers(rt, 0, true);
    expect(rt.pick(c, [1])).toBe(-1);
    connectFails(rt, 1);
    expect(rt.pick(c, null)).toBe(-1);
  });
});

describe("connect failures and the retry budget", () => {
  /** 100 requests in one second; `refusedEvery` of them first meet a refused connect and go to another target unbudgeted. Returns the budgeted retries then left. */
  function budgetAfter(refusedEvery: number): number {
    const clock = new ManualClock();
    const { rt } = setup(upstream({ targets: urls(2), retries: 2, retry_budget: { ratio: 0.2, min_per_second: 0 } }), clock.now);
    // A failed answer first, so every run opens the budget's window at the same attempt.
    answers(rt, 1, true);
    for (let r = 0; r < 100; r++) {
      if (refusedEvery > 0 && r % refusedEvery === 0) connectFails(rt, 0);
      answers(rt, 1, false);
    }
    let taken = 0;
    while (rt.takeRetry()) taken++;
    return taken;
  }

  test("they neither spend the budget nor fund it: the budget is what the requests alone allow", () => {
    const clean = budgetAfter(0);
    // Retries taken here have no attempts of their own: r < 0.2 × (100 − r) allows 17.
    expect(clean).toBe(17);
    expect(budgetAfter(3)).toBe(clean);
    expect(budgetAfter(1)).toBe(clean);
  });

  test("but they are failures of the target: counted, and the breaker sees them", () => {
    const clock = new ManualClock();
    const config = upstream({ targets: urls(2), circuit_breaker: { failures: 2, open_for: 1_000, half_open_requests: 1, statuses: [] } });
    const { rt, view } = setup(config, clock.now);
    connectFails(rt, 0);
    connectFails(rt, 0);
    const t = view.snapshot(clock.t)[0]!.targets[0]!;
    expect([t.breaker, t.failures, t.requests, t.in_flight]).toEqual(["open", 2, 2, 0]);
  });
});

describe("an abandoned attempt (the client went away) counts for nothing", () => {
  test("no failure, no passive or breaker change, no latency sample; in-flight released", () => {
    const clock = new ManualClock();
    const config = upstream({
      targets: urls(2),
      passive: { max_fails: 1, fail_timeout: 10_000 },
      circuit_breaker: { failures: 1, open_for: 1_000, half_open_requests: 1, statuses: [] },
    });
    const { rt, view } = setup(config, clock.now);
    for (let k = 0; k < 5; k++) {
      rt.onStart(0);
      rt.onAbandon(0);
    }
    const t = view.snapshot(clock.t)[0]!.targets[0]!;
    expect([t.failures, t.in_flight, t.passive, t.breaker, t.available, t.latency_ewma_ms]).toEqual([0, 0, "ok", "closed", true, 0]);
    expect(rt.pick(c, [1])).toBe(0);
  });

  test("it does not close a half-open breaker, and gives the probe permit to the next request", () => {
    const clock = new ManualClock();
    const config = upstream({ targets: urls(1), circuit_breaker: { failures: 1, open_for: 1_000, half_open_requests: 1, statuses: [] } });
    const { rt, view } = setup(config, clock.now);
    answers(rt, 0, true);
    clock.advance(1_000);
    expect(rt.pick(c, null)).toBe(0);
    expect(rt.pick(c, null)).toBe(-1);
    rt.onStart(0);
    rt.onAbandon(0);
    expect(view.snapshot(clock.t)[0]!.targets[0]!.breaker).toBe("half_open");
    expect(rt.pick(c, null)).toBe(0);
  });
});
