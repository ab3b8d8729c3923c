/**
 * The aggregate terminal as one route among others, through a real gateway
 * and real upstreams: calls run in parallel; each call goes through its
 * upstream's balancer, retries, passive/active health, breaker and keep-alive
 * pool; the outer route's auth, rate limits and response edits apply; each
 * call has its own method and header templates, encoded so nothing a client
 * or an earlier call's answer carries can inject a header or a path segment.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { freePort } from "../helpers/ports.ts";

const SECRET = "an-hs256-secret-that-is-at-least-32-bytes-long!";
const jwt = (claims: Record<string, unknown>) =>
  new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setIssuedAt().setExpirationTime("5m").sign(new TextEncoder().encode(SECRET));

interface Seen {
  server: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  peerPort: number;
}
const seen: Seen[] = [];
const servers: ReturnType<typeof Bun.serve>[] = [];
let gw: GatewayProcess;
let deadPort: number;

/** A JSON upstream that records what it got; `?delay=ms` makes it slow; `/health` answers `health`. */
function upstream(name: string, opts: { health?: number; status?: number } = {}) {
  const s = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req, server) {
      const url = new URL(req.url);
      if (url.pathname === "/health") return new Response(null, { status: opts.health ?? 200 });
      seen.push({ server: name, method: req.method, path: url.pathname + url.search, headers: Object.fromEntries(req.headers), peerPort: server.requestIP(req)!.port });
      const delay = Number(url.searchParams.get("delay") ?? "0");
      if (delay > 0) await Bun.sleep(delay);
      if (opts.status !== undefined) return Response.json({ error: "sick" }, { status: opts.status });
      if (url.pathname === "/profile") return Response.json({ id: "u-1", name: "Ada\r\nx-admin: 1", slug: "../admin?x=1#f", secret: "s" });
      return Response.json({ served_by: name, path: url.pathname });
    },
  });
  servers.push(s);
  return `http://127.0.0.1:${s.port}`;
}

const hits = (server: string) => seen.filter((s) => s.server === server);

