/**
 * The aggregate terminal through a real gateway: a dashboard over three real
 * upstreams (one fast, one slow, one dead), dependent calls, merge, per-call
 * edits, partial failure reported per call, required failures as 502/504
 * naming the call, the route's timeout bounding the fan-out, and every
 * backend's status in the access log.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { freePort } from "../helpers/ports.ts";

let users: ReturnType<typeof Bun.serve>;
let orders: ReturnType<typeof Bun.serve>;
let gw: GatewayProcess;
let deadPort: number;
const seen: { path: string; headers: Record<string, string> }[] = [];

beforeAll(async () => {
  users = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const url = new URL(req.url);
      seen.push({ path: url.pathname + url.search, headers: Object.fromEntries(req.headers) });
      const m = url.pathname.match(/^\/users\/([^/]+)$/);
      if (m) {
        if (m[1] === "missing") return Response.json({ error: "no such user" }, { status: 404 });
        if (m[1] === "broken") return new Response("<html>", { headers: { "content-type": "text/html" } });
        return Response.json({ id: `u-${m[1]}`, name: "Ada", password_hash: "x", profile: { tier: "gold" } });
      }
      if (url.pathname === "/settings") {
        return new Response(gzipSync(JSON.stringify({ theme: "dark", name: "from-settings" })), {
          headers: { "content-type": "application/json", "content-encoding": "gzip" },
        });
      }
      return new Response("not found", { status: 404 });
    },
  });
  orders = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      seen.push({ path: url.pathname + url.search, headers: Object.fromEntries(req.headers) });
      const delay = Number(url.searchParams.get("delay") ?? "0");
      if (delay > 0) await Bun.sleep(delay);
      if (url.pathname === "/fail") return Response.json({ error: "down" }, { status: 503 });
      return Response.json([{ order: 1, user: url.searchParams.get("user") }, { order: 2, user: url.searchParams.get("user") }]);
    },
  });
  deadPort = await freePort();
  gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
access_log = true

[[upstreams]]
name = "users"
targets = [{ url = "http://127.0.0.1:${users.port}" }]

[[upstreams]]
name = "orders"
targets = [{ url = "http://127.0.0.1:${orders.port}" }]

[[upstreams]]
name = "recs"
targets = [{ url = "http://127.0.0.1:${deadPort}" }]
retries = 0

[[routes]]
name = "dashboard"
path = "/dashboard/:user"
timeout = "400ms"
[[routes.aggregate]]
upstream = "users"
path = "/users/{user}"
as = "user"
forward_headers = ["authorization"]
response = { remove = ["password_hash"] }
[[routes.aggregate]]
upstream = "orders"
path = "/orders?user={user.id}&delay={query.delay}"
as = "recent_orders"
optional = true
[[routes.aggregate]]
upstream = "recs"
path = "/recs/{user}"
as = "recommendations"
optional = true

[[routes]]
name = "merged"
path = "/merged/:user"
upstream = "users"
[[routes.aggregate]]
name = "user"
path = "/users/{user}"
merge = true
response = { allow = ["id", "name"] }
[[routes.aggregate]]
name = "settings"
path = "/settings"
merge = true
[[routes.aggregate]]
upstream = "orders"
path = "/orders?user={user}"
as = "orders"
response = { rename = { order = "order_id" } }

[[routes]]
name = "required-slow"
path = "/slow"
timeout = "150ms"
[[routes.aggregate]]
upstream = "users"
path = "/users/1"
as = "user"
[[routes.aggregate]]
upstream = "orders"
path = "/orders?delay=1000"
as = "orders"

[[routes]]
name = "required-dead"
path = "/dead"
[[routes.aggregate]]
upstream = "recs"
path = "/recs"
as = "recs"

[[routes]]
name = "required-503"
path = "/fail"
[[routes.aggregate]]
upstream = "orders"
path = "/fail"
as = "orders"
[[routes.aggregate]]
upstream = "orders"
path = "/orders"
as = "other"
timeout = "2s"

[[routes]]
name = "call-timeout"
path = "/call-timeout"
[[routes.aggregate]]
upstream = "orders"
path = "/orders?delay=500"
as = "orders"
timeout = "100ms"
optional = true
[[routes.aggregate]]
upstream = "users"
path = "/users/2"
as = "user"
`);
});

afterAll(async () => {
  await gw?.stop();
  users?.stop(true);
  orders?.stop(true);
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

describe("dashboard over three upstreams: one fast, one slow, one dead", () => {
  test("all answer in time but the dead one: 200, its key null, its failure reported", async () => {
    const t0 = performance.now();
    const res = await fetch(`${gw.url}/dashboard/1?delay=100`, { headers: { authorization: "Bearer t", "x-request-id": "agg-1" } });
    const took = performance.now() - t0;
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("x-aggregate-failed")).toBe("recommendations");
    // A degraded answer: no cache may keep it.
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-request-id")).toBe("agg-1");
    const body = (await res.json()) as Record<string, any>;
    expect(body.user).toEqual({ id: "u-1", name: "Ada", profile: { tier: "gold" } });
    // Dependent call: the orders call used the user call's answer.
    expect(body.recent_orders).toEqual([{ order: 1, user: "u-1" }, { order: 2, user: "u-1" }]);
    expect(body.recommendations).toBeNull();
    expect(body._errors.recommendations.error).toBe("upstream_unreachable");
    expect(body._errors.recommendations.status).toBeNull();
    // user then orders (100 ms) in sequence, the dead one in parallel.
    expect(took).toBeGreaterThanOrEqual(100);
    expect(took).toBeLessThan(400);
    const userCall = seen.find((s) => s.path === "/users/1")!;
    expect(userCall.headers.authorization).toBe("Bearer t");
    expect(userCall.headers["x-request-id"]).toBe("agg-1");
    const log = await logLine("dashboard", "agg-1");
    expect(log.status).toBe(200);
    expect(log.target).toBe("user=200 recent_orders=200 recommendations=upstream_unreachable");
  });

  test("the slow optional call past the route's timeout: null, reported as a timeout, answer within the bound", async () => {
    const t0 = performance.now();
    const res = await fetch(`${gw.url}/dashboard/2?delay=1000`, { headers: { "x-request-id": "agg-2" } });
    const took = performance.now() - t0;
    expect(res.status).toBe(200);
    expect(took).toBeLessThan(800);
    expect(res.headers.get("x-aggregate-failed")).toBe("recent_orders, recommendations");
    const body = (await res.json()) as Record<string, any>;
    expect(body.user.id).toBe("u-2");
    expect(body.recent_orders).toBeNull();
    expect(body._errors.recent_orders).toEqual({ status: null, error: "upstream_timeout", message: "timed out" });
    const log = await logLine("dashboard", "agg-2");
    expect(log.target).toBe("user=200 recent_orders=upstream_timeout recommendations=upstream_unreachable");
  });

  test("a required call answering 404: 502 naming the call with the upstream's status; dependants fail too", async () => {
    const res = await fetch(`${gw.url}/dashboard/missing`, { headers: { "x-request-id": "agg-3" } });
    expect(res.status).toBe(502);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: "aggregate_call_failed", call: "user", upstream_status: 404, request_id: "agg-3" });
    expect(body.message).toBe('call "user" failed: upstream answered 404');
    const log = await logLine("dashboard", "agg-3");
    expect(log.status).toBe(502);
    expect(log.target).toBe("user=404:upstream_status recent_orders=dependency_failed recommendations=upstream_unreachable");
  });

  test("a required call answering non-JSON is a 502 too", async () => {
    const res = await fetch(`${gw.url}/dashboard/broken`);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { message: string }).message).toBe('call "user" failed: upstream answer is not JSON');
  });
});

describe("required failures are honest: 504 for a timeout, 502 otherwise", () => {
  test("required call slower than the route's timeout: 504 naming it, answered near the bound", async () => {
    const t0 = performance.now();
    const res = await fetch(`${gw.url}/slow`);
    expect(performance.now() - t0).toBeLessThan(700);
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ error: "aggregate_call_failed", call: "orders", upstream_status: null });
  });

  test("required call to a dead upstream: 502", async () => {
    const res = await fetch(`${gw.url}/dead`);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: "aggregate_call_failed", call: "recs", upstream_status: null });
  });

  test("required call answering 503: 502 with upstream_status 503, the other call's 200 in the log", async () => {
    const res = await fetch(`${gw.url}/fail`, { headers: { "x-request-id": "agg-503" } });
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ call: "orders", upstream_status: 503 });
    expect((await logLine("required-503", "agg-503")).target).toBe("orders=503:upstream_status other=200");
  });

  test("a call's own timeout bounds it alone", async () => {
    const t0 = performance.now();
    const res = await fetch(`${gw.url}/call-timeout`);
    expect(performance.now() - t0).toBeLessThan(400);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expect(body.orders).toBeNull();
    expect(body._errors.orders.error).toBe("upstream_timeout");
    expect(body.user.id).toBe("u-2");
  });
});

describe("merge and per-call edits", () => {
  test("merged objects at the top level, later calls winning; gzip answers decoded; as-keys beside them", async () => {
    const res = await fetch(`${gw.url}/merged/5`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-aggregate-failed")).toBeNull();
    // A complete answer says nothing about caching: the route's cache config decides.
    expect(res.headers.get("cache-control")).toBeNull();
    expect(await res.json()).toEqual({
      id: "u-5",
      name: "from-settings",
      theme: "dark",
      orders: [
        { order_id: 1, user: "5" },
        { order_id: 2, user: "5" },
      ],
    });
  });
});
