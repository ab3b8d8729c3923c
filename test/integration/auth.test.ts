import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";

const SECRET = "an-hs256-secret-that-is-at-least-32-bytes-long!";
const ISSUER = "https://auth.test/";

let upstream: ReturnType<typeof Bun.serve>;
let jwks: ReturnType<typeof Bun.serve>;
let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
let gw: GatewayProcess;

async function hs(claims: Record<string, unknown>, opts: { exp?: string | number; iss?: string; alg?: string } = {}): Promise<string> {
  return await new SignJWT(claims)
    .setProtectedHeader({ alg: opts.alg ?? "HS256" })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience("api")
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? "5m")
    .sign(new TextEncoder().encode(SECRET));
}

beforeAll(async () => {
  upstream = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (req) => Response.json({ headers: Object.fromEntries(req.headers) }),
  });
  rsa = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(rsa.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  jwks = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => Response.json({ keys: [jwk] }) });
  gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
access_log = true

[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }]

[[jwt]]
issuer = "${ISSUER}"
audience = "api"
secret = "${SECRET}"
algorithms = ["HS256"]

[[jwt]]
issuer = "https://rsa.test/"
jwks_url = "http://127.0.0.1:${jwks.port}/jwks.json"
algorithms = ["RS256"]

[auth]
forward_claims = { tenant = "x-tenant" }
api_key_query = "api_key"

[[consumers]]
name = "mobile-app"
api_keys = ["key-mobile-0123456789"]
roles = ["user"]
rate_limits = [{ algorithm = "fixed_window", limit = 2, window = "1m", key = "consumer" }]

[[consumers]]
name = "partner"
api_keys = ["key-partner-0123456789"]
roles = ["partner"]

[[routes]]
name = "public"
path = "/public/*"
upstream = "u"

[[routes]]
name = "jwt"
path = "/jwt/*"
upstream = "u"
auth = "jwt"
roles = ["user", "admin"]
method_roles = { POST = ["admin"] }

[[routes]]
name = "keys"
path = "/keys/*"
upstream = "u"
auth = "api_key"
rate_limits = [{ algorithm = "fixed_window", limit = 50, window = "1m", key = "consumer" }]

[[routes]]
name = "scoped"
path = "/scoped/*"
upstream = "u"
auth = "jwt"
scopes = ["read:things"]

[[routes]]
name = "either"
path = "/either/*"
upstream = "u"
auth = "any"

