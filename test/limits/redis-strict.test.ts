import { until } from "../helpers/wait.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import type { RateLimitConfig, RedisConfig } from "../../src/config/types.ts";
import type { Policy } from "../../src/policies/types.ts";
import { allocateLimiterShared, createLimiterRuntime, startLimiterSync, type LimiterRuntime, type LimiterSync } from "../../src/limits/index.ts";
import { createRateLimitPolicy } from "../../src/policies/rate-limit/policy.ts";
import { H_LIVE_INSTANCES } from "../../src/limits/slot-table.ts";
import { startRedis, type RedisProcess } from "../helpers/redis.ts";
import { ctx, gatewayConfig, limit, redisConfig, route, runCleanups, type CtxInit } from "./helpers.ts";

let redis: RedisProcess;
let admin: Redis;
const open: { close(): Promise<void> | void }[] = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  admin.on("error", () => {});
});
afterAll(async () => {
  for (const o of open) await o.close();
  admin.disconnect();
  await redis.stop();
});


interface Instance {
  runtime: LimiterRuntime;
  policy: Policy;
  shared: SharedArrayBuffer;
  sync: LimiterSync;
}

/** One "gateway instance": its own table, runtime (worker) and main-thread loop. */
async function instance(limits: RateLimitConfig[], cfg: RedisConfig): Promise<Instance> {
  const r = route("r", limits);
  const config = gatewayConfig({ routes: [r], redis: cfg });
  const shared = allocateLimiterShared(config);
  const runtime = createLimiterRuntime(config, shared);
  const sync = startLimiterSync(config, shared);
  open.push({ close: () => runtime.close() }, { close: () => sync.stop() });
  await until("strict connection ready", () => runtime.strict!.ready);
  return { runtime, policy: createRateLimitPolicy(r, [], runtime)!, shared, sync };
}

async function admittedBy(policy: Policy, n: number, init: CtxInit = {}): Promise<number> {
  const results = await Promise.all(Array.from({ length: n }, () => policy.onRequest!(ctx(init))));
  return results.filter((r) => r === undefined).length;
}

describe("strict mode: exact across instances", () => {
  const cases: [string, Parameters<typeof limit>[0], number][] = [
    ["fixed_window", { algorithm: "fixed_window", limit: 25, window: 3_600_000 }, 25],
    ["sliding_window", { algorithm: "sliding_window", limit: 25, window: 3_600_000 }, 25],
    ["token_bucket", { algorithm: "token_bucket", limit: 25, window: 3_600_000 }, 25],
    ["leaky_bucket nodelay", { algorithm: "leaky_bucket", limit: 2, window: 3_600_000, burst: 24 }, 25],
    ["concurrency", { algorithm: "concurrency", limit: 25, window: 60_000 }, 25],
  ];
  for (const [name, cfg, expected] of cases) {
    test(name, async () => {
      const rc = redisConfig(redis.url);
      const lims = [limit({ id: `strict#${name}`, ...cfg })];
      const [a, b] = await Promise.all([instance(lims, rc), instance(lims, rc)]);
      const [x, y] = await Promise.all([admittedBy(a.policy, 40), admittedBy(b.policy, 40)]);
      expect(x + y).toBe(expected);
    });
  }

  test("keys are <prefix>rl:{<key>}:<limit id> (one key form per owner) and expire", async () => {
    const rc = redisConfig(redis.url);
    const a = await instance([limit({ id: "strict#keys", algorithm: "fixed_window", limit: 5, window: 60_000 })], rc);
    await a.policy.onRequest!(ctx({ ip: "192.0.2.5" }));
    const key = `${rc.key_prefix}rl:{i9:192.0.2.5}:strict#keys`;
    expect(await admin.hget(key, "c")).toBe("1");
    const ttl = await admin.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(61_000);
  });

  test("several limits: a refused request consumes from none, across instances", async () => {
    const rc = redisConfig(redis.url);
    const lims = [
      limit({ id: "strict#ip", algorithm: "fixed_window", limit: 10, key: ["ip"] }),
      limit({ id: "strict#user", algorithm: "fixed_window", limit: 2, key: ["header:x-user"] }),
    ];
    const [a, b] = await Promise.all([instance(lims, rc), instance(lims, rc)]);
    let admitted = 0;
    for (let u = 0; u < 10; u++) {
      const init = { headers: { "x-user": `u${u}` } };
      admitted += (await admittedBy(a.policy, 2, init)) + (await admittedBy(b.policy, 2, init));
    }
    expect(admitted).toBe(10);
    // Mixed key parts: the owner ("strict") is the hash tag, so both keys share a Cluster slot.
    expect(await admin.hget(`${rc.key_prefix}rl:{@strict}:strict#ip:i9:192.0.2.1`, "c")).toBe("10");
    expect(await admin.exists(`${rc.key_prefix}rl:{@strict}:strict#user:h2:u0`)).toBe(1);
  });

  test("concurrency leases are released, once", async () => {
    const rc = redisConfig(redis.url);
    const a = await instance([limit({ id: "strict#conc", algorithm: "concurrency", limit: 1, window: 60_000 })], rc);
    const c1 = ctx();
    expect(await a.policy.onRequest!(c1)).toBeUndefined();
    expect(((await a.policy.onRequest!(ctx())) as Response).status).toBe(429);
    runCleanups(c1);
    runCleanups(c1);
    await Bun.sleep(20); // the ZREM is sent in the background
    expect(await a.policy.onRequest!(ctx())).toBeUndefined();
  });

  test("NOSCRIPT after SCRIPT FLUSH: the script is loaded again and counting stays exact", async () => {
    const rc = redisConfig(redis.url);
    const a = await instance([limit({ id: "strict#flush", algorithm: "fixed_window", limit: 10, window: 3_600_000 })], rc);
    expect(await admittedBy(a.policy, 4)).toBe(4);
    await admin.script("FLUSH");
    expect(await admittedBy(a.policy, 10)).toBe(6);
  });
});

