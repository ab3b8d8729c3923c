import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type * as jose from "jose";
import { allocateAuthShared, bearerToken, createAuthRuntime, identityHeaderNames, type AuthRuntime } from "../../src/auth/index.ts";
import { createAuthPolicy } from "../../src/policies/auth/policy.ts";
import type { AuthConfig, RouteConfig } from "../../src/config/types.ts";
import { ConfigError } from "../../src/errors.ts";
import type { Policy } from "../../src/policies/types.ts";
import { authConfig, consumer, gatewayConfig, ISSUER, issuerConfig, requestContext, routeConfig, runPolicy, upstreamHeader, errorBody } from "./helpers.ts";
import { SECRET, signJwt } from "./keys.ts";

const KEY = "k_test_5d41402abc4b2a76b9719d911017c592";
const sec = () => Math.floor(Date.now() / 1000);
const claims = (extra: jose.JWTPayload = {}): jose.JWTPayload => ({ iss: ISSUER, aud: "api", sub: "user-1", exp: sec() + 600, ...extra });
const token = (extra: jose.JWTPayload = {}) => signJwt(claims(extra), SECRET, { alg: "HS256" });

let rt: AuthRuntime;
const build = (route: Partial<RouteConfig>): Policy => createAuthPolicy(routeConfig(route), rt)!;
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

beforeAll(() => {
  const config = gatewayConfig({
    jwt: [issuerConfig({ secret: SECRET })],
    auth: { forward_claims: { email: "X-User-Email", "org.id": "x-org-id", tier: "x-tier" }, strip_authorization: true },
    consumers: [consumer("mobile-app", [KEY], ["user"]), consumer("ops-bot", ["k_ops_ops_ops_ops_ops_ops_ops_ops"], ["admin"])],
  });
  rt = createAuthRuntime(config, allocateAuthShared(config));
});
afterAll(() => rt.close());

describe("compiling route policies", () => {
  test('auth = "none" with no rules compiles to nothing', () => {
    expect(createAuthPolicy(routeConfig({ auth: "none" }), rt)).toBeNull();
    expect(createAuthPolicy(routeConfig({ auth: "none", method_roles: { POST: [] } }), rt)).toBeNull();
  });

  test('auth = "none" with roles still requires a caller (fails closed)', async () => {
    const policy = createAuthPolicy(routeConfig({ auth: "none", roles: ["user"] }), rt)!;
    expect(policy).not.toBeNull();
    expect((await runPolicy(policy, requestContext()))!.status).toBe(401);
    expect(await runPolicy(policy, requestContext({ headers: { "x-api-key": KEY } }))).toBeUndefined();
  });

  test('auth = "jwt" without any [jwt] issuer does not load', () => {
    const config = gatewayConfig({});
    const bare = createAuthRuntime(config, allocateAuthShared(config));
    expect(() => createAuthPolicy(routeConfig({ name: "users", auth: "jwt" }), bare)).toThrow(ConfigError);
    expect(() => createAuthPolicy(routeConfig({ name: "users", auth: "jwt" }), bare)).toThrow('routes.users.auth: "jwt" needs at least one [jwt] issuer');
    // "any" without issuers is API keys only; a Bearer header is not a credential there.
    const any = createAuthPolicy(routeConfig({ auth: "any" }), bare)!;
    return runPolicy(any, requestContext({ headers: bearer("x.y.z") })).then((res) => {
      expect(res!.headers.get("www-authenticate")).toBe('ApiKey realm="gateway", header="x-api-key"');
    });
  });

  test("the runtime exposes the forwarder's strip list and flag", () => {
    expect(rt.stripAuthorization).toBe(true);
    expect([...rt.identityHeaders].sort()).toEqual(["x-consumer", "x-org-id", "x-tier", "x-user-email", "x-user-id", "x-user-roles"]);
    expect(identityHeaderNames(authConfig())).toEqual(["x-consumer", "x-user-id", "x-user-roles"]);
  });

  test("forward_claims headers must be valid and not reserved", () => {
    const bad = (forward_claims: AuthConfig["forward_claims"]) => {
      const config = gatewayConfig({ auth: { forward_claims } });
      return () => createAuthRuntime(config, allocateAuthShared(config));
    };
    expect(bad({ email: "x user" })).toThrow('auth.forward_claims.email: "x user" is not a valid header name');
    expect(bad({ sub: "Authorization" })).toThrow("may not be set from a claim");
    expect(bad({ sub: "host" })).toThrow("may not be set from a claim");
  });
});

