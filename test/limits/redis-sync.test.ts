import { until } from "../helpers/wait.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import type { RateLimitConfig, RedisConfig } from "../../src/config/types.ts";
import type { Policy } from "../../src/policies/types.ts";
import { allocateLimiterShared, createLimiterRuntime, startLimiterSync, type LimiterRuntime } from "../../src/limits/index.ts";
import { createRateLimitPolicy } from "../../src/policies/rate-limit/policy.ts";
import { H_REDIS_STATE, H_SYNC_ROUNDS, REDIS_DOWN, REDIS_UP } from "../../src/limits/slot-table.ts";
import { startRedis, type RedisProcess } from "../helpers/redis.ts";
import { ctx, gatewayConfig, limit, redisConfig, route, runCleanups } from "./helpers.ts";

let redis: RedisProcess;
let admin: Redis;
const open: { close(): Promise<void> | void }[] = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
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
  i32: Int32Array;
  /** Resolves after `n` more completed sync rounds. */
  rounds(n: number): Promise<void>;
}

async function instance(limits: RateLimitConfig[], cfg: RedisConfig): Promise<Instance> {
  const r = route("r", limits);
  const config = gatewayConfig({ routes: [r], redis: cfg });
  const shared = allocateLimiterShared(config);
  const runtime = createLimiterRuntime(config, shared);
  const sync = startLimiterSync(config, shared);
  open.push({ close: () => runtime.close() }, { close: () => sync.stop() });
  const i32 = new Int32Array(shared);
  await until("Redis marked up", () => Atomics.load(i32, H_REDIS_STATE) === REDIS_UP);
  return {
    runtime,
    policy: createRateLimitPolicy(r, [], runtime)!,
    i32,
    rounds: (n) => {
      const target = Atomics.load(i32, H_SYNC_ROUNDS) + n;
      return until("sync rounds done", () => Atomics.load(i32, H_SYNC_ROUNDS) >= target);
    },
  };
}

/**
 * Both instances send `perTick` requests every 10 ms for `ms`: a steady,
 * bounded load. Returns admissions per instance.
 */
async function steadyLoad(a: Policy, b: Policy, perTick: number, ms: number): Promise<[number, number]> {
  let x = 0;
  let y = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < perTick; i++) {
      if (a.onRequest!(ctx()) === undefined) x++;
      if (b.onRequest!(ctx()) === undefined) y++;
    }
    await Bun.sleep(10);
  }
  if (process.env.LIMITS_VERBOSE) console.log(`sync load: admitted ${x} + ${y} = ${x + y}`);
  return [x, y];
}

const INTERVAL = 50;
/**
 * The documented bound: instances × per-instance rate × (interval + slack for
 * the round trip and timer jitter on a busy 2-core machine).
 * LIMITS_VERBOSE=1 prints the admissions seen.
 */
function bound(perTick: number): number {
  const ratePerMs = perTick / 10;
  return Math.ceil(2 * ratePerMs * (INTERVAL + 100));
}

