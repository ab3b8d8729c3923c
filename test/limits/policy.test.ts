import { describe, expect, test } from "bun:test";
import type { Policy } from "../../src/policies/types.ts";
import { allocateLimiterShared, createLimiterRuntime, lagFactor, startLagMonitor } from "../../src/limits/index.ts";
import { createRateLimitPolicy } from "../../src/policies/rate-limit/policy.ts";
import { clock, consumer, ctx, gatewayConfig, header, limit, parseSfList, route, runCleanups, type CtxInit } from "./helpers.ts";
import type { ConsumerConfig, RouteConfig } from "../../src/config/types.ts";

const DAY = 86_400_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % DAY);

function setup(r: RouteConfig, consumers: ConsumerConfig[] = [], opts: { legacy?: boolean; now?: () => number } = {}) {
  const config = gatewayConfig({ routes: [r], consumers, legacy: opts.legacy });
  const runtime = createLimiterRuntime(config, allocateLimiterShared(config), opts.now ?? (() => T0 + 1000));
  const policy = createRateLimitPolicy(r, consumers, runtime);
  return { runtime, policy: policy! };
}

function send(policy: Policy, init: CtxInit = {}) {
  const c = ctx(init);
  const res = policy.onRequest!(c);
  return { c, res };
}

function count(policy: Policy, n: number, init: CtxInit = {}): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (send(policy, init).res === undefined) ok++;
  return ok;
}

describe("policy construction", () => {
  test("null when neither the route nor any consumer has limits", () => {
    const config = gatewayConfig({});
    const rt = createLimiterRuntime(config, allocateLimiterShared(config));
    expect(createRateLimitPolicy(route("free", []), [consumer("c", [])], rt)).toBeNull();
  });
  test("a route without limits still limits a consumer that has its own", () => {
    const { policy } = setup(route("open", []), [consumer("metered", [limit({ id: "metered#0", algorithm: "fixed_window", limit: 2, key: ["consumer"] })])]);
    expect(count(policy, 5, { consumer: "metered" })).toBe(2);
    expect(count(policy, 5, { consumer: "other" })).toBe(5);
    expect(count(policy, 5)).toBe(5);
  });
  test("the local path answers synchronously", () => {
    const { policy } = setup(route("r", [limit({ id: "r#0", algorithm: "token_bucket", limit: 1 })]));
    expect(send(policy).res).toBeUndefined();
    expect(send(policy).res).toBeInstanceOf(Response);
  });
});