describe("strict mode: Redis failures", () => {
  test("killed mid-run: on_error local/allow/deny without throwing, shared limits again after restart", async () => {
    const lims = [limit({ id: "strict#fail", algorithm: "fixed_window", limit: 20, window: 3_600_000 })];
    const local = redisConfig(redis.url, { on_error: "local" });
    const [l1, l2] = await Promise.all([instance(lims, local), instance(lims, local)]);
    const allow = await instance(lims, redisConfig(redis.url, { on_error: "allow" }));
    const deny = await instance(lims, redisConfig(redis.url, { on_error: "deny" }));
    // Heartbeats under the pair's key_prefix: each learns there are 2 live instances.
    await until("both instances counted live", () => Atomics.load(new Int32Array(l1.shared), H_LIVE_INSTANCES) === 2 && Atomics.load(new Int32Array(l2.shared), H_LIVE_INSTANCES) === 2, 4000);
    expect(await admittedBy(l1.policy, 3)).toBe(3); // shared count: 3 of 20

    await redis.kill();
    await until("every strict connection down", () => !l1.runtime.strict!.ready && !l2.runtime.strict!.ready && !allow.runtime.strict!.ready && !deny.runtime.strict!.ready);
    // local: each instance limits at its share, 20 / 2 = 10, synchronously, never throwing.
    const sync = l1.policy.onRequest!(ctx());
    expect(sync).toBeUndefined();
    expect(await admittedBy(l1.policy, 15)).toBe(9);
    expect(await admittedBy(l2.policy, 15)).toBe(10);
    expect(await admittedBy(allow.policy, 50)).toBe(50);
    const denied = await deny.policy.onRequest!(ctx());
    expect((denied as Response).status).toBe(429);
    expect((denied as Response).headers.get("retry-after")).toBe("1");

    await redis.restart();
    await until("strict connections back", () => l1.runtime.strict!.ready && deny.runtime.strict!.ready, 8000);
    // Back to the shared count (the restarted server is empty): exactly 20 across both.
    const [x, y] = await Promise.all([admittedBy(l1.policy, 15), admittedBy(l2.policy, 15)]);
    expect(x + y).toBe(20);
    expect(await deny.policy.onRequest!(ctx({ ip: "192.0.2.200" }))).toBeUndefined();
  });

  test("a command timeout falls back instead of waiting", async () => {
    const lims = [limit({ id: "strict#slow", algorithm: "fixed_window", limit: 5, window: 3_600_000 })];
    const a = await instance(lims, redisConfig(redis.url, { on_error: "allow", command_timeout: 50 }));
    // Hold the server busy for 300 ms; our call must give up at ~50 ms and allow.
    const blocker = new Redis(redis.url);
    blocker.on("error", () => {});
    const busy = blocker.eval("local t = redis.call('TIME'); local s = t[1] * 1000000 + t[2]; while true do local n = redis.call('TIME'); if n[1] * 1000000 + n[2] - s > 300000 then break end end return 1", 0);
    await Bun.sleep(20);
    const t0 = performance.now();
    const res = await a.policy.onRequest!(ctx());
    const took = performance.now() - t0;
    expect(res).toBeUndefined();
    expect(took).toBeLessThan(250);
    await busy.catch(() => {});
    blocker.disconnect();
  });
});
