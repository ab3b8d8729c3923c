import { describe, expect, test } from "bun:test";
import { countPicks, ctx, ManualClock, setup, upstream, urls } from "../helpers.ts";

function primed(latencies: number[], clock = new ManualClock()) {
  const s = setup(upstream({ balancer: "least_time", targets: urls(latencies.length) }), clock.now);
  for (let k = 0; k < 20; k++) {
    latencies.forEach((ms, i) => {
      s.rt.onStart(i);
      s.rt.onEnd(i, false, ms);
    });
  }
  return s;
}

describe("least_time (P2C over decaying latency EWMA)", () => {
  test("prefers the fast target; the slowest of three never wins a pair", () => {
    const { rt } = primed([50, 5, 20]);
    const counts = countPicks(rt, 3000);
    expect(counts[0]).toBe(0);
    // The fastest wins every pair it is drawn into: 2/3 of picks.
    expect(counts[1]! / 3000).toBeGreaterThan(0.6);
    expect(counts[1]! / 3000).toBeLessThan(0.73);
    expect(counts[2]! / 3000).toBeGreaterThan(0.27);
  });

  test("the EWMA tracks a target that slows down", () => {
    const { rt } = primed([10, 20]);
    expect(rt.pick(ctx(), null)).toBe(0);
    for (let k = 0; k < 20; k++) {
      rt.onStart(0);
      rt.onEnd(0, false, 100);
    }
    expect(rt.pick(ctx(), null)).toBe(1);
  });

  test("requests in flight penalise a fast but busy target", () => {
    const { rt } = primed([50, 5]);
    expect(rt.pick(ctx(), null)).toBe(1);
    // 5 ms × 21 > 50 ms × 1.
    for (let k = 0; k < 20; k++) rt.onStart(1);
    expect(rt.pick(ctx(), null)).toBe(0);
  });

  test("a failure counts at least the connect timeout, so fast refusals do not attract traffic", () => {
    const { rt } = primed([30, 30]);
    for (let k = 0; k < 5; k++) {
      rt.onStart(0);
      rt.onEnd(0, true, 0.1);
    }
    expect(countPicks(rt, 100)).toEqual([0, 100]);
  });

  test("an idle slow target's EWMA decays, so it is tried again", () => {
    const clock = new ManualClock();
    const { rt } = primed([1000, 5], clock);
    expect(rt.pick(ctx(), null)).toBe(1);
    // 100 s later: the fast target was just measured, the slow one not since (2^-10 of 1000 ms ≈ 1 ms).
    clock.advance(100_000);
    rt.onStart(1);
    rt.onEnd(1, false, 5);
    expect(rt.pick(ctx(), null)).toBe(0);
  });

  test("a never-measured target is tried first", () => {
    const { rt } = setup(upstream({ balancer: "least_time", targets: urls(2) }));
    rt.onStart(0);
    rt.onEnd(0, false, 5);
    expect(rt.pick(ctx(), null)).toBe(1);
  });
});
