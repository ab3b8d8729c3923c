import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { Redis } from "ioredis";
import { startRedis, type RedisProcess } from "../helpers/redis.ts";

let upstream: ReturnType<typeof Bun.serve>;
let upstreamHits = 0;
beforeAll(() => {
  upstream = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      upstreamHits++;
      const url = new URL(req.url);
      if (url.pathname.startsWith("/slow")) await Bun.sleep(300);
      if (url.pathname.startsWith("/stream")) {
        // A body that keeps arriving for ~300 ms after the head: the pool hands it on as a stream.
        let n = 0;
        return new Response(
          new ReadableStream({
            async pull(c) {
              if (n++ === 3) return c.close();
              await Bun.sleep(100);
              c.enqueue(new TextEncoder().encode(`part ${n}\n`));
            },
          }),
        );
      }
      return Response.json({ path: url.pathname });
    },
  });
});
afterAll(() => upstream.stop(true));

function config(opts: { workers?: number; limits: string; redis?: string; route?: string; extra?: string }): string {
  return `
[server]
listen = "127.0.0.1:0"
workers = ${opts.workers ?? 1}
access_log = false
${opts.redis ?? ""}

[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }]

[[routes]]
name = "${opts.route ?? "limited"}"
path = "/*"
upstream = "u"
rate_limits = [${opts.limits}]
${opts.extra ?? ""}
`;
}

async function burst(url: string, n: number, headers: Record<string, string> = {}): Promise<Response[]> {
  return await Promise.all(Array.from({ length: n }, () => fetch(url, { headers })));
}

const count = (rs: Response[], status: number) => rs.filter((r) => r.status === status).length;

describe("through the gateway, one machine", () => {
  test("workers = 4: a limit of 10 admits exactly 10, never 40", async () => {
    const gw = await startGateway(config({ workers: 4, limits: '{ algorithm = "fixed_window", limit = 10, window = "1m", key = "global" }' }));
    try {
      // Separate connections so the kernel spreads them over all four workers.
      const rs = await Promise.all(Array.from({ length: 60 }, () => fetch(`${gw.url}/x`, { headers: { connection: "close" } })));
      expect(count(rs, 200)).toBe(10);
      expect(count(rs, 429)).toBe(50);
      await Promise.all(rs.map((r) => r.text()));
    } finally {
      await gw.stop();
    }
  });

  test("429: JSON body, Retry-After, IETF RateLimit fields and legacy headers; the upstream is not called", async () => {
    const gw = await startGateway(config({ limits: '{ algorithm = "token_bucket", limit = 3, window = "1m", key = "ip" }' }));
    try {
      const ok = await fetch(`${gw.url}/a`);
      expect(ok.status).toBe(200);
      expect(ok.headers.get("ratelimit-policy")).toMatch(/^"[^"]+";q=3;w=60$/);
      expect(ok.headers.get("ratelimit")).toMatch(/^"[^"]+";r=2;t=\d+$/);
      expect(ok.headers.get("x-ratelimit-limit")).toBe("3");
      expect(ok.headers.get("x-ratelimit-remaining")).toBe("2");
      await ok.text();
      await Promise.all((await burst(`${gw.url}/a`, 2)).map((r) => r.text()));
      const hitsBefore = upstreamHits;
      const denied = await fetch(`${gw.url}/a`, { headers: { "x-request-id": "rl-1" } });
      expect(denied.status).toBe(429);
      expect(upstreamHits).toBe(hitsBefore);
      const retryAfter = Number(denied.headers.get("retry-after"));
      expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
      expect(denied.headers.get("x-request-id")).toBe("rl-1");
      const body = (await denied.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ error: "rate_limited", limit: 3, window: 60, request_id: "rl-1" });
      expect(body.retry_after).toBe(retryAfter);
    } finally {
      await gw.stop();
    }
  });

  test("keys separate clients: header:x-tenant buckets are independent", async () => {
    const gw = await startGateway(config({ limits: '{ algorithm = "fixed_window", limit = 2, window = "1m", key = "header:x-tenant" }' }));
    try {
      const a = await burst(`${gw.url}/k`, 4, { "x-tenant": "a" });
      const b = await burst(`${gw.url}/k`, 4, { "x-tenant": "b" });
      expect(count(a, 200)).toBe(2);
      expect(count(b, 200)).toBe(2);
      await Promise.all([...a, ...b].map((r) => r.text()));
    } finally {
      await gw.stop();
    }
  });

  test("concurrency limit: in-flight requests per key, released when the response ends", async () => {
    const gw = await startGateway(config({ limits: '{ algorithm = "concurrency", limit = 2, key = "global" }' }));
    try {
      const first = await burst(`${gw.url}/slow`, 4);
      expect(count(first, 200)).toBe(2);
      expect(count(first, 429)).toBe(2);
      await Promise.all(first.map((r) => r.text()));
      // Released: the next two get in again.
      const second = await burst(`${gw.url}/slow`, 2);
      expect(count(second, 200)).toBe(2);
      await Promise.all(second.map((r) => r.text()));
    } finally {
      await gw.stop();
    }
  });

  test("concurrency: a streamed body holds its slot to the last byte; a body in hand releases at once", async () => {
    const gw = await startGateway(config({ limits: '{ algorithm = "concurrency", limit = 1, key = "global" }' }));
    try {
      const streaming = await fetch(`${gw.url}/stream`);
      expect(streaming.status).toBe(200);
      // Head delivered, body still arriving: the slot is taken.
      expect((await fetch(`${gw.url}/fast`)).status).toBe(429);
      expect(await streaming.text()).toBe("part 1\npart 2\npart 3\n");
      // A small body arrives with the head: sent with its Content-Length, slot freed as it is answered.
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${gw.url}/fast`);
        expect(res.status).toBe(200);
        expect(res.headers.get("content-length")).toBe(String(JSON.stringify({ path: "/fast" }).length));
        await res.text();
      }
    } finally {
      await gw.stop();
    }
  });

  test("a reload keeps the counters: reloading is no way around a limit", async () => {
    const toml = config({ limits: '{ algorithm = "fixed_window", limit = 3, window = "1m", key = "global" }' });
    const gw = await startGateway(toml);
    try {
      expect(count(await burst(`${gw.url}/r`, 3), 200)).toBe(3);
      gw.writeConfig(`${toml}\n# touched\n`);
      gw.signal("SIGHUP");
      const deadline = Date.now() + 5000;
      while (!gw.stderr().includes("config reloaded") && Date.now() < deadline) await Bun.sleep(25);
      expect(gw.stderr()).toContain("config reloaded");
      expect((await fetch(`${gw.url}/r`)).status).toBe(429);
    } finally {
      await gw.stop();
    }
  });
});

