import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { startGateway, startGatewayAt, type GatewayProcess } from "../helpers/gateway.ts";
import { startRedis, type RedisProcess } from "../helpers/redis.ts";
import { until } from "../helpers/wait.ts";

const TOKEN = "admin-token-for-runtime-tests-0123";
const FILE_KEY = "file-key-of-the-partner-0001";
let upstream: ReturnType<typeof Bun.serve>;
let second: ReturnType<typeof Bun.serve>;
let gw: GatewayProcess;

const config = (extra = "") => `
[server]
listen = "127.0.0.1:0"
workers = 4
access_log = false

[admin]
listen = "127.0.0.1:0"
token = "${TOKEN}"
${extra}

[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }]

[[routes]]
name = "api"
path = "/api/*"
upstream = "u"
auth = "api_key"

[[consumers]]
name = "partner"
api_keys = ["${FILE_KEY}"]
roles = ["user"]
`;

const admin = (g: GatewayProcess, path: string, init: RequestInit & { json?: unknown } = {}) =>
  fetch(`${g.adminUrl}${path}`, {
    ...init,
    body: init.json === undefined ? init.body : JSON.stringify(init.json),
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
  });

/**
 * `n` requests, each on its own connection (keepalive off), so the kernel's
 * reusePort hashing spreads them over the 4 workers: the chance that 48
 * fresh connections all miss one worker is 4·(3/4)^48 ≈ 4e-6.
 */
