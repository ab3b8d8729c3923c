/**
 * Issue 10, `[cache] redis = true`: two gateway processes sharing one real
 * redis-server. A response stored by one is a Redis-tier hit on the other;
 * purges (url, prefix, tag) and §4.4 invalidations on one reach the other's
 * memory tier through the purge feed; Redis killed mid-run leaves both
 * serving from memory and the origin with no 5xx and no long waits, and the
 * tier (and a purge queued during the outage) resumes once Redis is back.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import { runCli, startGateway, writeTempConfig, type GatewayProcess } from "../helpers/gateway.ts";
import { startRedis, type RedisProcess } from "../helpers/redis.ts";

const TOKEN = "t-cache-redis";
const HOST = "api.example.com";
const calls = new Map<string, number>();
const conditionals: (string | null)[] = [];
let origin: ReturnType<typeof Bun.serve>;
let redis: RedisProcess;
let a: GatewayProcess;
let b: GatewayProcess;

const config = () => `
[server]
listen = "127.0.0.1:0"
workers = 1
access_log = false

[admin]
listen = "127.0.0.1:0"
token = "${TOKEN}"

[metrics]
listen = "admin"

[redis]
url = "${redis.url}"
command_timeout = "200ms"

[cache]
redis = true
max_object_size = "1KB"

[[upstreams]]
name = "o"
targets = [{ url = "http://127.0.0.1:${origin.port}" }]

[[routes]]
name = "c"
path = "/*"
upstream = "o"
cache = {}
`;

beforeAll(async () => {
  redis = await startRedis();
  origin = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      const n = (calls.get(url.pathname) ?? 0) + 1;
      calls.set(url.pathname, n);
      if (req.method !== "GET") return new Response("done", { status: 200 });
      const headers: Record<string, string> = { "cache-control": "max-age=300", date: new Date().toUTCString() };
      if (url.pathname.startsWith("/tagged")) headers["surrogate-key"] = "team-1";
      if (url.pathname.startsWith("/vary")) headers.vary = "Accept-Language";
      if (url.pathname === "/etag") {
        conditionals.push(req.headers.get("if-none-match"));
        const h = { "cache-control": "max-age=2", etag: '"e1"', date: new Date().toUTCString() };
        return req.headers.get("if-none-match") === '"e1"' ? new Response(null, { status: 304, headers: h }) : new Response(`etag #${n}`, { headers: h });
      }
      if (url.pathname.startsWith("/size/")) return new Response("x".repeat(Number(url.pathname.slice(6))), { headers });
      const lang = req.headers.get("accept-language") ?? "";
      return new Response(`${url.pathname} ${lang} #${n}`, { headers });
    },
  });
  [a, b] = await Promise.all([startGateway(config()), startGateway(config())]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  origin?.stop(true);
  await redis?.stop();
});

/** The same Host on both instances, as behind one load balancer: the key is the URL the client asked for. */
const get = (gw: GatewayProcess, path: string, headers: Record<string, string> = {}) => fetch(`${gw.url}${path}`, { headers: { host: HOST, ...headers } });
const count = (path: string) => calls.get(path) ?? 0;

async function admin(gw: GatewayProcess, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${gw.adminUrl}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return res.json();
}

const applied = async (gw: GatewayProcess): Promise<number> => (await admin(gw, "/status")).cache?.redis?.feed_applied ?? 0;

async function waitUntil(ok: () => Promise<boolean>, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await Bun.sleep(50);
  }
  throw new Error("condition not reached");
}

/** Runs `purge` on one instance and waits until the other has applied one more feed announcement. */
async function acrossInstances(other: GatewayProcess, purge: () => Promise<unknown>): Promise<void> {
  const before = await applied(other);
  await purge();
  await waitUntil(async () => (await applied(other)) > before);
}

async function cli(...args: string[]): Promise<string> {
  const p = Bun.spawn(["redis-cli", "-h", "127.0.0.1", "-p", String(redis.port), ...args], { stdout: "pipe" });
  return (await new Response(p.stdout).text()).trim();
}