[[routes]]
name = "tenant"
path = "/tenant/*"
upstream = "u"
auth = "jwt"
rate_limits = [{ algorithm = "fixed_window", limit = 1, window = "1m", key = "claim:tenant" }]
`);
});

afterAll(async () => {
  await gw?.stop();
  upstream?.stop(true);
  jwks?.stop(true);
});

const upstreamHeaders = async (res: Response) => ((await res.json()) as { headers: Record<string, string> }).headers;

describe("JWT through the gateway", () => {
  test("a valid token reaches the upstream with identity headers; spoofed ones are replaced", async () => {
    const token = await hs({ sub: "user-7", roles: ["user"], tenant: "acme" });
    const res = await fetch(`${gw.url}/jwt/me`, {
      headers: { authorization: `Bearer ${token}`, "x-user-id": "root", "x-tenant": "evil", "x-consumer": "admin" },
    });
    expect(res.status).toBe(200);
    const h = await upstreamHeaders(res);
    expect(h["x-user-id"]).toBe("user-7");
    expect(h["x-user-roles"]).toBe("user");
    expect(h["x-tenant"]).toBe("acme");
    expect(h["x-consumer"]).toBeUndefined();
  });

  test("missing credentials → 401 whose challenge has no error attribute (RFC 6750 §3.1)", async () => {
    const res = await fetch(`${gw.url}/jwt/me`);
    expect(res.status).toBe(401);
    const challenge = res.headers.get("www-authenticate")!;
    expect(challenge).toStartWith("Bearer");
    expect(challenge).not.toContain("error=");
    expect(((await res.json()) as { error: string }).error).toBe("unauthorized");
  });

  test("expired, wrongly signed, alg none and unknown-issuer tokens → 401 invalid_token, token never echoed", async () => {
    const expired = await hs({ sub: "u", roles: ["user"] }, { exp: Math.floor(Date.now() / 1000) - 3600 });
    const good = await hs({ sub: "u", roles: ["user"] });
    const badSig = `${good.slice(0, good.lastIndexOf(".") + 1)}${"A".repeat(43)}`;
    const [h, p] = good.split(".");
    const none = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${p}.`;
    const otherIss = await hs({ sub: "u", roles: ["user"] }, { iss: "https://evil/" });
    for (const token of [expired, badSig, none, otherIss, `${h}.___.x`]) {
      const res = await fetch(`${gw.url}/jwt/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
      const text = await res.text();
      expect(JSON.parse(text).error).toBe("invalid_token");
      expect(text).not.toContain(token);
    }
  });

  test("roles any-of, method_roles override: a user may GET but not POST → 403", async () => {
    const user = await hs({ sub: "u", roles: ["user"] });
    expect((await fetch(`${gw.url}/jwt/x`, { headers: { authorization: `Bearer ${user}` } })).status).toBe(200);
    const post = await fetch(`${gw.url}/jwt/x`, { method: "POST", headers: { authorization: `Bearer ${user}` } });
    expect(post.status).toBe(403);
    expect(((await post.json()) as { error: string }).error).toBe("forbidden");
    const admin = await hs({ sub: "a", roles: ["admin"] });
    expect((await fetch(`${gw.url}/jwt/x`, { method: "POST", headers: { authorization: `Bearer ${admin}` } })).status).toBe(200);
    const nobody = await hs({ sub: "n", roles: ["guest"] });
    expect((await fetch(`${gw.url}/jwt/x`, { headers: { authorization: `Bearer ${nobody}` } })).status).toBe(403);
  });

  test("RS256 via a JWKS served on loopback", async () => {
    const token = await new SignJWT({ sub: "rsa-user", roles: ["user"] })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer("https://rsa.test/")
      .setExpirationTime("5m")
      .sign(rsa.privateKey);
    const res = await fetch(`${gw.url}/jwt/rsa`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect((await upstreamHeaders(res))["x-user-id"]).toBe("rsa-user");
    // An HS256 token signed with the RSA issuer's name is not accepted (per-issuer allowlist).
    const confused = await hs({ sub: "x", roles: ["user"] }, { iss: "https://rsa.test/" });
    expect((await fetch(`${gw.url}/jwt/rsa`, { headers: { authorization: `Bearer ${confused}` } })).status).toBe(401);
  });

  test("public routes stay public", async () => {
    expect((await fetch(`${gw.url}/public/x`)).status).toBe(200);
  });
});

describe("API keys and consumers", () => {
  test("a valid key names its consumer upstream; a bad key is 401 and is never echoed", async () => {
    const ok = await fetch(`${gw.url}/keys/a`, { headers: { "x-api-key": "key-partner-0123456789" } });
    expect(ok.status).toBe(200);
    expect((await upstreamHeaders(ok))["x-consumer"]).toBe("partner");
    const bad = await fetch(`${gw.url}/keys/a`, { headers: { "x-api-key": "nope-not-a-key" } });
    expect(bad.status).toBe(401);
    expect(await bad.text()).not.toContain("nope-not-a-key");
  });

  test("a consumer's own rate limits replace the route's", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${gw.url}/keys/limited`, { headers: { "x-api-key": "key-mobile-0123456789" } });
      statuses.push(r.status);
      await r.text();
    }
    // mobile-app: 2 per minute (its own limit), not the route's 50.
    expect(statuses).toEqual([200, 200, 429, 429]);
    // partner has no own limits: the route's 50 apply.
    const p = await fetch(`${gw.url}/keys/limited`, { headers: { "x-api-key": "key-partner-0123456789" } });
    expect(p.status).toBe(200);
  });

  test("claim:NAME keys: one bucket per tenant claim", async () => {
    const a = await hs({ sub: "1", roles: ["user"], tenant: "a" });
    const b = await hs({ sub: "2", roles: ["user"], tenant: "b" });
    const send = async (t: string) => (await fetch(`${gw.url}/tenant/x`, { headers: { authorization: `Bearer ${t}` } })).status;
    expect(await send(a)).toBe(200);
    expect(await send(a)).toBe(429);
    expect(await send(b)).toBe(200);
  });
});

/** RFC 6750 §3 / RFC 9110 §11.6.1: scheme, realm, then auth-params whose quoted values hold no '"', '\\' or controls. */
const WELL_FORMED = /^(Bearer|ApiKey) realm="gateway"(, [a-z_]+="[\x20\x21\x23-\x5b\x5d-\x7e]*")*$/;
const get = (path: string, headers: Record<string, string> = {}) => fetch(`${gw.url}${path}`, { headers });
async function refusal(res: Response): Promise<{ status: number; error: string; challenges: string[] }> {
  const body = (await res.json()) as { error: string };
  // Two challenges arrive as two fields; Headers joins them with ", " before each scheme.
  const challenges = (res.headers.get("www-authenticate") ?? "").split(/, (?=Bearer |ApiKey )/).filter(Boolean);
  for (const c of challenges) expect(c).toMatch(WELL_FORMED);
  return { status: res.status, error: body.error, challenges };
}