async function statuses(g: GatewayProcess, key: string, n = 48): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${g.url}/api/x`, { headers: { "x-api-key": key, connection: "close" }, keepalive: false });
    out.push(r.status);
    await r.arrayBuffer();
  }
  return out;
}

beforeAll(async () => {
  upstream = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => Response.json({ consumer: req.headers.get("x-consumer"), roles: req.headers.get("x-user-roles"), at: "one" }) });
  second = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: async (req) => {
      if (new URL(req.url).pathname === "/api/slow") await Bun.sleep(1500);
      return Response.json({ at: "two" });
    },
  });
  gw = await startGateway(config());
});
afterAll(async () => {
  await gw?.stop();
  upstream?.stop(true);
  second?.stop(true);
});

describe("runtime consumers and keys, 4 workers", () => {
  let key = "";
  let id = "";

  test("a new consumer's key works on every worker as soon as the call returns", async () => {
    const created = await admin(gw, "/consumers", { method: "POST", json: { name: "acme", roles: ["buyer"], rate_limits: [{ algorithm: "fixed_window", limit: 1000, window: "1m" }] } });
    expect(created.status).toBe(201);
    const issued = await admin(gw, "/consumers/acme/keys", { method: "POST" });
    expect(issued.status).toBe(201);
    ({ id, key } = (await issued.json()) as { id: string; key: string });
    expect(key).toMatch(/^gw_[A-Za-z0-9_-]{43}$/);
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(await statuses(gw, key))).toEqual(new Set([200]));
    const r = await fetch(`${gw.url}/api/x`, { headers: { "x-api-key": key } });
    expect(await r.json()).toEqual({ consumer: "acme", roles: "buyer", at: "one" });
  });

  test("the key is stored as a digest only, in an atomically replaced state file", () => {
    const stateFile = join(dirname(gw.configPath), "gateway-state.json");
    expect(existsSync(stateFile)).toBe(true);
    const text = readFileSync(stateFile, "utf8");
    expect(text).not.toContain(key);
    expect(text).toContain(new Bun.CryptoHasher("sha256").update(key).digest("hex"));
    expect(JSON.parse(text).consumers[0].name).toBe("acme");
  });

  test("the key is never listed again", async () => {
    const list = (await (await admin(gw, "/consumers")).json()) as { name: string; source: string; keys: { id: string }[] }[];
    expect(list.map((c) => [c.name, c.source])).toEqual([["partner", "config"], ["acme", "runtime"]]);
    expect(JSON.stringify(list)).not.toContain(key);
    expect(list[1]!.keys.map((k) => k.id)).toEqual([id]);
  });

  test("PATCH changes roles at once", async () => {
    const r = await admin(gw, "/consumers/acme", { method: "PATCH", json: { roles: ["buyer", "admin"] } });
    expect(r.status).toBe(200);
    const seen = (await (await fetch(`${gw.url}/api/x`, { headers: { "x-api-key": key } })).json()) as { roles: string };
    expect(seen.roles).toBe("buyer,admin");
  });

  test("a runtime consumer's rate limits hold across the 4 workers, and PATCH changes them at once", async () => {
    expect((await admin(gw, "/consumers", { method: "POST", json: { name: "metered", rate_limits: [{ algorithm: "fixed_window", limit: 2, window: "1m" }] } })).status).toBe(201);
    const k = ((await (await admin(gw, "/consumers/metered/keys", { method: "POST" })).json()) as { key: string }).key;
    const first = await statuses(gw, k, 12);
    expect(first.filter((c) => c === 200)).toHaveLength(2);
    expect(first.filter((c) => c === 429)).toHaveLength(10);
    const patched = await admin(gw, "/consumers/metered", { method: "PATCH", json: { rate_limits: [{ algorithm: "fixed_window", limit: 1000, window: "1m" }] } });
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as { rate_limits: { limit: number }[] }).rate_limits[0]!.limit).toBe(1000);
    expect(new Set(await statuses(gw, k, 12))).toEqual(new Set([200]));
    expect((await admin(gw, "/consumers/metered", { method: "PATCH", json: { rate_limits: [{ algorithm: "fixed_window", limit: 0 }] } })).status).toBe(422);
    expect((await admin(gw, "/consumers/metered", { method: "DELETE" })).status).toBe(200);
    expect(new Set(await statuses(gw, k, 8))).toEqual(new Set([401]));
  });

  test("bad input: key-path messages, conflicts, unknown names", async () => {
    const bad = await admin(gw, "/consumers", { method: "POST", json: { name: "x", rate_limits: [{ algorithm: "nope", limit: 1 }] } });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { message: string }).message).toContain("rate_limits");
    expect((await admin(gw, "/consumers", { method: "POST", json: { name: "bad name!" } })).status).toBe(422);
    expect((await admin(gw, "/consumers", { method: "POST", json: { name: "y", extra: 1 } })).status).toBe(422);
    expect((await admin(gw, "/consumers", { method: "POST", body: "{not json" })).status).toBe(422);
    expect((await admin(gw, "/consumers", { method: "POST", json: { name: "acme" } })).status).toBe(409);
    expect((await admin(gw, "/consumers", { method: "POST", json: { name: "partner" } })).status).toBe(409);
    // The file's consumer belongs to the file.
    expect((await admin(gw, "/consumers/partner", { method: "PATCH", json: { roles: [] } })).status).toBe(409);
    expect((await admin(gw, "/consumers/partner/keys", { method: "POST" })).status).toBe(409);
    expect((await admin(gw, "/consumers/ghost/keys", { method: "POST" })).status).toBe(404);
    expect((await admin(gw, "/consumers/acme/keys/0000000000000000", { method: "DELETE" })).status).toBe(404);
    expect((await fetch(`${gw.adminUrl}/consumers`, { method: "POST", body: "{}" })).status).toBe(401);
  });

  test("a restart keeps the key; a revoke refuses it on every worker at once", async () => {
    await gw.stop();
    // Same file, same directory, so the same state file: a restart of the same deployment.
    const again = await startGatewayAt(gw.configPath);
    try {
      expect(new Set(await statuses(again, key))).toEqual(new Set([200]));
      expect(new Set(await statuses(again, FILE_KEY, 8))).toEqual(new Set([200]));
      const revoked = await admin(again, `/consumers/acme/keys/${id}`, { method: "DELETE" });
      expect(revoked.status).toBe(200);
      expect(new Set(await statuses(again, key))).toEqual(new Set([401]));
    } finally {
      gw = again;
    }
  });

  test("runtime targets: registered, used, deregistered (drained: the request in flight finishes, no new ones)", async () => {
    const url = `http://127.0.0.1:${second.port}`;
    expect((await admin(gw, "/upstreams/u/targets", { method: "POST", json: { url, weight: 1 } })).status).toBe(201);
    expect((await admin(gw, "/upstreams/u/targets", { method: "POST", json: { url } })).status).toBe(409);
    expect((await admin(gw, "/upstreams/nope/targets", { method: "POST", json: { url } })).status).toBe(404);
    expect((await admin(gw, "/upstreams/u/targets", { method: "POST", json: { url: "ftp://x" } })).status).toBe(422);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(((await (await fetch(`${gw.url}/api/x`, { headers: { "x-api-key": FILE_KEY } })).json()) as { at: string }).at);
    expect(seen).toEqual(new Set(["one", "two"]));
    const ups = (await (await admin(gw, "/upstreams")).json()) as { targets: { url: string }[] }[];
    expect(ups[0]!.targets.map((t) => t.url)).toContain(url);
    expect((await admin(gw, `/upstreams/u/targets?url=${encodeURIComponent(`http://127.0.0.1:${upstream.port}`)}`, { method: "DELETE" })).status).toBe(409);
    // Park a slow request on the registered target, then deregister it: that request must still finish there.
    let slow: Promise<Response> | null = null;
    await until("a slow request in flight on the registered target", async () => {
      const r = fetch(`${gw.url}/api/slow`, { headers: { "x-api-key": FILE_KEY } });
      await Bun.sleep(100);
      const t = ((await (await admin(gw, "/upstreams")).json()) as { targets: { url: string; in_flight: number }[] }[])[0]!.targets.find((x) => x.url === url);
      if (t?.in_flight === 1) slow = r;
      else await (await r).arrayBuffer();
      return t?.in_flight === 1;
    }, 15_000);
    const del = await admin(gw, `/upstreams/u/targets?url=${encodeURIComponent(url)}`, { method: "DELETE" });
    expect(await del.json()).toEqual({ upstream: "u", url, draining: true });
    const finished = await slow!;
    expect(finished.status).toBe(200);
    expect(await finished.json()).toEqual({ at: "two" });
    const after = new Set<string>();
    for (let i = 0; i < 10; i++) after.add(((await (await fetch(`${gw.url}/api/x`, { headers: { "x-api-key": FILE_KEY } })).json()) as { at: string }).at);
    expect(after).toEqual(new Set(["one"]));
    expect((await admin(gw, `/upstreams/u/targets?url=${encodeURIComponent(url)}`, { method: "DELETE" })).status).toBe(404);
  });

  test("GET /config: redacted, with hash and load time; the hash follows changes", async () => {
    const a = (await (await admin(gw, "/config")).json()) as { hash: string; loaded_at: string; state_store: string; config: { admin: { token: string }; consumers: { api_keys: string[] }[] } };
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(Number.isNaN(Date.parse(a.loaded_at))).toBe(false);
    expect(a.state_store).toBe("file");
    expect(a.config.admin.token).toBe("REDACTED");
    expect(a.config.consumers[0]!.api_keys).toEqual(["REDACTED"]);
    const text = JSON.stringify(a);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(FILE_KEY);
    await admin(gw, "/consumers", { method: "POST", json: { name: "later" } });
    const b = (await (await admin(gw, "/config")).json()) as { hash: string; loaded_at: string };
    expect(b.hash).not.toBe(a.hash);
  });
});