describe("two instances, one Redis tier", () => {
  test("a response stored by A is a Redis-tier hit on B, then a memory hit", async () => {
    const first = await get(a, "/shared");
    expect(first.headers.get("cache-status")).toContain("fwd=uri-miss; fwd-status=200");
    expect(first.headers.get("cache-status")).toContain("stored");
    const body = await first.text();
    // The write to Redis runs after the answer: give it a moment.
    await waitUntil(async () => (await cli("--scan", "--pattern", "gw:cache:*:e:http://api.example.com/shared*")) !== "");
    const onB = await get(b, "/shared");
    expect(onB.status).toBe(200);
    expect(onB.headers.get("cache-status")).toMatch(/^gateway; hit; ttl=\d+; detail=redis$/);
    expect(await onB.text()).toBe(body);
    const again = await get(b, "/shared");
    expect(again.headers.get("cache-status")).toMatch(/^gateway; hit; ttl=\d+$/);
    expect(await again.text()).toBe(body);
    expect(count("/shared")).toBe(1);
  });

  test("GET /status: the arena, the requests by cache result and the Redis tier's state", async () => {
    const c = (await admin(b, "/status")).cache;
    expect(c.entries).toBeGreaterThan(0);
    expect(c.requests.hit).toBeGreaterThanOrEqual(2);
    expect(c.requests.hit_ratio).toBeGreaterThan(0);
    expect(c.redis).toMatchObject({ connected: true, feed: true, pending_purges: 0, feed_clears: 0 });
  });

  test("the keys are under key_prefix, with the keep time as their expiry", async () => {
    await (await get(a, "/keys")).text();
    const direct = new Redis(redis.url);
    try {
      await waitUntil(async () => (await direct.keys("gw:cache:*:u:http://api.example.com/keys")).length === 1);
      const [index] = await direct.keys("gw:cache:*:u:http://api.example.com/keys");
      const [entry, ...more] = await direct.keys("gw:cache:*:e:http://api.example.com/keys*");
      expect(more).toEqual([]);
      // The arena's key after the prefix (URI NUL route); the same {hash tag} as the URI's index, so both are in one Cluster slot.
      expect(entry).toMatch(/^gw:cache:\{[0-9a-f]{8}\}:e:http:\/\/api\.example\.com\/keys\0c$/);
      expect(index!.slice(0, 19)).toBe(entry!.slice(0, 19));
      expect(await direct.smembers(index!)).toEqual([entry!]);
      // max-age=300 plus the stale window kept for max-stale clients (10 min).
      expect(await direct.pttl(entry!)).toBeGreaterThan(800_000);
      expect(await direct.pttl(index!)).toBeGreaterThan(800_000);
    } finally {
      direct.disconnect();
    }
  });

  test("max_object_size bounds what goes into Redis: a larger body streams through, stored nowhere", async () => {
    const big = await get(a, "/size/2048");
    expect(big.headers.get("cache-status")).toContain("detail=too-large");
    expect((await big.text()).length).toBe(2048);
    const fits = await get(a, "/size/1000");
    expect(fits.headers.get("cache-status")).toContain("stored");
    await fits.text();
    await waitUntil(async () => (await cli("--scan", "--pattern", "gw:cache:*:e:http://api.example.com/size/1000*")) !== "");
    expect(await cli("--scan", "--pattern", "gw:cache:*http://api.example.com/size/2048*")).toBe("");
    expect((await get(b, "/size/2048")).headers.get("cache-status")).toContain("fwd=uri-miss");
  });

  test("Vary variants: each one stored by either instance is found by the other", async () => {
    const en = await get(a, "/vary", { "accept-language": "en" });
    expect(await en.text()).toBe("/vary en #1");
    await waitUntil(async () => (await cli("--scan", "--pattern", "gw:cache:*:e:http://api.example.com/vary*")).split("\n").length >= 2);
    const enB = await get(b, "/vary", { "accept-language": "en" });
    expect(enB.headers.get("cache-status")).toContain("detail=redis");
    expect(await enB.text()).toBe("/vary en #1");
    // A variant nobody stored is a miss everywhere, stored by B, then found by A.
    const frB = await get(b, "/vary", { "accept-language": "fr" });
    expect(frB.headers.get("cache-status")).toContain("fwd=vary-miss");
    expect(await frB.text()).toBe("/vary fr #2");
    await waitUntil(async () => (await cli("--scan", "--pattern", "gw:cache:*:e:http://api.example.com/vary*")).split("\n").length >= 3);
    const frA = await get(a, "/vary", { "accept-language": "fr" });
    expect(frA.headers.get("cache-status")).toContain("detail=redis");
    expect(await frA.text()).toBe("/vary fr #2");
    expect(count("/vary")).toBe(2);
  });

  test("a stale Redis entry is revalidated with its ETag; the refreshed copy then serves the instance whose memory copy is stale", async () => {
    expect(await (await get(a, "/etag")).text()).toBe("etag #1");
    await Bun.sleep(2300);
    // B: nothing in memory, a stale copy in Redis: a conditional request, 304, the stored body.
    const onB = await get(b, "/etag");
    expect(onB.headers.get("cache-status")).toBe("gateway; fwd=stale; fwd-status=304");
    expect(await onB.text()).toBe("etag #1");
    expect(conditionals).toEqual([null, '"e1"']);
    // A: its memory copy is stale, Redis has B's fresher one: served from Redis, the origin not asked.
    await Bun.sleep(100);
    const onA = await get(a, "/etag");
    expect(onA.headers.get("cache-status")).toMatch(/^gateway; hit; ttl=\d+; detail=redis$/);
    expect(await onA.text()).toBe("etag #1");
    expect(conditionals.length).toBe(2);
  });

  test("purge by url on A removes it from Redis and from B's memory tier", async () => {
    await (await get(a, "/purge-me")).text();
    await waitUntil(async () => (await cli("--scan", "--pattern", "gw:cache:*:e:http://api.example.com/purge-me*")) !== "");
    expect((await get(b, "/purge-me")).headers.get("cache-status")).toContain("hit");
    expect((await get(b, "/purge-me")).headers.get("cache-status")).toMatch(/hit; ttl=\d+$/);
    let answer: any;
    await acrossInstances(b, async () => (answer = await admin(a, "/cache/purge", { url: `http://${HOST}/purge-me` })));
    expect(answer).toEqual({ purged: 1, redis_purged: 1, replicated: true });
    const after = await get(b, "/purge-me");
    expect(after.headers.get("cache-status")).toContain("fwd=uri-miss");
    expect(await after.text()).toBe("/purge-me  #2");
  });

  test("purge by prefix on B and by tag on A reach the other instance", async () => {
    for (const p of ["/docs/1", "/docs/2", "/tagged/x"]) {
      await (await get(a, p)).text();
      await (await get(b, p)).text();
    }
    expect(count("/docs/1")).toBe(1);
    await acrossInstances(a, () => admin(b, "/cache/purge", { prefix: `http://${HOST}/docs/` }));
    expect((await get(a, "/docs/2")).headers.get("cache-status")).toContain("fwd=uri-miss");
    expect(count("/docs/2")).toBe(2);
    const tagged = await acrossInstances(b, () => admin(a, "/cache/purge", { tag: "team-1" }));
    void tagged;
    expect((await get(b, "/tagged/x")).headers.get("cache-status")).toContain("fwd=uri-miss");
    expect(count("/tagged/x")).toBe(2);
  });

  test("§4.4: a POST through A invalidates the URL on B too", async () => {
    await (await get(b, "/item")).text();
    expect((await get(b, "/item")).headers.get("cache-status")).toContain("hit");
    await acrossInstances(b, async () => expect((await fetch(`${a.url}/item`, { method: "POST", headers: { host: HOST }, body: "x" })).status).toBe(200));
    const after = await get(b, "/item");
    expect(after.headers.get("cache-status")).toContain("fwd=uri-miss");
  });
});

