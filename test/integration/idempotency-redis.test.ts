/**
 * Issue 11 with `[redis]`: records shared by two gateway processes through a
 * real redis-server, lock expiry after a killed instance, and Redis killed
 * mid-run under on_error = "local" and "deny".
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { startRedis, type RedisProcess } from "../helpers/redis.ts";

const executions = new Map<string, number>();
let upstream: ReturnType<typeof Bun.serve>;
let redis: RedisProcess;

beforeAll(async () => {
  redis = await startRedis();
  upstream = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      const id = `${url.pathname}|${req.headers.get("idempotency-key")}`;
      executions.set(id, (executions.get(id) ?? 0) + 1);
      await req.text();
      if (url.pathname.startsWith("/slow")) await Bun.sleep(1500);
      if (url.pathname.startsWith("/wait")) await Bun.sleep(600);
      return Response.json({ nonce: crypto.randomUUID() }, { status: 201 });
    },
  });
});
afterAll(async () => {
  upstream.stop(true);
  await redis.stop();
});

let k = 0;
const newKey = () => `"r-${process.pid}-${Date.now()}-${k++}"`;
const count = (path: string, key: string) => executions.get(`${path}|${key}`) ?? 0;
const post = (gw: GatewayProcess, path: string, key: string) =>
  fetch(gw.url + path, { method: "POST", body: '{"a":1}', headers: { "content-type": "application/json", "idempotency-key": key } });

const config = (onError: string, workers = 2) => `
[server]
listen = "127.0.0.1:0"
workers = ${workers}
access_log = false

[redis]
url = "${redis.url}"
on_error = "${onError}"

[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }]
timeouts = { read = "2s" }

[[routes]]
name = "pay"
path = "/*"
upstream = "u"
idempotency = { ttl = "1h", lock_timeout = "2s" }

[[routes]]
name = "wait"
path = "/wait/*"
upstream = "u"
idempotency = { ttl = "1h", lock_timeout = "2s", wait_in_flight = "3s" }
`;

async function waitUntil(ok: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await Bun.sleep(100);
  }
  throw new Error("condition not reached");
}

describe("Idempotency-Key with Redis, two gateway instances", () => {
  let a: GatewayProcess;
  let b: GatewayProcess;
  beforeAll(async () => {
    [a, b] = await Promise.all([startGateway(config("local")), startGateway(config("local"))]);
  });
  afterAll(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  test("40 concurrent identical requests split over two instances: one execution", async () => {
    const key = newKey();
    const all = await Promise.all(Array.from({ length: 40 }, (_, i) => post(i % 2 ? a : b, "/race", key)));
    const statuses = all.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(count("/race", key)).toBe(1);
    // Once done, either instance replays the same bytes.
    const [ra, rb] = await Promise.all([post(a, "/race", key), post(b, "/race", key)]);
    expect(ra.headers.get("idempotent-replayed")).toBe("true");
    expect(await ra.text()).toBe(await rb.text());
    expect(count("/race", key)).toBe(1);
  });

  test("wait_in_flight across instances: a retry on the other instance waits for the first's answer and replays it", async () => {
    const key = newKey();
    const first = post(a, "/wait/1", key);
    await Bun.sleep(150);
    const dup = await post(b, "/wait/1", key);
    const original = await first;
    expect(dup.status).toBe(201);
    expect(dup.headers.get("idempotent-replayed")).toBe("true");
    expect(await dup.text()).toBe(await original.text());
    expect(count("/wait/1", key)).toBe(1);
  });

  test("the record is in Redis under the key prefix with the ttl", async () => {
    const key = newKey();
    await post(a, "/visible", key);
    const p = Bun.spawn(["redis-cli", "-p", String(redis.port), "--scan", "--pattern", "gw:idem:*"], { stdout: "pipe" });
    const keys = (await new Response(p.stdout).text()).trim().split("\n");
    const mine = keys.find((x) => x.endsWith(key.slice(1, -1)));
    expect(mine).toBeDefined();
    const t = Bun.spawn(["redis-cli", "-p", String(redis.port), "pttl", mine!], { stdout: "pipe" });
    expect(Number((await new Response(t.stdout).text()).trim())).toBeGreaterThan(3_500_000);
  });
});

describe("lock expiry after an instance is killed mid-request", () => {
  test("the other instance sees 409 until lock_timeout, then may run the key", async () => {
    const [a, b] = await Promise.all([startGateway(config("local", 1)), startGateway(config("local", 1))]);
    try {
      const key = newKey();
      const first = post(a, "/slow/kill", key).catch(() => null);
      await Bun.sleep(200);
      a.signal("SIGKILL");
      await first;
      expect((await post(b, "/slow/kill", key)).status).toBe(409);
      await Bun.sleep(2000);
      const retry = await post(b, "/slow/kill", key);
      expect(retry.status).toBe(201);
      expect(retry.headers.get("idempotent-replayed")).toBeNull();
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 20_000);
});

describe("Redis killed mid-run", () => {
  test('on_error = "local": no 5xx, records kept on the instance, no second execution once Redis is back', async () => {
    const gw = await startGateway(config("local", 1));
    try {
      const before = newKey();
      expect((await post(gw, "/local", before)).status).toBe(201);
      await redis.kill();
      // Completed before the outage: replayed from this instance's copy.
      const r1 = await post(gw, "/local", before);
      expect(r1.status).toBe(201);
      expect(r1.headers.get("idempotent-replayed")).toBe("true");
      // A new key during the outage: runs once, replayed.
      const during = newKey();
      expect((await post(gw, "/local", during)).status).toBe(201);
      expect((await post(gw, "/local", during)).headers.get("idempotent-replayed")).toBe("true");
      await redis.restart();
      await Bun.sleep(1500);
      for (const key of [before, during]) {
        const r = await post(gw, "/local", key);
        expect(r.status).toBe(201);
        expect(r.headers.get("idempotent-replayed")).toBe("true");
        expect(count("/local", key)).toBe(1);
      }
      expect(gw.stderr()).toContain("idempotency_store_fallback");
    } finally {
      await gw.stop();
    }
  }, 20_000);

  test('on_error = "deny": 503 while Redis is down, nothing executed; serving again once it is back', async () => {
    const gw = await startGateway(config("deny", 1));
    try {
      await redis.kill();
      const key = newKey();
      const r = await post(gw, "/deny", key);
      expect(r.status).toBe(503);
      expect(((await r.json()) as { error: string }).error).toBe("idempotency_store_unavailable");
      expect(count("/deny", key)).toBe(0);
      await redis.restart();
      await waitUntil(async () => (await post(gw, "/deny", key)).status === 201);
      expect(count("/deny", key)).toBe(1);
      expect((await post(gw, "/deny", key)).headers.get("idempotent-replayed")).toBe("true");
    } finally {
      await gw.stop();
    }
  }, 20_000);
});
