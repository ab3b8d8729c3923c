/**
 * Version and header routing (`match`) through a real gateway: several
 * routes on one path told apart by header and query conditions, the one with
 * more conditions winning, no match falling to the route without conditions
 * or to 404.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";

const servers: ReturnType<typeof Bun.serve>[] = [];
let gw: GatewayProcess;

function upstream(name: string) {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => Response.json({ served_by: name, path: new URL(req.url).pathname }) });
  servers.push(s);
  return `[[upstreams]]\nname = "${name}"\ntargets = [{ url = "http://127.0.0.1:${s.port}" }]\n`;
}

beforeAll(async () => {
  gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
${upstream("v1")}
${upstream("v2")}
${upstream("canary")}
${upstream("writes")}

[[routes]]
name = "users-v1"
path = "/api/users/:id"
upstream = "v1"

[[routes]]
name = "users-v2"
path = "/api/users/:id"
upstream = "v2"
match = { headers = { "Accept-Version" = ["2", "2.0"] } }

[[routes]]
name = "users-v2-query"
path = "/api/users/:id"
upstream = "v2"
match = { query = { version = "2" } }

[[routes]]
name = "users-canary"
path = "/api/users/:id"
upstream = "canary"
match = { headers = { "accept-version" = "2", "x-canary" = true } }

[[routes]]
name = "only-v2"
path = "/only"
upstream = "v2"
match = { headers = { "x-api-version" = "2" } }

[[routes]]
name = "gets-by-version"
path = "/things"
methods = ["GET"]
upstream = "v2"
match = { headers = { "x-api-version" = "2" } }

[[routes]]
name = "things"
path = "/things"
upstream = "writes"

[[routes]]
name = "no-beta"
path = "/beta"
upstream = "v1"
match = { headers = { "x-beta" = false } }

[[routes]]
name = "beta"
path = "/beta"
upstream = "canary"
`);
});

afterAll(async () => {
  await gw?.stop();
  for (const s of servers) s.stop(true);
});

async function servedBy(path: string, headers: Record<string, string> = {}, method = "GET"): Promise<string | number> {
  const res = await fetch(`${gw.url}${path}`, { headers, method });
  if (res.status !== 200) return res.status;
  return ((await res.json()) as { served_by: string }).served_by;
}

describe("routes on one path told apart by match", () => {
  test("no conditions met: the route without conditions", async () => {
    expect(await servedBy("/api/users/1")).toBe("v1");
    expect(await servedBy("/api/users/1", { "accept-version": "3" })).toBe("v1");
  });

  test("a header value, or one of a list", async () => {
    expect(await servedBy("/api/users/1", { "accept-version": "2" })).toBe("v2");
    expect(await servedBy("/api/users/1", { "accept-version": "2.0" })).toBe("v2");
  });

  test("a query value", async () => {
    expect(await servedBy("/api/users/1?version=2")).toBe("v2");
    expect(await servedBy("/api/users/1?version=1")).toBe("v1");
  });

  test("the route with more conditions wins (canary by header)", async () => {
    expect(await servedBy("/api/users/1", { "accept-version": "2", "x-canary": "anything" })).toBe("canary");
    expect(await servedBy("/api/users/1", { "x-canary": "1" })).toBe("v1");
  });

  test("no route without conditions: 404", async () => {
    expect(await servedBy("/only", { "x-api-version": "2" })).toBe("v2");
    expect(await servedBy("/only")).toBe(404);
  });

  test("a route on the same path covering more methods catches what the conditions do not", async () => {
    expect(await servedBy("/things", { "x-api-version": "2" })).toBe("v2");
    expect(await servedBy("/things")).toBe("writes");
    expect(await servedBy("/things", { "x-api-version": "2" }, "POST")).toBe("writes");
  });

  test("a header that must be absent", async () => {
    expect(await servedBy("/beta")).toBe("v1");
    expect(await servedBy("/beta", { "x-beta": "1" })).toBe("canary");
  });
});
