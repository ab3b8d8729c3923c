import { describe, expect, test } from "bun:test";
import { createUpstreamRuntime } from "../../src/upstream/runtime.ts";
import { ctx, ManualClock, setup, upstream, urls } from "./helpers.ts";

const c = ctx();

describe("retry budget", () => {
  test("under total failure retries stop at ratio × requests (+ the per-second floor)", () => {
    const clock = new ManualClock();
    const { rt } = setup(upstream({ targets: urls(3), retries: 2, retry_budget: { ratio: 0.2, min_per_second: 10 } }), clock.now);
    let retries = 0;
    let refused = 0;
    // 1000 requests within one second against targets that all fail; each would retry twice.
    for (let r = 0; r < 1000; r++) {
      const tried: number[] = [];
      let i = rt.pick(c, null);
      for (let attempt = 0; ; attempt++) {
        rt.onStart(i);
        rt.onEnd(i, true, 1);
        if (attempt === 2) break;
        if (!rt.takeRetry()) {
          refused++;
          break;
        }
        retries++;
        tried.push(i);
        i = rt.pick(c, tried);
      }
      if (r % 100 === 99) clock.advance(90);
    }
    expect(retries).toBeLessThanOrEqual(0.2 * 1000 + 10 + 1);
    expect(retries).toBeGreaterThan(180);
    expect(refused).toBeGreaterThan(750);
    expect(rt.takeRetry()).toBe(false);
  });

  test("under steady traffic with 5 % failures every failure can be retried, even without a floor", () => {
    const clock = new ManualClock();
    const { rt } = setup(upstream({ targets: urls(2), retry_budget: { ratio: 0.2, min_per_second: 0 } }), clock.now);
    let refused = 0;
    for (let r = 0; r < 2000; r++) {
      rt.onStart(0);
      const failed = r % 20 === 19;
      rt.onEnd(0, failed, 1);
      if (failed && !rt.takeRetry()) refused++;
      if (r % 200 === 0) clock.advance(1000);
    }
    expect(refused).toBe(0);
  });

  test("min_per_second retries are always allowed, per second", () => {
    const clock = new ManualClock(5_000);
    const { rt } = setup(upstream({ targets: urls(1), retry_budget: { ratio: 0, min_per_second: 3 } }), clock.now);
    const take = () => Array.from({ length: 5 }, () => rt.takeRetry()).filter(Boolean).length;
    expect(take()).toBe(3);
    clock.advance(999);
    expect(take()).toBe(0);
    clock.advance(1);
    expect(take()).toBe(3);
  });

  test("the window slides: requests older than ~10 s stop funding retries", () => {
    const clock = new ManualClock(0);
    const { rt } = setup(upstream({ targets: urls(1), retry_budget: { ratio: 0.5, min_per_second: 0 } }), clock.now);
    // The worker stamps the window's start at its 16th attempt: 100 attempts after it.
    for (let k = 0; k < 116; k++) rt.onStart(0);
    clock.advance(5_000);
    let n = 0;
    while (rt.takeRetry()) n++;
    // Taken while r < 0.5 × (attempts − r) = 0.5 × (100 − r): up to r = 33, so 34 in all.
    expect(n).toBe(34);
    clock.advance(6_000);
    expect(rt.takeRetry()).toBe(false);
  });

  test("after a quiet spell the window starts at the first stamp: a few requests fund no retry without a floor", () => {
    const clock = new ManualClock(0);
    const { rt } = setup(upstream({ targets: urls(1), retry_budget: { ratio: 0.5, min_per_second: 0 } }), clock.now);
    for (let k = 0; k < 10; k++) rt.onStart(0);
    rt.onEnd(0, true, 1);
    expect(rt.takeRetry()).toBe(false);
    for (let k = 0; k < 4; k++) rt.onStart(0);
    expect(rt.takeRetry()).toBe(true);
  });

  test("the budget is shared by all workers", () => {
    const clock = new ManualClock();
    const config = upstream({ targets: urls(1), retry_budget: { ratio: 0.1, min_per_second: 0 } });
    const { rt: a, view } = setup(config, clock.now);
    const b = createUpstreamRuntime(config, view, 0, clock.now);
    // a stamps the window's start at its 16th attempt: 100 attempts after it, from both workers.
    for (let k = 0; k < 66; k++) a.onStart(0);
    for (let k = 0; k < 50; k++) b.onStart(0);
    let n = 0;
    while (n < 100 && (n % 2 === 0 ? a : b).takeRetry()) n++;
    // r < 0.1 × (100 − r) up to r = 9.
    expect(n).toBe(10);
  });

  test("no retries configured: takeRetry is always false", () => {
    const { rt } = setup(upstream({ targets: urls(2), retries: 0 }));
    for (let k = 0; k < 10; k++) rt.onStart(0);
    expect(rt.takeRetry()).toBe(false);
  });
});