describe("sync mode: local decisions, cluster totals folded in", () => {
  test("fixed_window: two instances stay within limit + the sync bound", async () => {
    const cfg = redisConfig(redis.url, { mode: "sync", sync_interval: INTERVAL });
    const lims = [limit({ id: "sync#fixed", algorithm: "fixed_window", limit: 100, window: 3_600_000 })];
    const [a, b] = await Promise.all([instance(lims, cfg), instance(lims, cfg)]);
    const [x, y] = await steadyLoad(a.policy, b.policy, 2, 1200);
    expect(x + y).toBeGreaterThanOrEqual(100);
    expect(x + y).toBeLessThanOrEqual(100 + bound(2));
    // Both learned the cluster total: neither admits any more.
    await Promise.all([a.rounds(2), b.rounds(2)]);
    expect(a.policy.onRequest!(ctx())).toBeInstanceOf(Response);
    expect(b.policy.onRequest!(ctx())).toBeInstanceOf(Response);
    // Same hash seeds on both instances: one Redis key holds the cluster's count.
    const keys = await admin.keys(`${cfg.key_prefix}rl:sync#fixed:h*`);
    const hashes = new Set(keys.map((k) => k.split(":").at(-2)));
    expect(hashes.size).toBe(1);
    let total = 0;
    for (const k of keys) {
      total += Number(await admin.get(k));
      expect(await admin.pttl(k)).toBeGreaterThan(0);
    }
    expect(total).toBe(x + y);
  });

  test("sliding_window within the bound", async () => {
    const cfg = redisConfig(redis.url, { mode: "sync", sync_interval: INTERVAL });
    const lims = [limit({ id: "sync#sliding", algorithm: "sliding_window", limit: 80, window: 3_600_000 })];
    const [a, b] = await Promise.all([instance(lims, cfg), instance(lims, cfg)]);
    const [x, y] = await steadyLoad(a.policy, b.policy, 2, 1000);
    expect(x + y).toBeGreaterThanOrEqual(80);
    expect(x + y).toBeLessThanOrEqual(80 + bound(2));
  });

  test("token_bucket within the bound", async () => {
    const cfg = redisConfig(redis.url, { mode: "sync", sync_interval: INTERVAL });
    const lims = [limit({ id: "sync#tb", algorithm: "token_bucket", limit: 80, window: 3_600_000 })];
    const [a, b] = await Promise.all([instance(lims, cfg), instance(lims, cfg)]);
    const [x, y] = await steadyLoad(a.policy, b.policy, 2, 1000);
    expect(x + y).toBeGreaterThanOrEqual(80);
    expect(x + y).toBeLessThanOrEqual(80 + bound(2));
  });

  test("concurrency: in-flight requests of the other instance count", async () => {
    const cfg = redisConfig(redis.url, { mode: "sync", sync_interval: INTERVAL });
    const lims = [limit({ id: "sync#conc", algorithm: "concurrency", limit: 4, window: 60_000 })];
    const [a, b] = await Promise.all([instance(lims, cfg), instance(lims, cfg)]);
    const ca = ctx();
    const cb = ctx();
    expect(a.policy.onRequest!(ca)).toBeUndefined();
    expect(b.policy.onRequest!(cb)).toBeUndefined();
    await Promise.all([a.rounds(3), b.rounds(3)]);
    // 4 - 1 here - 1 there = 2 more on A.
    const more = [0, 1, 2, 3].map(() => ctx());
    expect(more.filter((c) => a.policy.onRequest!(c) === undefined)).toHaveLength(2);
    runCleanups(cb);
    await Promise.all([a.rounds(3), b.rounds(3)]);
    expect(a.policy.onRequest!(ctx())).toBeUndefined();
    for (const c of [ca, ...more]) runCleanups(c);
  });
});

describe("sync mode: Redis failures", () => {
  test("killed: deny while down, deltas kept, shared again after restart", async () => {
    const cfg = redisConfig(redis.url, { mode: "sync", sync_interval: INTERVAL, on_error: "deny" });
    const lims = [limit({ id: "sync#down", algorithm: "fixed_window", limit: 50, window: 3_600_000 })];
    const a = await instance(lims, cfg);
    let ok = 0;
    for (let i = 0; i < 5; i++) if (a.policy.onRequest!(ctx()) === undefined) ok++;
    expect(ok).toBe(5);
    await a.rounds(1);
    await redis.kill();
    await until("Redis marked down", () => Atomics.load(a.i32, H_REDIS_STATE) === REDIS_DOWN);
    const denied = a.policy.onRequest!(ctx());
    expect((denied as Response).status).toBe(429);
    await redis.restart();
    await until("Redis marked up again", () => Atomics.load(a.i32, H_REDIS_STATE) === REDIS_UP, 8000);
    expect(a.policy.onRequest!(ctx())).toBeUndefined();
    await a.rounds(2);
    // The restarted server lost the old total; this instance's admission since is pushed again.
    const keys = await admin.keys(`${cfg.key_prefix}rl:sync#down:h*`);
    expect(keys.length).toBeGreaterThan(0);
  });

  test("on_error local: limit ÷ live instances while down, no throw", async () => {
    const cfg = redisConfig(redis.url, { mode: "sync", sync_interval: INTERVAL, on_error: "local" });
    const lims = [limit({ id: "sync#share", algorithm: "fixed_window", limit: 40, window: 3_600_000 })];
    const [a, b] = await Promise.all([instance(lims, cfg), instance(lims, cfg)]);
    await Promise.all([a.rounds(2), b.rounds(2)]);
    await redis.kill();
    await until("Redis marked down", () => Atomics.load(a.i32, H_REDIS_STATE) === REDIS_DOWN);
    let ok = 0;
    for (let i = 0; i < 40; i++) if (a.policy.onRequest!(ctx({ ip: "192.0.2.9" })) === undefined) ok++;
    expect(ok).toBe(20);
    await redis.restart();
    await until("Redis marked up again", () => Atomics.load(a.i32, H_REDIS_STATE) === REDIS_UP, 8000);
  });
});