beforeAll(async () => {
  const a = upstream("a");
  const b = upstream("b");
  const c = upstream("c");
  const well = upstream("well");
  const sickHealth = upstream("sick-health", { health: 500 });
  const failing = upstream("failing", { status: 500 });
  deadPort = await freePort();
  gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
access_log = true

[jwt]
secret = "${SECRET}"
algorithms = ["HS256"]

[[upstreams]]
name = "a"
targets = [{ url = "${a}" }]

[[upstreams]]
name = "b"
targets = [{ url = "${b}" }]

[[upstreams]]
name = "c"
targets = [{ url = "${c}" }]

# One dead target, one live: a connect failure is retried on the other.
[[upstreams]]
name = "pair"
targets = [{ url = "http://127.0.0.1:${deadPort}" }, { url = "${well}" }]
retries = 1
passive = { max_fails = 0 }

# Active health: the target whose /health fails leaves the rotation.
[[upstreams]]
name = "checked"
targets = [{ url = "${sickHealth}" }, { url = "${well}" }]
retries = 0
health_check = { path = "/health", interval = "100ms", timeout = "100ms", healthy = 1, unhealthy = 1 }

[[upstreams]]
name = "dead"
targets = [{ url = "http://127.0.0.1:${deadPort}" }]
retries = 0

# A breaker that opens after two 500s.
[[upstreams]]
name = "breaker"
targets = [{ url = "${failing}" }]
retries = 0
circuit_breaker = { failures = 2, open_for = "30s" }

[[routes]]
name = "parallel"
path = "/parallel"
timeout = "2s"
[[routes.aggregate]]
upstream = "a"
path = "/a?delay=200"
as = "a"
[[routes.aggregate]]
upstream = "b"
path = "/b?delay=200"
as = "b"
[[routes.aggregate]]
upstream = "c"
path = "/c?delay=200"
as = "c"

[[routes]]
name = "templated"
path = "/templated/:id"
auth = "jwt"
[[routes.aggregate]]
name = "profile"
upstream = "a"
path = "/profile"
as = "profile"
response = { remove = ["secret"] }
[[routes.aggregate]]
upstream = "b"
method = "DELETE"
path = "/items/{profile.slug}/{id}?q={query.q}&tenant={claim.tenant}"
headers = { "x-tenant" = "{claim.tenant}", "x-name" = "{profile.name}", "x-src" = "{header.x-src}" }
as = "item"

[[routes]]
name = "needs-header"
path = "/needs"
[[routes.aggregate]]
upstream = "a"
path = "/n/{header.x-need!}"
as = "n"

[[routes]]
name = "through-pair"
path = "/pair"
[[routes.aggregate]]
upstream = "pair"
path = "/p"
as = "p"

[[routes]]
name = "through-checked"
path = "/checked"
[[routes.aggregate]]
upstream = "checked"
path = "/h"
as = "h"

[[routes]]
name = "through-breaker"
path = "/breaker"
[[routes.aggregate]]
upstream = "breaker"
path = "/x"
as = "x"
optional = true
[[routes.aggregate]]
upstream = "a"
path = "/ok"
as = "ok"

# The outer route's cache over an aggregate: the merged answer is stored.
[[routes]]
name = "cached"
path = "/cached/:user"
cache = { ttl = "60s" }
[[routes.aggregate]]
upstream = "a"
path = "/ca/{user}"
as = "a"
[[routes.aggregate]]
upstream = "b"
path = "/cb/{user}"
as = "b"

[[routes]]
name = "idempotent"
path = "/idem"
methods = ["POST"]
idempotency = { required = true, lock_timeout = "30s" }
[[routes.aggregate]]
upstream = "a"
path = "/ia"
as = "a"
[[routes.aggregate]]
upstream = "b"
path = "/ib?nonce={header.x-nonce}"
as = "b"

[[routes]]
name = "cached-partial"
path = "/cached-partial/:user"
cache = { ttl = "60s" }
[[routes.aggregate]]
upstream = "a"
path = "/cp/{user}"
as = "a"
[[routes.aggregate]]
upstream = "dead"
path = "/gone"
as = "gone"
optional = true

[[routes]]
name = "limited"
path = "/limited"
rate_limits = [{ algorithm = "fixed_window", limit = 2, window = "1m", key = "ip" }]
response = { headers = { set = { "x-shaped" = "yes" } }, body = { remove = ["a.path"], rename = { b = "bee" } } }
[[routes.aggregate]]
upstream = "a"
path = "/la"
as = "a"
[[routes.aggregate]]
upstream = "b"
path = "/lb"
as = "b"
`);
});

afterAll(async () => {
  await gw?.stop();
  for (const s of servers) s.stop(true);
});

async function logLine(route: string, marker: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const line = gw
      .stdout()
      .split("\n")
      .find((l) => l.includes(`"route":"${route}"`) && l.includes(marker));
    if (line) return JSON.parse(line);
    if (Date.now() > deadline) throw new Error(`no log line for ${route} ${marker}`);
    await Bun.sleep(20);
  }
}

describe("fan-out", () => {
  test("independent calls run in parallel: three 200 ms calls answer in about 200 ms, not 600", async () => {
    await fetch(`${gw.url}/parallel`); // warm the pools
    const t0 = performance.now();
    const res = await fetch(`${gw.url}/parallel`);
    const took = performance.now() - t0;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ a: { served_by: "a", path: "/a" }, b: { served_by: "b", path: "/b" }, c: { served_by: "c", path: "/c" } });
    expect(took).toBeGreaterThanOrEqual(195);
    expect(took).toBeLessThan(450);
  });

  test("each call's method and header templates; values from claims, headers, the query and an earlier answer are encoded", async () => {
    const token = await jwt({ sub: "u1", tenant: "acme\r\nx-admin: 1" });
    const res = await fetch(`${gw.url}/templated/7?q=a%26b%0d%0ax-evil:%201`, {
      headers: { authorization: `Bearer ${token}`, "x-src": "web%0d%0ax-admin: 2", "x-request-id": "tpl-1" },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expect(body.profile).toEqual({ id: "u-1", name: "Ada\r\nx-admin: 1", slug: "../admin?x=1#f" });
    const call = hits("b").find((s) => s.headers["x-request-id"] === "tpl-1")!;
    expect(call.method).toBe("DELETE");
    // The earlier answer's slug is one segment; the query values are components.
    expect(call.path).toBe("/items/..%2Fadmin%3Fx%3D1%23f/7?q=a%26b%0D%0Ax-evil%3A%201&tenant=acme%0D%0Ax-admin%3A%201");
    // CR/LF from a claim and from an earlier answer are removed: never a new field.
    expect(call.headers["x-tenant"]).toBe("acmex-admin: 1");
    expect(call.headers["x-name"]).toBe("Adax-admin: 1");
    // A client's literal %0d%0a stays text; it is not decoded into a line break.
    expect(call.headers["x-src"]).toBe("web%0d%0ax-admin: 2");
    expect(call.headers["x-admin"]).toBeUndefined();
    expect(call.headers["x-evil"]).toBeUndefined();
  });

  test("the outer route's auth applies: no token, 401 and no call made", async () => {
    const before = seen.length;
    const res = await fetch(`${gw.url}/templated/7`);
    expect(res.status).toBe(401);
    expect(seen.length).toBe(before);
  });

  test("a missing {claim.X} in a call's template renders empty", async () => {
    const token = await jwt({ sub: "u1" });
    const res = await fetch(`${gw.url}/templated/8`, { headers: { authorization: `Bearer ${token}`, "x-request-id": "tpl-2" } });
    expect(res.status).toBe(200);
    const call = hits("b").find((s) => s.headers["x-request-id"] === "tpl-2")!;
    expect(call.path).toBe("/items/..%2Fadmin%3Fx%3D1%23f/8?q=&tenant=");
    expect(call.headers["x-tenant"]).toBe("");
  });
});

test("a required value missing in a call's template is a 400 naming it; no call is made", async () => {
  const before = seen.length;
  const res = await fetch(`${gw.url}/needs`);
  expect(res.status).toBe(400);
  expect(((await res.json()) as { message: string }).message).toContain("{header.x-need!}");
  expect(seen.length).toBe(before);
  const ok = await fetch(`${gw.url}/needs`, { headers: { "x-need": "a b" } });
  expect(ok.status).toBe(200);
  expect(((await ok.json()) as any).n.path).toBe("/n/a%20b");
});

describe("each call through the upstream machinery", () => {
  test("retries: a dead target's connect failure is retried on the live one; the log counts the tries", async () => {
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${gw.url}/pair`, { headers: { "x-request-id": `pair-${i}` } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).p.served_by).toBe("well");
    }
    // Round robin over two targets: two of the four calls went to the dead one first.
    const tries = await Promise.all([0, 1, 2, 3].map(async (i) => (await logLine("through-pair", `pair-${i}`)).tries as number));
    expect(tries.sort()).toEqual([1, 1, 2, 2]);
  });

  test("pool: sequential calls to one upstream reuse one keep-alive connection", async () => {
    for (let i = 0; i < 3; i++) await (await fetch(`${gw.url}/pair`, { headers: { "x-request-id": `pool-${i}` } })).arrayBuffer();
    const ports = new Set(hits("well").filter((s) => s.headers["x-request-id"]?.startsWith("pool-")).map((s) => s.peerPort));
    expect(ports.size).toBe(1);
  });

  test("active health: the target failing /health gets no calls", async () => {
    // unhealthy = 1 at a 100 ms interval: it is out after the first probe.
    await Bun.sleep(400);
    const before = hits("sick-health").length;
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${gw.url}/checked`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).h.served_by).toBe("well");
    }
    expect(hits("sick-health").length).toBe(before);
  });

  test("breaker: after two 500s the breaker is open and the call fails without reaching the upstream", async () => {
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${gw.url}/breaker`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as any)._errors.x).toEqual({ status: 500, error: "upstream_status", message: "upstream answered 500" });
    }
    expect(hits("failing").length).toBe(2);
    const res = await fetch(`${gw.url}/breaker`, { headers: { "x-request-id": "brk-3" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-aggregate-failed")).toBe("x");
    const body = (await res.json()) as any;
    expect(body.x).toBeNull();
    expect(body._errors.x.error).toBe("service_unavailable");
    expect(body.ok.served_by).toBe("a");
    expect(hits("failing").length).toBe(2);
    expect((await logLine("through-breaker", "brk-3")).target).toBe("x=service_unavailable ok=200");
  });
});

