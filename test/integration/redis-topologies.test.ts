import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Cluster } from "ioredis";
import { allocateAuthShared, createAuthRuntime, RevocationSet, startRevocationSync, type AuthRuntime, type RevocationController } from "../../src/auth/index.ts";
import type { RateLimitConfig, RedisConfig } from "../../src/config/types.ts";
import { allocateLimiterShared, createLimiterRuntime, startLimiterSync } from "../../src/limits/index.ts";
import { createRateLimitPolicy } from "../../src/policies/rate-limit/policy.ts";
import { H_LIVE_INSTANCES, H_SYNC_ROUNDS } from "../../src/limits/slot-table.ts";
import type { Policy } from "../../src/policies/types.ts";
import { createRedisClient } from "../../src/util/redis.ts";
import { consumer as authConsumer, gatewayConfig as authGatewayConfig } from "../auth/helpers.ts";
import { startCluster, startSentinel, type ClusterSetup, type SentinelSetup } from "../helpers/redis.ts";
import { until } from "../helpers/wait.ts";
import { ctx, gatewayConfig, limit, redisConfig, route, type CtxInit } from "../limits/helpers.ts";

/**
 * The Redis features through Sentinel and Cluster URLs, against real
 * servers: one master + one sentinel, and a 3-master Redis Cluster.
 */

let sentinel: SentinelSetup;
let cluster: ClusterSetup;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  [sentinel, cluster] = await Promise.all([startSentinel({ replica: true }), startCluster()]);
}, 20_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await Promise.all([sentinel?.stop(), cluster?.stop()]);
});

interface LimiterInstance {
  policy: Policy;
  shared: SharedArrayBuffer;
  rounds(n: number): Promise<void>;
}

/** One gateway instance's limiter: shared table, a worker runtime, the main-thread loop. */
async function limiter(limits: RateLimitConfig[], cfg: RedisConfig, routeName = "r"): Promise<LimiterInstance> {
  const r = route(routeName, limits);
  const config = gatewayConfig({ routes: [r], redis: cfg });
  const shared = allocateLimiterShared(config);
  const runtime = createLimiterRuntime(config, shared);
  const sync = startLimiterSync(config, shared);
  cleanups.push(() => runtime.close(), () => sync.stop());
  if (runtime.strict) await until("strict connection ready", () => runtime.strict!.ready, 5000);
  const i32 = new Int32Array(shared);
  return {
    policy: createRateLimitPolicy(r, [], runtime)!,
    shared,
    rounds: (n) => {
      const target = Atomics.load(i32, H_SYNC_ROUNDS) + n;
      return until("sync rounds done", () => Atomics.load(i32, H_SYNC_ROUNDS) >= target, 5000);
    },
  };
}

async function admittedBy(policy: Policy, n: number, init: CtxInit = {}): Promise<number> {
  const results = await Promise.all(Array.from({ length: n }, () => policy.onRequest!(ctx(init))));
  return results.filter((r) => r === undefined).length;
}

const topologies: [string, () => string][] = [
  ["sentinel", () => sentinel.url],
  ["cluster", () => cluster.url],
];

