import { describe, expect, test } from "bun:test";
import { allowedHost, concretePath, planRoute } from "../../src/bench/request.ts";
import { testConfig } from "../helpers/config.ts";

const GW = { hostname: "127.0.0.1", port: 8080 };
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("bench request synthesis", () => {
  test("params filled, wildcard replaced", () => {
    expect(concretePath("/users/:id/posts/:post", { post: "7" })).toBe("/users/1/posts/7");
    expect(concretePath("/static/*", {})).toBe("/static/bench");
    expect(concretePath("/a b/:x", { x: "a/b" })).toBe("/a b/a%2Fb");
  });

  test("GET when allowed; strip_prefix applied to the direct request; [bench] headers and --header sent to both", () => {
    const c = testConfig(`
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:3001" }]
[[routes]]
name = "r"
path = "/api/users/:id"
methods = ["POST", "GET"]
upstream = "u"
strip_prefix = "/api"
[bench]
headers = { authorization = "Bearer t0k" }
params = { id = "42" }
`);
    const p = planRoute(c, c.routes[0]!, GW, [["x-extra", "1"]]);
    expect(p.method).toBe("GET");
    expect(p.idempotent).toBe(true);
    const gw = text(p.request);
    expect(gw.startsWith("GET /api/users/42 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\n")).toBe(true);
    expect(gw).toContain("authorization: Bearer t0k\r\n");
    expect(gw).toContain("x-extra: 1\r\n");
    const d = text(p.direct!.request);
    expect(p.direct!.endpoint).toEqual({ hostname: "127.0.0.1", port: 3001 });
    expect(d.startsWith("GET /users/42 HTTP/1.1\r\nhost: 127.0.0.1:3001\r\n")).toBe(true);
    expect(d).toContain("authorization: Bearer t0k\r\n");
  });

  test("a POST-only route sends a JSON body; host names and match conditions are satisfied", () => {
    const c = testConfig(`
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:3001" }]
[[routes]]
name = "r"
path = "/orders"
hosts = ["*.shop.example"]
methods = ["POST"]
upstream = "u"
match = { headers = { x-version = "2" }, query = { beta = true } }
`);
    const p = planRoute(c, c.routes[0]!, GW, []);
    expect(p.method).toBe("POST");
    expect(p.idempotent).toBe(false);
    const gw = text(p.request);
    expect(gw.startsWith("POST /orders?beta=bench HTTP/1.1\r\nhost: bench.shop.example\r\n")).toBe(true);
    expect(gw).toContain("x-version: 2\r\n");
    expect(gw).toContain("content-length: 14\r\n");
    expect(gw.endsWith('\r\n\r\n{"bench":true}')).toBe(true);
  });

  test("[bench.requests.NAME] replaces the synthesized path, method, headers and body of that route", () => {
    const c = testConfig(`
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:3001" }]
[[routes]]
name = "r"
path = "/api/items/:id"
upstream = "u"
strip_prefix = "/api"
[bench]
headers = { x-all = "1" }
[bench.requests.r]
path = "/api/items/9?full=1"
method = "PUT"
headers = { x-api-key = "k1", content-type = "text/plain" }
body = "hello"
`);
    const p = planRoute(c, c.routes[0]!, GW, []);
    expect(p.method).toBe("PUT");
    expect(p.idempotent).toBe(true);
    const gw = text(p.request);
    expect(gw.startsWith("PUT /api/items/9?full=1 HTTP/1.1\r\n")).toBe(true);
    expect(gw).toContain("x-all: 1\r\nx-api-key: k1\r\ncontent-type: text/plain\r\n");
    expect(gw).not.toContain("application/json");
    expect(gw.endsWith("content-length: 5\r\n\r\nhello")).toBe(true);
    expect(text(p.direct!.request).startsWith("PUT /items/9?full=1 HTTP/1.1\r\n")).toBe(true);
  });

  test("load goes only to loopback or the config's target hosts", () => {
    const c = testConfig(`
[[upstreams]]
name = "u"
targets = [{ url = "http://10.1.2.3:80" }]
[[routes]]
name = "r"
path = "/"
upstream = "u"
`);
    expect(allowedHost(c, "127.0.0.1")).toBe(true);
    expect(allowedHost(c, "127.9.9.9")).toBe(true);
    expect(allowedHost(c, "[::1]")).toBe(true);
    expect(allowedHost(c, "localhost")).toBe(true);
    expect(allowedHost(c, "10.1.2.3")).toBe(true);
    expect(allowedHost(c, "10.1.2.4")).toBe(false);
    expect(allowedHost(c, "example.com")).toBe(false);
  });
});