describe("RFC 6750 §3 responses through the gateway", () => {
  test("missing → 401 bare challenge; bad token → 401 invalid_token; both well-formed", async () => {
    const missing = await refusal(await get("/jwt/x"));
    expect(missing).toEqual({ status: 401, error: "unauthorized", challenges: ['Bearer realm="gateway"'] });
    const bad = await refusal(await get("/jwt/x", { authorization: "Bearer a.b.c" }));
    expect(bad.status).toBe(401);
    expect(bad.challenges).toEqual(['Bearer realm="gateway", error="invalid_token", error_description="malformed token"']);
  });

  test("malformed requests → 400 invalid_request: token sent two ways, tab after the scheme, not token68", async () => {
    const token = await hs({ sub: "u", roles: ["user"] });
    for (const [path, authorization] of [
      [`/jwt/x?access_token=${token}`, `Bearer ${token}`],
      ["/jwt/x", `Bearer\t${token}`],
      ["/jwt/x", `Bearer ${token} ${token}`],
    ] as const) {
      const res = await get(path, { authorization });
      const text = await res.clone().text();
      const r = await refusal(res);
      expect(r.status).toBe(400);
      expect(r.error).toBe("invalid_request");
      expect(r.challenges[0]).toContain('error="invalid_request"');
      expect(text).not.toContain(token);
    }
  });

  test("lower-case scheme works; an oversized token is 401 invalid_token", async () => {
    const token = await hs({ sub: "u", roles: ["user"] });
    expect((await get("/jwt/x", { authorization: `bearer ${token}` })).status).toBe(200);
    const big = await refusal(await get("/jwt/x", { authorization: `Bearer ${"a".repeat(9000)}` }));
    expect(big.status).toBe(401);
    expect(big.challenges[0]).toContain('error_description="token too large"');
  });

  test("insufficient scope → 403 with error and scope", async () => {
    const r = await refusal(await get("/scoped/x", { authorization: `Bearer ${await hs({ sub: "u", scope: "read:other" })}` }));
    expect(r.status).toBe(403);
    expect(r.challenges).toEqual(['Bearer realm="gateway", error="insufficient_scope", error_description="missing required scope", scope="read:things"']);
    expect((await get("/scoped/x", { authorization: `Bearer ${await hs({ sub: "u", scope: "read:things" })}` })).status).toBe(200);
  });

  test('auth = "any": token tried first; a present credential that fails is 401 whatever else came along', async () => {
    const token = await hs({ sub: "jwt-user" });
    const both = await get("/either/x", { authorization: `Bearer ${token}`, "x-api-key": "key-partner-0123456789" });
    expect(both.status).toBe(200);
    expect((await upstreamHeaders(both))["x-user-id"]).toBe("jwt-user");
    const badToken = await refusal(await get("/either/x", { authorization: "Bearer a.b.c", "x-api-key": "key-partner-0123456789" }));
    expect([badToken.status, badToken.error]).toEqual([401, "invalid_token"]);
    const badKey = await refusal(await get("/either/x", { authorization: `Bearer ${token}`, "x-api-key": "nope" }));
    expect([badKey.status, badKey.error]).toEqual([401, "invalid_api_key"]);
    const none = await refusal(await get("/either/x"));
    expect(none.challenges).toEqual(['Bearer realm="gateway"', 'ApiKey realm="gateway", header="x-api-key", query="api_key"']);
  });

  test("API keys in the query and tokens never reach the access log", async () => {
    const key = "key-partner-0123456789";
    const token = await hs({ sub: "logged-user", roles: ["user"] });
    expect((await get(`/keys/log-probe?api_key=${key}`)).status).toBe(200);
    expect((await get("/jwt/log-probe", { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await get(`/keys/log-probe-bad?api_key=bad-${key}`)).status).toBe(401);
    const deadline = Date.now() + 3000;
    while (!gw.stdout().includes("/keys/log-probe-bad") && Date.now() < deadline) await Bun.sleep(20);
    const log = gw.stdout();
    expect(log).toContain('"path":"/keys/log-probe"');
    expect(log).toContain('"path":"/jwt/log-probe"');
    expect(log).not.toContain(key);
    for (const part of token.split(".")) expect(log).not.toContain(part);
  });
});

describe("strip_api_key", () => {
  test("the key reaches no upstream, by header or query; the rest of the query does", async () => {
    const echo = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) => Response.json({ url: req.url.slice(req.url.indexOf("/", 8)), headers: Object.fromEntries(req.headers) }),
    });
    const gw2 = await startGateway(`
[server]
listen = "127.0.0.1:0"
access_log = false

[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${echo.port}" }]

[auth]
api_key_query = "api_key"
strip_api_key = true

[[consumers]]
name = "partner"
api_keys = ["key-partner-0123456789"]

[[routes]]
name = "keys"
path = "/keys/*"
upstream = "u"
auth = "api_key"
`);
    try {
      const byHeader = (await (await fetch(`${gw2.url}/keys/a?x=1`, { headers: { "x-api-key": "key-partner-0123456789" } })).json()) as {
        url: string;
        headers: Record<string, string>;
      };
      expect(byHeader.url).toBe("/keys/a?x=1");
      expect(byHeader.headers["x-api-key"]).toBeUndefined();
      expect(byHeader.headers["x-consumer"]).toBe("partner");
      const byQuery = (await (await fetch(`${gw2.url}/keys/b?x=1&api_key=key-partner-0123456789&y=2`)).json()) as { url: string };
      expect(byQuery.url).toBe("/keys/b?x=1&y=2");
      const only = (await (await fetch(`${gw2.url}/keys/c?api_key=key-partner-0123456789`)).json()) as { url: string };
      expect(only.url).toBe("/keys/c");
    } finally {
      await gw2.stop();
      echo.stop(true);
    }
  });
});