for (const [name, url] of topologies) {
  describe(`${name}: strict mode is exact across two instances`, () => {
    const cases: [string, Parameters<typeof limit>[0]][] = [
      ["fixed_window", { algorithm: "fixed_window", limit: 25, window: 3_600_000 }],
      ["sliding_window", { algorithm: "sliding_window", limit: 25, window: 3_600_000 }],
      ["token_bucket", { algorithm: "token_bucket", limit: 25, window: 3_600_000, burst: 25 }],
      ["concurrency", { algorithm: "concurrency", limit: 25, window: 60_000 }],
    ];
    for (const [algo, cfg] of cases) {
      test(algo, async () => {
        const rc = redisConfig(url(), { mode: "strict", command_timeout: 500 });
        const lims = [limit({ ...cfg, id: `${name}-${algo}#0` })];
        const [a, b] = await Promise.all([limiter(lims, rc), limiter(lims, rc)]);
        const [x, y] = await Promise.all([admittedBy(a.policy, 40), admittedBy(b.policy, 40)]);
        expect(x + y).toBe(25);
      });
    }

    test("mixed key parts: one script over both keys, a refused request consumes from none", async () => {
      const rc = redisConfig(url(), { mode: "strict", command_timeout: 500 });
      const lims = [
        limit({ id: `${name}-mixed#0`, algorithm: "fixed_window", limit: 10, key: ["ip"], window: 3_600_000 }),
        limit({ id: `${name}-mixed#1`, algorithm: "fixed_window", limit: 2, key: ["header:x-user"], window: 3_600_000 }),
      ];
      const [a, b] = await Promise.all([limiter(lims, rc), limiter(lims, rc)]);
      let admitted = 0;
      for (let u = 0; u < 10; u++) {
        const init = { headers: { "x-user": `u${u}` } };
        admitted += (await admittedBy(a.policy, 2, init)) + (await admittedBy(b.policy, 2, init));
      }
      // 10 by the IP limit: each user got 2 until the IP's 10 ran out, and the refusals took nothing.
      expect(admitted).toBe(10);
      const admin = createRedisClient(rc, "test-admin");
      cleanups.push(() => admin.disconnect());
      await until("admin ready", () => admin.status === "ready", 5000);
      expect(await admin.hget(`${rc.key_prefix}rl:{@${name}-mixed}:${name}-mixed#0:i9:192.0.2.1`, "c")).toBe("10");
    });
  });

  describe(`${name}: revocation`, () => {
    test("two instances converge through pub/sub (polling slowed to 60 s), then by polling", async () => {
      const KEY = "k_topology_topology_topology_topo";
      const prefix = `rv${Math.random().toString(36).slice(2, 8)}:`;
      const make = (pollInterval: number) => {
        const config = authGatewayConfig({ consumers: [authConsumer("app", [KEY])], redis: { url: url(), key_prefix: prefix, command_timeout: 500 } });
        const shared = allocateAuthShared(config);
        const runtime: AuthRuntime = createAuthRuntime(config, shared);
        const control: RevocationController = startRevocationSync(config, shared, { pollInterval });
        cleanups.push(() => control.stop(), () => runtime.close());
        return { runtime, control, set: new RevocationSet(shared) };
      };
      const keyStatus = (inst: { runtime: AuthRuntime }) => {
        const r = inst.runtime.apiKeys.authenticate(KEY);
        return r.failed ? r.reason : "ok";
      };
      const a = make(60_000);
      const b = make(60_000);
      await Promise.all([a.control.ready, b.control.ready]);
      expect(a.control.lastError).toBeNull();
      // The subscriber connects on its own; give it a moment to be subscribed.
      await Bun.sleep(300);
      expect(await a.control.revoke("api_key", KEY)).toBe(true);
      expect(keyStatus(a)).toBe("API key revoked");
      await until("b refuses the key (pub/sub)", () => keyStatus(b) === "API key revoked", 3000);
      expect(await b.control.unrevoke("api_key", KEY)).toBe(true);
      await until("a accepts the key again (pub/sub)", () => keyStatus(a) === "ok", 3000);

      // A third instance that only polls, and a change written straight into Redis.
      const c = make(200);
      await c.control.ready;
      const admin = createRedisClient({ url: url(), command_timeout: 500 }, "test-admin");
      cleanups.push(() => admin.disconnect());
      await until("admin ready", () => admin.status === "ready", 5000);
      await admin.sadd(`${prefix}revoked:jti`, "polled-jti");
      await until("c pulls the quiet change", () => c.set.isRevoked("jti", "polled-jti"), 3000);
      expect(c.control.lastError).toBeNull();
    });
  });
}

describe("sentinel: failover", () => {
  test("strict decisions resume on the promoted replica, counts kept", async () => {
    const rc = redisConfig(sentinel.url, { mode: "strict", command_timeout: 500 });
    const lims = [limit({ id: "failover#0", algorithm: "fixed_window", limit: 25, window: 3_600_000 })];
    const a = await limiter(lims, rc);
    expect(await admittedBy(a.policy, 10)).toBe(10);
    const admin = createRedisClient(rc, "test-admin");
    cleanups.push(() => admin.disconnect());
    await until("admin ready", () => admin.status === "ready", 5000);
    // Replication is asynchronous: make sure the replica has the counts before the crash.
    expect(await admin.call("WAIT", "1", "2000")).toBe(1);
    await sentinel.master.kill();
    // While the master is gone, decisions fall back (on_error = local): no throw, no hang.
    const during = a.policy.onRequest!(ctx({ ip: "203.0.113.9" }));
    expect(during === undefined || during instanceof Response || during instanceof Promise).toBe(true);
    await during;
    await until(
      "sentinel promoted the replica",
      async () => {
        const addr = (await Bun.$`redis-cli -h 127.0.0.1 -p ${sentinel.sentinelPort} SENTINEL get-master-addr-by-name ${sentinel.masterName}`.text()).trim();
        return addr.endsWith(String(sentinel.replicaPort));
      },
      15_000,
    );
    // The client follows the sentinel to the new master; the script is re-sent there (NOSCRIPT → EVAL).
    await until("limiter reconnected", () => admin.status === "ready", 10_000);
    await until(
      "decisions from Redis again",
      async () => {
        await admittedBy(a.policy, 1);
        const c = await admin.hget(`${rc.key_prefix}rl:{i9:192.0.2.1}:failover#0`, "c");
        return c !== null && Number(c) > 10;
      },
      10_000,
    );
    await admittedBy(a.policy, 40);
    // 10 before, the rest after: 25 in all, as on one server.
    expect(await admin.hget(`${rc.key_prefix}rl:{i9:192.0.2.1}:failover#0`, "c")).toBe("25");
  }, 25_000);
});

