/**
 * The aggregate terminal inside the pipeline (in-process, canned upstream
 * client): the outer route's auth, limits and response edits apply to it as
 * to any route, identity headers reach every call, and the terminal is
 * chosen per route.
 */
import { describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { inProcessGateway, withRoutes } from "../helpers/handler.ts";

const SECRET = "an-hs256-secret-that-is-at-least-32-bytes-long!";

function gateway(routeKeys: string, calls = 2) {
  const gw = inProcessGateway(
    withRoutes(
      `
[[routes]]
name = "dash"
path = "/dash/:id"
upstream = "u"
${routeKeys}
${Array.from({ length: calls }, (_, i) => `[[routes.aggregate]]\npath = "/c${i}/{id}"\nas = "c${i}"\n`).join("")}
[[routes]]
name = "plain"
path = "/plain"
upstream = "u"
`,
      `[jwt]\nsecret = "${SECRET}"\nalgorithms = ["HS256"]\n[auth]\nforward_claims = { sub = "x-sub" }`,
    ),
  );
  gw.client.answer = (sent) => ({ body: JSON.stringify({ path: sent.head.split(" ")[1], userId: 1 }) });
  return gw;
}

describe("aggregate routes in the pipeline", () => {
  test("the terminal is chosen per route", () => {
    const gw = gateway("");
    expect(gw.state.snapshot.router.find("GET", "gw.test", "/dash/1")!.value!.terminal.kind).toBe("aggregate");
    expect(gw.state.snapshot.router.find("GET", "gw.test", "/plain")!.value!.terminal.kind).toBe("proxy");
  });

  test("auth denies before any call goes out; identity headers reach every call", async () => {
    const gw = gateway('auth = "jwt"');
    expect((await gw.handle("/dash/1")).status).toBe(401);
    expect(gw.client.sent).toHaveLength(0);
    const jwt = await new SignJWT({ sub: "user-9" }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("5m").sign(new TextEncoder().encode(SECRET));
    const res = await gw.handle("/dash/1", { headers: { authorization: `Bearer ${jwt}` } });
    expect(res.status).toBe(200);
    expect(gw.client.sent).toHaveLength(2);
    for (const s of gw.client.sent) {
      expect(s.head).toContain("x-sub: user-9\r\n");
      // Not listed in forward_headers: the client's credentials stay with the gateway.
      expect(s.head.toLowerCase()).not.toContain("authorization:");
    }
  });

  test("rate limits apply to the client's request, not per call", async () => {
    const gw = gateway('rate_limits = [{ algorithm = "fixed_window", limit = 1, window = "1m" }]', 3);
    expect((await gw.handle("/dash/1")).status).toBe(200);
    expect((await gw.handle("/dash/1")).status).toBe(429);
    expect(gw.client.sent).toHaveLength(3);
  });

  test("the route's response edits apply to the merged answer", async () => {
    const gw = gateway('response = { body = { remove = ["c1"], set = { v = 2 } }, headers = { set = { "x-agg" = "1" } } }');
    const res = await gw.handle("/dash/7");
    expect(res.headers.get("x-agg")).toBe("1");
    expect(await res.json()).toEqual({ c0: { path: "/c0/7", userId: 1 }, v: 2 });
  });

  test("the access log names every call's outcome", async () => {
    const gw = gateway("");
    gw.client.answer = (sent) => (sent.head.startsWith("GET /c1") ? { status: 500, body: "{}" } : { body: "{}" });
    const res = await gw.handle("/dash/1", { headers: { "x-request-id": "log-agg" } });
    expect(res.status).toBe(502);
    const line = gw.log.find((l) => l.request_id === "log-agg")!;
    expect(line.status).toBe(502);
    expect(line.target).toBe("c0=200 c1=500:upstream_status");
  });
});
