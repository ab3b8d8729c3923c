import { describe, expect, test } from "bun:test";
import type { UpstreamConfig } from "../../src/config/types.ts";
import { ConfigError } from "../../src/errors.ts";
import { createUpstreamRuntime, createUpstreamRuntimes, retryAfterSeconds } from "../../src/upstream/runtime.ts";
import type { UpstreamRuntime } from "../../src/upstream/types.ts";
import { allocateUpstreamState, UpstreamStateView } from "../../src/upstream/shared-state.ts";
import { ctx, ManualClock, setup, upstream, urls } from "./helpers.ts";

function problems(config: UpstreamConfig): string[] {
  try {
    setup(config);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

const hc = { path: "/health", interval: 1000, timeout: 500, healthy: 2, unhealthy: 3, expected_status: [200, 399] as [number, number] };
const cb = { failures: 5, open_for: 30_000, half_open_requests: 3, statuses: [500] };

describe("createUpstreamRuntime refuses settings it cannot run, naming the key", () => {
  const cases: [string, Parameters<typeof upstream>[0], RegExp][] = [
    ["unknown balancer", { targets: urls(1), balancer: "fastest" as never }, /^upstreams\[0\]\.balancer: unknown balancer "fastest"/],
    ["hash without key", { targets: urls(1), balancer: "hash" }, /^upstreams\[0\]\.hash_key: required/],
    ["bad hash key", { targets: urls(1), balancer: "hash", hash_key: "body:x" }, /^upstreams\[0\]\.hash_key: unknown hash key "body:x"/],
    ["hash key without name", { targets: urls(1), balancer: "hash", hash_key: "cookie:" }, /^upstreams\[0\]\.hash_key: .*needs a name/],
    ["no targets", { targets: [] }, /^upstreams\[0\]\.targets: at least one/],
    ["zero weight", { targets: [{ url: "http://a:1", weight: 0 }] }, /^upstreams\[0\]\.targets\[0\]\.weight: must be a number > 0/],
    ["NaN weight", { targets: ["http://a:1", { url: "http://b:1", weight: Number.NaN }] }, /^upstreams\[0\]\.targets\[1\]\.weight/],
    ["breaker failures 0", { targets: urls(1), circuit_breaker: { ...cb, failures: 0 } }, /circuit_breaker\.failures: must be an integer >= 1/],
    ["breaker failures 1.5", { targets: urls(1), circuit_breaker: { ...cb, failures: 1.5 } }, /circuit_breaker\.failures/],
    ["breaker open_for negative", { targets: urls(1), circuit_breaker: { ...cb, open_for: -1 } }, /circuit_breaker\.open_for/],
    ["breaker open_for huge", { targets: urls(1), circuit_breaker: { ...cb, open_for: 2 ** 31 } }, /circuit_breaker\.open_for/],
    ["half_open_requests 0", { targets: urls(1), circuit_breaker: { ...cb, half_open_requests: 0 } }, /circuit_breaker\.half_open_requests/],
    ["passive max_fails -1", { targets: urls(1), passive: { max_fails: -1, fail_timeout: 1000 } }, /passive\.max_fails/],
    ["passive fail_timeout 0", { targets: urls(1), passive: { max_fails: 3, fail_timeout: 0 } }, /passive\.fail_timeout/],
    ["budget ratio negative", { targets: urls(1), retry_budget: { ratio: -0.1, min_per_second: 10 } }, /retry_budget\.ratio/],
    ["budget min NaN", { targets: urls(1), retry_budget: { ratio: 0.2, min_per_second: Number.NaN } }, /retry_budget\.min_per_second/],
    ["retries -1", { targets: urls(1), retries: -1 }, /retries: must be an integer >= 0/],
    ["health path", { targets: urls(1), health_check: { ...hc, path: "health" } }, /health_check\.path: must start with "\/"/],
    ["health interval", { targets: urls(1), health_check: { ...hc, interval: 0 } }, /health_check\.interval/],
    ["health timeout", { targets: urls(1), health_check: { ...hc, timeout: -5 } }, /health_check\.timeout/],
    ["health healthy", { targets: urls(1), health_check: { ...hc, healthy: 0 } }, /health_check\.healthy/],
    ["health unhealthy", { targets: urls(1), health_check: { ...hc, unhealthy: 0.5 } }, /health_check\.unhealthy/],
    ["health status reversed", { targets: urls(1), health_check: { ...hc, expected_status: [399, 200] } }, /health_check\.expected_status/],
    ["health status out of range", { targets: urls(1), health_check: { ...hc, expected_status: [200, 700] } }, /health_check\.expected_status/],
  ];
  for (const [name, over, message] of cases) {
    test(name, () => {
      const found = problems(upstream(over));
      expect(found.some((p) => message.test(p))).toBe(true);
    });
  }

  test("every problem is reported at once, with the upstream's index", () => {
    const config = upstream({ targets: [{ url: "http://a:1", weight: -1 }], retries: -1, passive: { max_fails: -2, fail_timeout: 1 } });
    const sab = allocateUpstreamState([upstream({ targets: urls(1) }), config]);
    const view = new UpstreamStateView(sab, [upstream({ targets: urls(1) }), config]);
    try {
      createUpstreamRuntime(config, view, 1);
      throw new Error("expected a ConfigError");
    } catch (e) {
      expect((e as ConfigError).problems).toHaveLength(3);
      for (const p of (e as ConfigError).problems) expect(p.startsWith("upstreams[1].")).toBe(true);
    }
  });
});

describe("runtime", () => {
  test("createUpstreamRuntimes builds one runtime per upstream, in order", () => {
    const a = upstream({ name: "a", targets: urls(1) });
    const b = upstream({ name: "b", balancer: "least_conn", targets: urls(2) });
    const rts = createUpstreamRuntimes([a, b], allocateUpstreamState([a, b]));
    expect(rts.map((r) => r.name)).toEqual(["a", "b"]);
    expect(rts[1]!.targets).toBe(b.targets);
    expect(rts[1]!.config).toBe(b);
  });

  test("retryAfterSeconds covers passive fail_timeout and skips actively down targets; 0 for other runtimes", () => {
    const clock = new ManualClock();
    const { rt, view } = setup(upstream({ targets: urls(2), passive: { max_fails: 1, fail_timeout: 4_000 } }), clock.now);
    rt.onStart(0);
    rt.onEnd(0, true, 1);
    view.setHealth(0, 1, false);
    expect(rt.pick(ctx(), null)).toBe(-1);
    expect(retryAfterSeconds(rt)).toBe(4);
    view.setHealth(0, 0, false);
    expect(retryAfterSeconds(rt)).toBe(0);
    const other = { retryAfterSeconds: () => 9 } as unknown as UpstreamRuntime;
    expect(retryAfterSeconds(other)).toBe(0);
  });

  test("a target passively down and breaker-open is usable only when both allow", () => {
    const clock = new ManualClock();
    const config = upstream({
      targets: urls(1),
      passive: { max_fails: 1, fail_timeout: 5_000 },
      circuit_breaker: { failures: 1, open_for: 2_000, half_open_requests: 1, statuses: [] },
    });
    const { rt, view } = setup(config, clock.now);
    rt.onStart(0);
    rt.onEnd(0, true, 1);
    clock.advance(2_000);
    expect(rt.pick(ctx(), null)).toBe(-1);
    expect(retryAfterSeconds(rt)).toBe(3);
    clock.advance(3_000);
    expect(rt.pick(ctx(), null)).toBe(0);
    expect(rt.pick(ctx(), null)).toBe(-1);
    rt.onStart(0);
    rt.onEnd(0, false, 1);
    const t = view.snapshot(clock.t)[0]!.targets[0]!;
    expect([t.breaker, t.passive]).toEqual(["closed", "ok"]);
  });
});