describe("the outer route's policies", () => {
  test("the outer route's cache stores the aggregated answer: the second request is a HIT and calls no backend", async () => {
    const calls = () => seen.filter((x) => x.path.startsWith("/ca/") || x.path.startsWith("/cb/")).length;
    const first = await fetch(`${gw.url}/cached/u7`);
    expect(first.status).toBe(200);
    const text = await first.text();
    expect(JSON.parse(text)).toEqual({ a: { served_by: "a", path: "/ca/u7" }, b: { served_by: "b", path: "/cb/u7" } });
    expect(first.headers.get("cache-status")).toContain("fwd=");
    expect(calls()).toBe(2);
    const second = await fetch(`${gw.url}/cached/u7`);
    expect(second.status).toBe(200);
    expect(second.headers.get("cache-status")).toContain("hit");
    expect(await second.text()).toBe(text);
    expect(second.headers.get("content-type")).toBe(first.headers.get("content-type"));
    expect(calls()).toBe(2);
    // Another param is another URL: its own fan-out, then its own HIT.
    expect((await fetch(`${gw.url}/cached/u8`)).headers.get("cache-status")).not.toContain("hit");
    expect(calls()).toBe(4);
    expect((await fetch(`${gw.url}/cached/u8`)).headers.get("cache-status")).toContain("hit");
    expect(calls()).toBe(4);
  });

  test("a partial answer (an optional call failed) is marked no-store: the route's cache does not keep it, nor may any cache downstream", async () => {
    const calls = () => hits("a").filter((x) => x.path.startsWith("/cp/")).length;
    for (let i = 1; i <= 2; i++) {
      const res = await fetch(`${gw.url}/cached-partial/u1`);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-aggregate-failed")).toBe("gone");
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("cache-status")).not.toContain("hit");
      expect(((await res.json()) as any).gone).toBeNull();
      expect(calls()).toBe(i);
    }
  });

  test("the outer route's idempotency keeps the merged answer: a retry is replayed without a call, another body is a 422", async () => {
    const calls = () => seen.filter((x) => x.path === "/ia" || x.path.startsWith("/ib")).length;
    const post = (body: string, nonce: string) =>
      fetch(`${gw.url}/idem`, { method: "POST", body, headers: { "idempotency-key": '"agg-1"', "content-type": "application/json", "x-nonce": nonce } });
    const first = await post('{"n":1}', "first");
    expect(first.status).toBe(200);
    const text = await first.text();
    expect(JSON.parse(text).b.path).toBe("/ib");
    expect(calls()).toBe(2);
    const retry = await post('{"n":1}', "second");
    expect(retry.status).toBe(200);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(await retry.text()).toBe(text);
    expect(calls()).toBe(2);
    expect((await post('{"n":2}', "third")).status).toBe(422);
    expect(calls()).toBe(2);
  });

  test("response edits shape the merged answer; rate limits answer 429 before any call", async () => {
    const res = await fetch(`${gw.url}/limited`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-shaped")).toBe("yes");
    const text = await res.text();
    expect(res.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
    expect(JSON.parse(text)).toEqual({ a: { served_by: "a" }, bee: { served_by: "b", path: "/lb" } });
    expect((await fetch(`${gw.url}/limited`)).status).toBe(200);
    const before = seen.length;
    const limited = await fetch(`${gw.url}/limited`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).not.toBeNull();
    expect(seen.length).toBe(before);
  });
});
