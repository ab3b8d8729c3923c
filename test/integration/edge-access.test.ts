/**
 * The access step's edges end to end (a real gateway process, a real
 * upstream on loopback): CORS preflights on routes told apart by `match`
 * (which once crashed the worker at start: the preflight router refused the
 * second route on the same path as a duplicate), a route's `ip` filter
 * judged before its preflight is answered, and the client address when the
 * peer is not a trusted proxy or speaks IPv6.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";

let upstream: ReturnType<typeof Bun.serve>;
let gw: GatewayProcess;

beforeAll(async () => {
  upstream = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const url = new URL(req.url);
      return Response.json({ path: url.pathname + url.search, method: req.method, xff: req.headers.get("x-forwarded-for") });
    },
  });
  gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
access_log = false
trusted_proxies = ["127.0.0.1/32"]
ip = { deny = ["203.0.113.0/24"] }

[cors]
origins = ["https://app.example"]

[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }]

[[routes]]
name = "v2"
path = "/api/*"
upstream = "u"
match = { headers = { "x-api-version" = "2" } }
cors = { origins = ["https://v2.example"] }

[[routes]]
name = "v1"
path = "/api/*"
upstream = "u"

[[routes]]
name = "qa"
path = "/q/*"
upstream = "u"
match = { query = { v = "a" } }

[[routes]]
name = "qb"
path = "/q/*"
upstream = "u"
match = { query = { v = "b" } }
cors = { origins = ["https://app.example", "https://b.example"] }

[[routes]]
name = "office"
path = "/office/*"
methods = ["GET"]
upstream = "u"
ip = { allow = ["10.0.0.0/8"] }
`);
});

afterAll(async () => {
  await gw?.stop();
  upstream?.stop(true);
});

const preflight = (path: string, origin: string, extra: Record<string, string> = {}) =>
  fetch(`${gw.url}${path}`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "PUT", ...extra } });

describe("CORS with match variants", () => {
  test("the variant the preflight itself routes to decides (a preflight carries no x-api-version: the route without conditions)", async () => {
    const ok = await preflight("/api/x", "https://app.example");
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example");
    // v2's own origin is not v1's: no CORS fields, and the OPTIONS goes upstream like any request.
    const other = await preflight("/api/x", "https://v2.example");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    expect(((await other.json()) as { method: string }).method).toBe("OPTIONS");
  });

  test("actual requests get the CORS fields of the variant that serves them", async () => {
    const v2 = await fetch(`${gw.url}/api/x`, { headers: { origin: "https://v2.example", "x-api-version": "2" } });
    expect(v2.headers.get("access-control-allow-origin")).toBe("https://v2.example");
    const v1 = await fetch(`${gw.url}/api/x`, { headers: { origin: "https://v2.example" } });
    expect(v1.headers.get("access-control-allow-origin")).toBeNull();
    expect(v1.headers.get("vary")).toContain("Origin");
  });

  test("query conditions pick the variant; when none holds, only a yes from every variant answers", async () => {
    expect((await preflight("/q/x?v=b", "https://b.example")).status).toBe(204);
    expect((await preflight("/q/x?v=a", "https://b.example")).headers.get("access-control-allow-origin")).toBeNull();
    const both = await preflight("/q/x", "https://app.example");
    expect(both.status).toBe(204);
    expect(both.headers.get("access-control-allow-origin")).toBe("https://app.example");
    // qa (from [cors]) does not allow b.example: not answered, and no variant serves /q/x without v: 404.
    const one = await preflight("/q/x", "https://b.example");
    expect(one.status).toBe(404);
    expect(one.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("IP filters before the preflight", () => {
  test("a route's ip filter refuses the preflight of a client it does not admit: 403 JSON, no CORS fields", async () => {
    const out = await preflight("/office/x", "https://app.example", { "access-control-request-method": "GET", "x-forwarded-for": "192.168.1.1" });
    expect(out.status).toBe(403);
    expect(out.headers.get("access-control-allow-origin")).toBeNull();
    expect(((await out.json()) as { error: string }).error).toBe("forbidden");
    const inside = await preflight("/office/x", "https://app.example", { "access-control-request-method": "GET", "x-forwarded-for": "10.1.2.3" });
    expect(inside.status).toBe(204);
    expect(inside.headers.get("access-control-allow-origin")).toBe("https://app.example");
  });

  test("[server] ip refuses a preflight before anything else", async () => {
    const out = await preflight("/api/x", "https://app.example", { "x-forwarded-for": "203.0.113.5" });
    expect(out.status).toBe(403);
    expect(out.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("the address an IP filter judges", () => {
  test("a peer that is not a trusted proxy: its X-Forwarded-For is ignored, the peer's own address counts", async () => {
    const own = await startGateway(`
[server]
listen = "127.0.0.1:0"
access_log = false

[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }]

[[routes]]
name = "office"
path = "/office/*"
upstream = "u"
ip = { allow = ["10.0.0.0/8"] }

[[routes]]
name = "local"
path = "/local/*"
upstream = "u"
ip = { allow = ["127.0.0.1"], deny = ["10.0.0.0/8"] }
`);
    try {
      // A forged X-Forwarded-For does not get a loopback client into the office route...
      expect((await fetch(`${own.url}/office/x`, { headers: { "x-forwarded-for": "10.1.2.3" } })).status).toBe(403);
      // ...nor out of a route that admits it; the upstream sees the peer, not the forged entry.
      const res = await fetch(`${own.url}/local/x`, { headers: { "x-forwarded-for": "10.1.2.3" } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { xff: string }).xff).toBe("127.0.0.1");
    } finally {
      await own.stop();
    }
  });

  test("an IPv6 peer (::1) against IPv6 and IPv4 rules", async () => {
    const own = await startGateway(`
[server]
listen = "[::1]:0"
access_log = false

[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }]

[[routes]]
name = "v6"
path = "/v6/*"
upstream = "u"
ip = { allow = ["::1/128"] }

[[routes]]
name = "v4only"
path = "/v4only/*"
upstream = "u"
ip = { allow = ["127.0.0.0/8"] }

[[routes]]
name = "nov6"
path = "/nov6/*"
upstream = "u"
ip = { deny = ["::/0"] }
`);
    try {
      expect(own.url).toContain("[::1]");
      expect((await fetch(`${own.url}/v6/x`)).status).toBe(200);
      expect((await fetch(`${own.url}/v4only/x`)).status).toBe(403);
      expect((await fetch(`${own.url}/nov6/x`)).status).toBe(403);
    } finally {
      await own.stop();
    }
  });
});