describe("JWT routes", () => {
  test("a valid token passes: identity, X-User-ID, X-User-Roles, forwarded claims", async () => {
    const policy = build({ auth: "jwt" });
    const ctx = requestContext({ headers: bearer(await token({ roles: ["user", "beta"], email: "u@example.com", org: { id: 42 }, tier: ["gold", 2] })) });
    expect(await runPolicy(policy, ctx)).toBeUndefined();
    expect(ctx.identity).toMatchObject({ via: "jwt", subject: "user-1", roles: ["user", "beta"] });
    expect(ctx.upstreamHeaders).toEqual([
      ["x-user-id", "user-1"],
      ["x-user-roles", "user,beta"],
      ["x-user-email", "u@example.com"],
      ["x-org-id", "42"],
      ["x-tier", "gold,2"],
    ]);
  });

  test("a token naming a consumer gets X-Consumer and the consumer's roles", async () => {
    const ctx = requestContext({ headers: bearer(await token({ consumer: "mobile-app", roles: ["beta"] })) });
    expect(await runPolicy(build({ auth: "jwt", roles: ["user"] }), ctx)).toBeUndefined();
    expect(upstreamHeader(ctx, "x-consumer")).toBe("mobile-app");
    expect(upstreamHeader(ctx, "x-user-roles")).toBe("beta,user");
  });

  test("claim values that could inject header lines are percent-encoded", async () => {
    const ctx = requestContext({ headers: bearer(await token({ sub: "evil\r\nx-admin: 1", email: "zoë@example.com" })) });
    expect(await runPolicy(build({ auth: "jwt" }), ctx)).toBeUndefined();
    expect(upstreamHeader(ctx, "x-user-id")).toBe("evil%0D%0Ax-admin%3A%201");
    expect(upstreamHeader(ctx, "x-user-email")).toBe("zo%C3%AB%40example.com");
    // And the pairs are acceptable to a real Headers object.
    expect(() => new Headers(ctx.upstreamHeaders!)).not.toThrow();
  });

  test("no credential → 401 with a bare Bearer challenge (RFC 6750 §3.1), also for other schemes", async () => {
    const policy = build({ auth: "jwt" });
    for (const headers of [{}, { authorization: "Basic dXNlcjpwYXNz" }, { authorization: "Bearer" }] as Record<string, string>[]) {
      const res = (await runPolicy(policy, requestContext({ headers, requestId: "abc" })))!;
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="gateway"');
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(await errorBody(res)).toEqual({ error: "unauthorized", message: "authentication required", request_id: "abc" });
    }
  });

  test("an invalid token → 401 invalid_token with the reason, never the token", async () => {
    const policy = build({ auth: "jwt" });
    const expired = await token({ exp: sec() - 100 });
    const res = (await runPolicy(policy, requestContext({ headers: bearer(expired) })))!;
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="gateway", error="invalid_token", error_description="token expired"');
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: "invalid_token", message: "token expired", request_id: "req-1" });
    for (const part of expired.split(".")) expect(text).not.toContain(part);

    const forged = (await token()).slice(0, -4) + "AAAA";
    const bad = (await runPolicy(policy, requestContext({ headers: bearer(forged) })))!;
    expect((await errorBody(bad)).message).toBe("bad signature");
    const junk = (await runPolicy(policy, requestContext({ headers: { authorization: "Bearer  not-a-jwt" } })))!;
    expect(junk.status).toBe(401);
    expect((await errorBody(junk)).message).toBe("malformed token");
    // Not even b64token syntax: the request is malformed (RFC 6750 §3.1), 400.
    const spaced = (await runPolicy(policy, requestContext({ headers: { authorization: "Bearer  not a token" } })))!;
    expect(spaced.status).toBe(400);
    expect(await errorBody(spaced)).toMatchObject({ error: "invalid_request", message: "malformed Authorization header" });
    // Headers trims field values (RFC 9110 §5.5), so "Bearer   " is a scheme with no token: no credential.
    const empty = (await runPolicy(policy, requestContext({ headers: { authorization: "Bearer    " } })))!;
    expect((await errorBody(empty)).error).toBe("unauthorized");
  });

  test("the scheme is case-insensitive and surrounding spaces are ignored", async () => {
    const t = await token();
    for (const value of [`bearer ${t}`, `BEARER ${t}`, `Bearer   ${t}  `]) {
      expect(await runPolicy(build({ auth: "jwt" }), requestContext({ headers: { authorization: value } }))).toBeUndefined();
    }
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("Bearerabc")).toBeNull();
    expect(bearerToken("Token abc")).toBeNull();
  });
});