describe("across gateway instances with a real redis-server", () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  test("strict: two gateways share one limit exactly", async () => {
    const redisCfg = `[redis]\nurl = "${redis.url}"\nmode = "strict"\non_error = "deny"\ncommand_timeout = "500ms"\nkey_prefix = "gwtest-strict:"`;
    const toml = config({ redis: redisCfg, limits: '{ algorithm = "fixed_window", limit = 20, window = "1m", key = "global" }' });
    const [a, b] = await Promise.all([startGateway(toml), startGateway(toml)]);
    try {
      const rs = await Promise.all([...(await Promise.all([burst(`${a.url}/s`, 25), burst(`${b.url}/s`, 25)]))].flat());
      expect(count(rs, 200)).toBe(20);
      expect(count(rs, 429)).toBe(30);
      await Promise.all(rs.map((r) => r.text()));
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test("sync: two gateways admit the limit plus at most rate x (interval + RTT) x instances", async () => {
    const redisCfg = `[redis]\nurl = "${redis.url}"\nmode = "sync"\nsync_interval = "50ms"\non_error = "local"\nkey_prefix = "gwtest-sync:"`;
    const toml = config({ redis: redisCfg, limits: '{ algorithm = "fixed_window", limit = 40, window = "1m", key = "global" }' });
    const [a, b] = await Promise.all([startGateway(toml), startGateway(toml)]);
    try {
      // ~200 req/s in total, alternating instances, 120 requests: 3x the limit.
      const statuses: number[] = [];
      for (let i = 0; i < 120; i++) {
        const r = await fetch(`${(i % 2 ? a : b).url}/sync`);
        statuses.push(r.status);
        await r.text();
        await Bun.sleep(5);
      }
      const admitted = statuses.filter((s) => s === 200).length;
      // Bound: 200/s x (50 ms + ~10 ms) x 2 instances = 24 over the limit, at most.
      expect(admitted).toBeGreaterThanOrEqual(40);
      expect(admitted).toBeLessThanOrEqual(40 + 24);
      expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test("strict mode: the first requests after start are decided by Redis, not by on_error", async () => {
    // Regression: workers used to listen before their Redis connection was up, so the
    // first requests fell to on_error (here: deny) although Redis was fine.
    const redisCfg = `[redis]\nurl = "${redis.url}"\nmode = "strict"\non_error = "deny"\nkey_prefix = "gwtest-first:"`;
    const gw = await startGateway(config({ redis: redisCfg, limits: '{ algorithm = "fixed_window", limit = 5, window = "1m", key = "global" }' }));
    try {
      const rs = await burst(`${gw.url}/first`, 5);
      expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    } finally {
      await gw.stop();
    }
  });

  test("Redis unreachable at start: the gateway still starts and serves by on_error", async () => {
    const redisCfg = `[redis]\nurl = "redis://127.0.0.1:1"\nmode = "strict"\non_error = "allow"\ncommand_timeout = "100ms"`;
    const gw = await startGateway(config({ redis: redisCfg, limits: '{ algorithm = "fixed_window", limit = 5, window = "1m", key = "global" }' }));
    try {
      const rs = await burst(`${gw.url}/down`, 3);
      expect(rs.map((r) => r.status)).toEqual([200, 200, 200]);
    } finally {
      await gw.stop();
    }
  });

  for (const mode of ["strict", "sync"]) test(`${mode}: Redis killed mid-load: no 5xx, no lost request; limits shared again after it returns`, async () => {
    const redisCfg = `[redis]\nurl = "${redis.url}"\nmode = "${mode}"\non_error = "local"\ncommand_timeout = "100ms"\nkey_prefix = "gwtest-kill-${mode}:"`;
    const toml = config({ redis: redisCfg, limits: '{ algorithm = "token_bucket", limit = 100000, window = "1s", key = "global" }' });
    const gw: GatewayProcess = await startGateway(toml);
    try {
      const statuses: number[] = [];
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          const rs = await burst(`${gw.url}/load`, 10);
          for (const r of rs) {
            statuses.push(r.status);
            await r.text();
          }
        }
      })();
      await Bun.sleep(300);
      await redis.kill();
      await Bun.sleep(700);
      await redis.restart();
      await Bun.sleep(1200);
      // The restarted server started empty: counters in it now were written after it came back.
      const admin = new Redis(redis.url);
      const keys = await admin.keys(`gwtest-kill-${mode}:rl:*`);
      admin.disconnect();
      stop = true;
      await loop;
      expect(keys.length).toBeGreaterThan(0);
      expect(statuses.length).toBeGreaterThan(50);
      expect(statuses.filter((s) => s >= 500)).toEqual([]);
      expect(statuses.every((s) => s === 200)).toBe(true);
    } finally {
      await gw.stop();
    }
  });
});