describe("headers (draft-ietf-httpapi-ratelimit-headers)", () => {
  test("admitted: RateLimit-Policy lists every limit, RateLimit names the most restrictive, legacy fields", () => {
    const { policy } = setup(
      route("users", [
        limit({ id: "users#0", algorithm: "fixed_window", limit: 100, window: 60_000 }),
        limit({ id: "users#1", algorithm: "fixed_window", limit: 3, window: DAY }),
      ]),
    );
    const { c, res } = send(policy);
    expect(res).toBeUndefined();
    const pol = parseSfList(header(c, "ratelimit-policy")!);
    expect(pol).toEqual([
      { value: "users#0", kind: "string", params: { q: 100, w: 60 } },
      { value: "users#1", kind: "string", params: { q: 3, w: 86400 } },
    ]);
    const rl = parseSfList(header(c, "ratelimit")!);
    expect(rl).toHaveLength(1);
    expect(rl[0]!.value).toBe("users#1");
    expect(rl[0]!.params.r).toBe(2);
    expect(rl[0]!.params.t).toBe(86400 - 1); // 1 s after midnight → 86399 s to go
    expect(header(c, "x-ratelimit-limit")).toBe("3");
    expect(header(c, "x-ratelimit-remaining")).toBe("2");
    expect(header(c, "x-ratelimit-reset")).toBe("86399");
  });

  test("legacy_headers = false drops the X- fields only", () => {
    const { policy } = setup(route("r", [limit({ id: "r#0", algorithm: "fixed_window", limit: 5 })]), [], { legacy: false });
    const { c } = send(policy);
    expect(header(c, "ratelimit")).toBeDefined();
    expect(header(c, "x-ratelimit-limit")).toBeUndefined();
  });

  test("concurrency limits advertise their quota unit", () => {
    const { policy } = setup(route("r", [limit({ id: "r#0", algorithm: "concurrency", limit: 4 })]));
    const { c } = send(policy);
    expect(parseSfList(header(c, "ratelimit-policy")!)[0]!.params).toEqual({ q: 4, qu: "concurrent-requests" });
  });

  test("429: JSON body, Retry-After rounded up, RateLimit t equal to Retry-After", async () => {
    const clk = clock(T0 + 58_500); // 1.5 s before the minute ends
    const { policy } = setup(route("r", [limit({ id: "r#0", algorithm: "fixed_window", limit: 1, window: 60_000 })]), [], { now: clk.now });
    send(policy);
    const { c, res } = send(policy, { requestId: "abc-123" });
    expect(res).toBeInstanceOf(Response);
    const r = res as Response;
    expect(r.status).toBe(429);
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(r.headers.get("retry-after")).toBe("2");
    expect(await r.json()).toEqual({
      error: "rate_limited",
      message: expect.any(String),
      limit: 1,
      window: 60,
      retry_after: 2,
      request_id: "abc-123",
    });
    expect(parseSfList(r.headers.get("ratelimit")!)).toEqual([{ value: "r#0", kind: "string", params: { r: 0, t: 2 } }]);
    expect(parseSfList(r.headers.get("ratelimit-policy")!)[0]!.params).toEqual({ q: 1, w: 60 });
    expect(r.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(c.responseHeaders).toBeNull(); // the 429 carries its own headers
  });

  test("Retry-After is at least 1 even when the wait is under a second", () => {
    const { policy } = setup(route("r", [limit({ id: "r#0", algorithm: "token_bucket", limit: 100, window: 1000, burst: 1 })]));
    send(policy);
    const r = send(policy).res as Response;
    expect(r.headers.get("retry-after")).toBe("1");
  });

  test("ids with quotes and backslashes stay valid Structured Fields strings", () => {
    const { policy } = setup(route("r", [limit({ id: 'we"ird\\id', algorithm: "fixed_window", limit: 5 })]));
    const { c } = send(policy);
    expect(parseSfList(header(c, "ratelimit")!)[0]!.value).toBe('we"ird\\id');
  });
});

describe("several limits per route", () => {
  test("all must pass, and a refused request consumes from none", () => {
    const clk = clock(T0 + 1000);
    const { runtime, policy } = setup(
      route("r", [
        limit({ id: "r#ip", algorithm: "fixed_window", limit: 10, key: ["ip"] }),
        limit({ id: "r#user", algorithm: "token_bucket", limit: 2, window: 3_600_000, key: ["header:x-user"] }),
      ]),
      [],
      { now: clk.now },
    );
    // Each user gets 2; the IP-wide limit counts only admitted requests.
    let admitted = 0;
    for (let u = 0; u < 10; u++) admitted += count(policy, 5, { headers: { "x-user": `u${u}` } });
    expect(admitted).toBe(10);
    // Had the 30 refusals been counted by r#ip, u0..u4 alone would have used it up.
    expect(count(policy, 3, { headers: { "x-user": "late" } })).toBe(0);
    void runtime;
  });

  test("the first limit refusing leaves the second untouched", () => {
    const { policy } = setup(
      route("r", [
        limit({ id: "r#a", algorithm: "fixed_window", limit: 1, key: ["header:x-a"] }),
        limit({ id: "r#b", algorithm: "fixed_window", limit: 3, key: ["ip"] }),
      ]),
    );
    expect(count(policy, 5, { headers: { "x-a": "1" } })).toBe(1);
    expect(count(policy, 5, { headers: { "x-a": "2" } })).toBe(1);
    expect(count(policy, 5, { headers: { "x-a": "3" } })).toBe(1);
    expect(count(policy, 5, { headers: { "x-a": "4" } })).toBe(0);
  });
});

describe("consumer overrides", () => {
  test("a consumer with limits gets them instead of the route's", () => {
    const { policy } = setup(route("r", [limit({ id: "r#0", algorithm: "fixed_window", limit: 2, key: ["consumer"] })]), [
      consumer("gold", [limit({ id: "gold#0", algorithm: "fixed_window", limit: 5, key: ["consumer"] })]),
    ]);
    expect(count(policy, 10, { consumer: "gold" })).toBe(5);
    expect(count(policy, 10, { consumer: "silver" })).toBe(2);
    const { c } = send(policy, { consumer: "bronze" });
    expect(parseSfList(header(c, "ratelimit-policy")!)[0]!.value).toBe("r#0");
  });
});

describe("leaky bucket delay", () => {
  test("delay = true holds queued requests until their turn; beyond burst is refused", async () => {
    const { policy } = setup(route("r", [limit({ id: "r#0", algorithm: "leaky_bucket", limit: 20, window: 1000, burst: 2, delay: true })]), [], { now: Date.now });
    const t0 = performance.now();
    const first = send(policy).res;
    expect(first).toBeUndefined();
    const second = send(policy).res;
    const third = send(policy).res;
    const fourth = send(policy).res;
    expect(second).toBeInstanceOf(Promise);
    expect(third).toBeInstanceOf(Promise);
    expect((fourth as Response).status).toBe(429);
    const ends: number[] = [];
    await Promise.all([second, third].map((p) => (p as Promise<unknown>).then((v) => (expect(v).toBeUndefined(), ends.push(performance.now() - t0)))));
    ends.sort((a, b) => a - b);
    expect(ends[0]!).toBeGreaterThanOrEqual(45);
    expect(ends[1]!).toBeGreaterThanOrEqual(95);
    expect(ends[1]!).toBeLessThan(1000);
  });
  test("delay = false (nodelay) admits the burst at once", () => {
    const { policy } = setup(route("r", [limit({ id: "r#0", algorithm: "leaky_bucket", limit: 20, window: 1000, burst: 2 })]));
    const results = [0, 1, 2, 3].map(() => send(policy).res);
    expect(results.slice(0, 3)).toEqual([undefined, undefined, undefined]);
    expect((results[3] as Response).status).toBe(429);
  });
});

describe("concurrency release", () => {
  test("released when the exchange ends; a second release does nothing", () => {
    const { policy } = setup(route("r", [limit({ id: "r#0", algorithm: "concurrency", limit: 2 })]));
    const a = send(policy);
    const b = send(policy);
    expect(a.res).toBeUndefined();
    expect(b.res).toBeUndefined();
    expect(a.c.cleanups).toHaveLength(1);
    expect((send(policy).res as Response).status).toBe(429);
    runCleanups(a.c);
    runCleanups(a.c); // idempotent: must not free b's unit
    const c = send(policy);
    expect(c.res).toBeUndefined();
    expect((send(policy).res as Response).status).toBe(429);
    runCleanups(b.c);
    runCleanups(c.c);
    expect(count(policy, 3)).toBe(2);
  });
  test("a refused request registers no cleanup", () => {
    const { policy } = setup(route("r", [limit({ id: "r#0", algorithm: "concurrency", limit: 1 })]));
    send(policy);
    expect(send(policy).c.cleanups).toBeNull();
  });
});

describe("adaptive limits", () => {
  test("factor falls linearly past the threshold down to min_factor", () => {
    expect(lagFactor(10, 50, 0.2)).toBe(1);
    expect(lagFactor(50, 50, 0.2)).toBe(1);
    expect(lagFactor(75, 50, 0.2)).toBeCloseTo(0.6);
    expect(lagFactor(100, 50, 0.2)).toBeCloseTo(0.2);
    expect(lagFactor(1000, 50, 0.2)).toBe(0.2);
  });
  test("the effective limit shrinks under lag and recovers", () => {
    const clk = clock(T0);
    const { runtime, policy } = setup(
      route("r", [limit({ id: "r#0", algorithm: "fixed_window", limit: 10, window: 1000, adaptive: { lag_threshold: 50, min_factor: 0.2 } })]),
      [],
      { now: clk.now },
    );
    runtime.lag().observe(100); // 2 × threshold → factor 0.2
    expect(count(policy, 10)).toBe(2);
    const { c } = send(policy, { ip: "192.0.2.77" });
    expect(header(c, "x-ratelimit-limit")).toBe("2");
    for (let i = 0; i < 30; i++) runtime.lag().observe(0); // recovered
    clk.advance(1000);
    expect(count(policy, 20)).toBe(10);
    void runtime.close();
  });
  test("the monitor measures real event-loop lag", async () => {
    const mon = startLagMonitor(10);
    await Bun.sleep(30);
    const spin = performance.now();
    while (performance.now() - spin < 120) {
      /* block the loop */
    }
    await Bun.sleep(12); // the first tick after the block sees it ~100 ms late
    expect(mon.lagMs).toBeGreaterThan(50);
    mon.stop();
  });
});