describe("cluster: key placement and sync mode", () => {
  test("uniform key parts: one route's counters spread over the nodes by client", async () => {
    const rc = redisConfig(cluster.url, { mode: "strict", command_timeout: 500 });
    const uniform = await limiter([limit({ id: "spread#0", algorithm: "fixed_window", limit: 5, window: 3_600_000 })], rc, "spread");
    for (let i = 0; i < 30; i++) await uniform.policy.onRequest!(ctx({ ip: `198.51.100.${i}` }));
    const admin = createRedisClient(rc, "test-admin") as Cluster;
    cleanups.push(() => admin.disconnect());
    await until("admin ready", () => admin.status === "ready", 5000);
    const perNode = await Promise.all(admin.nodes("master").map((n) => n.keys(`${rc.key_prefix}rl:*`)));
    expect(perNode.flat().length).toBe(30);
    expect(perNode.filter((keys) => keys.length > 0).length).toBe(3);
  });

  test("sync mode: two instances stay within limit + the sync bound; heartbeats count both", async () => {
    const INTERVAL = 50;
    const rc = redisConfig(cluster.url, { mode: "sync", sync_interval: INTERVAL, command_timeout: 500 });
    // Many keys (one per IP) so the round's commands span every node.
    const lims = [limit({ id: "csync#0", algorithm: "fixed_window", limit: 100, window: 3_600_000, key: ["header:x-k"] })];
    const [a, b] = await Promise.all([limiter(lims, rc), limiter(lims, rc)]);
    await Promise.all([a.rounds(2), b.rounds(2)]);
    await until(
      "both instances counted live",
      () => Atomics.load(new Int32Array(a.shared), H_LIVE_INSTANCES) === 2 && Atomics.load(new Int32Array(b.shared), H_LIVE_INSTANCES) === 2,
      4000,
    );
    // Spread other keys over the slots too: each round pushes to several nodes.
    for (let i = 0; i < 20; i++) a.policy.onRequest!(ctx({ headers: { "x-k": `other-${i}` } }));
    const perTick = 2;
    let x = 0;
    let y = 0;
    const end = performance.now() + 1200;
    while (performance.now() < end) {
      for (let i = 0; i < perTick; i++) {
        if (a.policy.onRequest!(ctx({ headers: { "x-k": "hot" } })) === undefined) x++;
        if (b.policy.onRequest!(ctx({ headers: { "x-k": "hot" } })) === undefined) y++;
      }
      await Bun.sleep(10);
    }
    // instances × per-instance rate × (interval + slack for RTT and timers on a busy machine)
    const bound = Math.ceil(2 * (perTick / 10) * (INTERVAL + 100));
    expect(x + y).toBeGreaterThanOrEqual(100);
    expect(x + y).toBeLessThanOrEqual(100 + bound);
    await Promise.all([a.rounds(2), b.rounds(2)]);
    expect(a.policy.onRequest!(ctx({ headers: { "x-k": "hot" } }))).toBeInstanceOf(Response);
    expect(b.policy.onRequest!(ctx({ headers: { "x-k": "hot" } }))).toBeInstanceOf(Response);
    // The cluster's count of the hot key is exactly what both admitted.
    const admin = createRedisClient(rc, "test-admin") as Cluster;
    cleanups.push(() => admin.disconnect());
    await until("admin ready", () => admin.status === "ready", 5000);
    const keys = (await Promise.all(admin.nodes("master").map((n) => n.keys(`${rc.key_prefix}rl:csync#0:h*`)))).flat();
    const counts = await Promise.all(keys.map((k) => admin.get(k)));
    expect(counts.map(Number)).toContain(x + y);
    expect(keys.length).toBe(21);
  });
});