describe("Redis killed mid-run", () => {
  test("both instances keep answering from memory and the origin, no 5xx, no long waits; the tier and a queued purge resume", async () => {
    await (await get(a, "/outage")).text();
    await waitUntil(async () => (await cli("--scan", "--pattern", "gw:cache:*:e:http://api.example.com/outage*")) !== "");
    expect((await get(b, "/outage")).headers.get("cache-status")).toContain("detail=redis");
    await redis.kill();

    for (let i = 0; i < 20; i++) {
      for (const gw of [a, b]) {
        const t0 = performance.now();
        const hit = await get(gw, "/outage");
        expect(hit.status).toBe(200);
        expect(hit.headers.get("cache-status")).toContain("hit");
        await hit.text();
        const fresh = await get(gw, `/during-${i}`);
        expect(fresh.status).toBe(200);
        await fresh.text();
        // Bounded by command_timeout (200ms) at worst; a closed connection is not even tried.
        expect(performance.now() - t0).toBeLessThan(1000);
      }
    }
    // A purge while Redis is down: this instance at once, the others once Redis is back.
    expect(await admin(a, "/cache/purge", { url: `http://${HOST}/outage` })).toEqual({ purged: 1, redis_purged: null, replicated: false });
    expect((await admin(a, "/status")).cache.redis.pending_purges).toBe(1);

    await redis.restart();
    await waitUntil(async () => (await admin(a, "/status")).cache.redis.pending_purges === 0);
    // B's memory copy went when the queued purge was announced.
    await waitUntil(async () => (await admin(b, "/status")).cache.redis.feed);
    await waitUntil(async () => {
      const r = await get(b, "/outage");
      await r.text();
      return (r.headers.get("cache-status") ?? "").includes("fwd=uri-miss");
    });

    // The tier is back: stored on A (Redis is empty after the restart), found on B.
    await waitUntil(async () => {
      const path = `/after-${Date.now()}`;
      await (await get(a, path)).text();
      await Bun.sleep(100);
      const r = await get(b, path);
      await r.text();
      return (r.headers.get("cache-status") ?? "").includes("detail=redis");
    });
  }, 30_000);
});