describe("runtime and file consumers merged: the file wins", () => {
  test("a runtime consumer the file later defines is ignored (its keys with it), reported in GET /config, logged", async () => {
    expect((await admin(gw, "/consumers", { method: "POST", json: { name: "clash", roles: ["runtime-role"] } })).status).toBe(201);
    const key = ((await (await admin(gw, "/consumers/clash/keys", { method: "POST" })).json()) as { key: string }).key;
    expect(new Set(await statuses(gw, key, 8))).toEqual(new Set([200]));
    const fileKey = "file-key-of-the-clash-consumer-01";
    gw.writeConfig(config() + `\n[[consumers]]\nname = "clash"\napi_keys = ["${fileKey}"]\nroles = ["file-role"]\n`);
    expect((await admin(gw, "/reload", { method: "POST" })).status).toBe(200);
    expect(new Set(await statuses(gw, key, 8))).toEqual(new Set([401]));
    const seen = (await (await fetch(`${gw.url}/api/x`, { headers: { "x-api-key": fileKey } })).json()) as { consumer: string; roles: string };
    expect(seen).toMatchObject({ consumer: "clash", roles: "file-role" });
    const info = (await (await admin(gw, "/config")).json()) as { shadowed_consumers: string[] };
    expect(info.shadowed_consumers).toEqual(["clash"]);
    const list = (await (await admin(gw, "/consumers")).json()) as { name: string; source: string; roles: string[] }[];
    expect(list.find((c) => c.name === "clash")).toMatchObject({ source: "config", roles: ["file-role"] });
    expect((await admin(gw, "/consumers/clash/keys", { method: "POST" })).status).toBe(409);
    expect(gw.stderr()).toContain("runtime consumers ignored: the config file defines them (config wins)");
  });
});

describe("runtime state in Redis", () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  test("a key issued on one instance is known to another started later on the same Redis", async () => {
    const extra = `\n[redis]\nurl = "${redis.url}"\n`;
    const one = await startGateway(config(extra));
    let key = "";
    try {
      expect((await admin(one, "/consumers", { method: "POST", json: { name: "shared" } })).status).toBe(201);
      key = ((await (await admin(one, "/consumers/shared/keys", { method: "POST" })).json()) as { key: string }).key;
      expect(((await (await admin(one, "/config")).json()) as { state_store: string }).state_store).toBe("redis");
    } finally {
      await one.stop();
    }
    // A different directory: no state file to fall back on, so this can only come from Redis.
    const two = await startGateway(config(extra));
    try {
      expect(existsSync(join(dirname(two.configPath), "gateway-state.json"))).toBe(false);
      expect(new Set(await statuses(two, key, 8))).toEqual(new Set([200]));
    } finally {
      await two.stop();
    }
  });
});

