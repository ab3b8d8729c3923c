import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";

const TOKEN = "admin-token-for-tests-0123456789";
const SECRET = "an-hs256-secret-that-is-at-least-32-bytes-long!";
let upstream: ReturnType<typeof Bun.serve>;
let gw: GatewayProcess;

function config(path = "/api/*"): string {
  return `
[server]
listen = "127.0.0.1:0"
access_log = false

[admin]
listen = "127.0.0.1:0"
token = "${TOKEN}"

[jwt]
secret = "${SECRET}"
algorithms = ["HS256"]

[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }]

[[routes]]
name = "api"
path = "${path}"
upstream = "u"
auth = "jwt"
`;
}

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${gw.adminUrl}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...(init.headers ?? {}) } });

beforeAll(async () => {
  upstream = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("ok") });
  gw = await startGateway(config());
});
afterAll(async () => {
  await gw?.stop();
  upstream?.stop(true);
});

describe("admin API", () => {
  test("refuses requests without the token, or with a wrong one", async () => {
    expect(gw.adminUrl).not.toBeNull();
    expect((await fetch(`${gw.adminUrl}/status`)).status).toBe(401);
    expect((await fetch(`${gw.adminUrl}/status`, { headers: { authorization: "Bearer nope" } })).status).toBe(401);
    expect((await fetch(`${gw.adminUrl}/reload`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
  });

  test("status and per-target upstream state", async () => {
    const status = (await (await admin("/status")).json()) as { version: string; workers: number; routes: { name: string }[] };
    expect(status.workers).toBe(1);
    expect(status.routes.map((r) => r.name)).toEqual(["api"]);
    const ups = (await (await admin("/upstreams")).json()) as { name: string; targets: { url: string; health: string; in_flight: number }[] }[];
    expect(ups[0]!.name).toBe("u");
    expect(ups[0]!.targets[0]!.url).toBe(`http://127.0.0.1:${upstream.port}`);
    expect(ups[0]!.targets[0]!.in_flight).toBe(0);
  });

  test("revoking a jti takes effect at once, unrevoking restores it", async () => {
    const token = await new SignJWT({ sub: "u1" }).setProtectedHeader({ alg: "HS256" }).setJti("jti-to-revoke").setExpirationTime("5m").sign(new TextEncoder().encode(SECRET));
    const call = () => fetch(`${gw.url}/api/x`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    expect(await call()).toBe(200);
    const r = await admin("/revocations", { method: "POST", body: JSON.stringify({ kind: "jti", value: "jti-to-revoke" }) });
    expect(r.status).toBe(200);
    expect(await call()).toBe(401);
    await admin("/revocations", { method: "DELETE", body: JSON.stringify({ kind: "jti", value: "jti-to-revoke" }) });
    expect(await call()).toBe(200);
  });

  test("a malformed revocation body is a 422 with a plain message, not a crash", async () => {
    const r = await admin("/revocations", { method: "POST", body: JSON.stringify({ kind: "password", value: "" }) });
    expect(r.status).toBe(422);
    expect(((await r.json()) as { error: string }).error).toBe("invalid_body");
  });

  test("reload: a good file applies, a bad one is refused with its problems and the old config keeps serving", async () => {
    gw.writeConfig(config("/v2/*"));
    const ok = await admin("/reload", { method: "POST" });
    expect(ok.status).toBe(200);
    const token = await new SignJWT({ sub: "u1" }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("5m").sign(new TextEncoder().encode(SECRET));
    expect((await fetch(`${gw.url}/v2/x`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    gw.writeConfig(config("/v3/*").replace('upstream = "u"\nauth', 'upstream = "nope"\nauth'));
    const bad = await admin("/reload", { method: "POST" });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { message: string }).message).toContain('routes[0].upstream: no upstream named "nope"');
    expect((await fetch(`${gw.url}/v2/x`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });
});