describe("Redis hung (SIGSTOP): connected, never answering", () => {
  test("a lookup waits command_timeout at most, then the tier is skipped for a while; it resumes after SIGCONT", async () => {
    redis.pause();
    try {
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        const r = await get(b, `/hung-${i}`);
        expect(r.status).toBe(200);
        await r.text();
        times.push(performance.now() - t0);
      }
      // One lookup pays the 200ms timeout; the next ones within the suspension window do not ask Redis.
      expect(Math.max(...times)).toBeLessThan(1000);
      expect(times.filter((t) => t >= 200).length).toBeLessThanOrEqual(2);
      const metrics = await (await fetch(`${b.adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      expect(metrics).toMatch(/gateway_cache_redis_operations_total\{op="lookup",result="error"\} [1-9]/);
      expect(metrics).toMatch(/gateway_cache_redis_operations_total\{op="lookup",result="skipped"\} [1-9]/);
      expect(metrics).toMatch(/gateway_cache_requests_total\{route="c",result="miss"\} [1-9]/);
    } finally {
      redis.resume();
    }
    await waitUntil(async () => {
      const path = `/unhung-${Date.now()}`;
      await (await get(a, path)).text();
      await Bun.sleep(100);
      const r = await get(b, path);
      await r.text();
      return (r.headers.get("cache-status") ?? "").includes("detail=redis");
    });
  }, 30_000);
});

test("redis = true without [redis]: refused at load with the key path", async () => {
  const path = writeTempConfig(`
[server]
listen = "127.0.0.1:0"
[cache]
redis = true
[[upstreams]]
name = "o"
targets = [{ url = "http://127.0.0.1:1" }]
[[routes]]
name = "c"
path = "/*"
upstream = "o"
cache = {}
`);
  const r = await runCli(["--check", "--config", path]);
  expect(r.code).not.toBe(0);
  expect(r.stderr + r.stdout).toContain("cache.redis: the Redis second tier needs a [redis] section");
});