describe('auth = "any"', () => {
  const any = () => build({ auth: "any" });

  test("either credential passes", async () => {
    const viaKey = requestContext({ headers: { "x-api-key": KEY } });
    expect(await runPolicy(any(), viaKey)).toBeUndefined();
    expect(viaKey.identity?.via).toBe("api_key");
    const viaToken = requestContext({ headers: bearer(await token()) });
    expect(await runPolicy(any(), viaToken)).toBeUndefined();
    expect(viaToken.identity?.via).toBe("jwt");
  });

  test("a present but invalid token is a 401 even with a valid API key (no fall-through)", async () => {
    const res = (await runPolicy(any(), requestContext({ headers: { ...bearer("a.b.c"), "x-api-key": KEY } })))!;
    expect(res.status).toBe(401);
    expect((await errorBody(res)).error).toBe("invalid_token");
  });

  test("a present but invalid API key is a 401", async () => {
    const res = (await runPolicy(any(), requestContext({ headers: { "x-api-key": "wrong" } })))!;
    expect(res.status).toBe(401);
    expect((await errorBody(res)).error).toBe("invalid_api_key");
  });

  test("nothing presented → 401 with both challenges", async () => {
    const res = (await runPolicy(any(), requestContext()))!;
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="gateway", ApiKey realm="gateway", header="x-api-key"');
  });
});

describe("authorization", () => {
  test("roles are any-of", async () => {
    const policy = build({ auth: "jwt", roles: ["admin", "editor"] });
    expect(await runPolicy(policy, requestContext({ headers: bearer(await token({ roles: ["editor"] })) }))).toBeUndefined();
    const ctx = requestContext({ headers: bearer(await token({ roles: ["user"] })), requestId: "r9" });
    const res = (await runPolicy(policy, ctx))!;
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toBeNull();
    expect(await errorBody(res)).toEqual({ error: "forbidden", message: "requires one of roles: admin, editor", request_id: "r9" });
    expect(ctx.identity?.subject).toBe("user-1"); // who was refused, for the log
    expect(ctx.upstreamHeaders).toBeNull();
  });

  test("scopes are all-of, from scope ∪ permissions; a JWT failure says insufficient_scope", async () => {
    const policy = build({ auth: "jwt", scopes: ["read", "write"] });
    expect(await runPolicy(policy, requestContext({ headers: bearer(await token({ scope: "read write extra" })) }))).toBeUndefined();
    expect(await runPolicy(policy, requestContext({ headers: bearer(await token({ scope: "read", permissions: ["write"] })) }))).toBeUndefined();
    const res = (await runPolicy(policy, requestContext({ headers: bearer(await token({ scope: "read" })) })))!;
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toBe(
      'Bearer realm="gateway", error="insufficient_scope", error_description="missing required scope", scope="read write"',
    );
    expect((await errorBody(res)).error).toBe("forbidden");
  });

  test("an API key has no scopes: 403 without a Bearer challenge", async () => {
    const res = (await runPolicy(build({ auth: "any", scopes: ["read"] }), requestContext({ headers: { "x-api-key": KEY } })))!;
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toBeNull();
  });

  test("method_roles override roles per method; HEAD follows GET", async () => {
    const policy = build({ auth: "any", roles: ["user"], method_roles: { POST: ["admin"], DELETE: ["admin"], GET: ["user", "admin"] } });
    const user = { "x-api-key": KEY };
    const admin = { "x-api-key": "k_ops_ops_ops_ops_ops_ops_ops_ops" };
    expect(await runPolicy(policy, requestContext({ method: "GET", headers: user }))).toBeUndefined();
    expect(await runPolicy(policy, requestContext({ method: "HEAD", headers: user }))).toBeUndefined();
    expect(await runPolicy(policy, requestContext({ method: "PUT", headers: user }))).toBeUndefined(); // falls back to roles
    const denied = (await runPolicy(policy, requestContext({ method: "POST", headers: user })))!;
    expect(denied.status).toBe(403);
    expect((await errorBody(denied)).message).toBe("requires one of roles: admin");
    expect(await runPolicy(policy, requestContext({ method: "POST", headers: admin }))).toBeUndefined();
    expect((await runPolicy(policy, requestContext({ method: "PUT", headers: admin })))!.status).toBe(403);
  });

  test("an empty method_roles list opens that method to any authenticated caller", async () => {
    const policy = build({ auth: "jwt", roles: ["admin"], method_roles: { GET: [] } });
    expect(await runPolicy(policy, requestContext({ method: "GET", headers: bearer(await token()) }))).toBeUndefined();
    expect((await runPolicy(policy, requestContext({ method: "POST", headers: bearer(await token()) })))!.status).toBe(403);
  });
});
