/**
 * RFC 6750 at the policy: how the Authorization header is read (§2.1), when
 * the request is malformed (400 invalid_request, §3.1), what every challenge
 * looks like (§3), and auth = "any" with two credentials.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { allocateAuthShared, bearerToken, createAuthRuntime, MALFORMED_BEARER, RevocationSet, type AuthRuntime } from "../../src/auth/index.ts";
import { createAuthPolicy } from "../../src/policies/auth/policy.ts";
import { ecdsaScalarsInRange } from "../../src/auth/algorithms.ts";
import { hasQueryToken, isToken68 } from "../../src/auth/bearer.ts";
import { FAIL } from "../../src/auth/failures.ts";
import { apiKeyChallenge, bearerErrorChallenge } from "../../src/auth/responses.ts";
import type { RouteConfig } from "../../src/config/types.ts";
import type { RequestContext } from "../../src/policies/context.ts";
import { consumer, errorBody, gatewayConfig, ISSUER, issuerConfig, requestContext, routeConfig, runPolicy } from "./helpers.ts";
import { SECRET, signJwt } from "./keys.ts";

const KEY = "k_bearer_test_0123456789abcdef";
const REVOKED_KEY = "k_bearer_revoked_0123456789";
let rt: AuthRuntime;
let shared: SharedArrayBuffer;
let good: string;

beforeAll(async () => {
  const config = gatewayConfig({
    jwt: [issuerConfig({ secret: SECRET })],
    auth: { api_key_query: "api_key" },
    consumers: [consumer("app", [KEY, REVOKED_KEY], ["user"])],
  });
  shared = allocateAuthShared(config);
  rt = createAuthRuntime(config, shared);
  new RevocationSet(shared).revoke("api_key", REVOKED_KEY);
  good = await signJwt({ iss: ISSUER, aud: "api", sub: "u1", exp: Math.floor(Date.now() / 1000) + 600 }, SECRET, { alg: "HS256" });
});
afterAll(() => rt.close());

const policy = (p: Partial<RouteConfig> = {}) => createAuthPolicy(routeConfig({ auth: "jwt", ...p }), rt)!;
/** A context whose Request carries exactly these header pairs (repeats allowed). */
function ctxWith(pairs: [string, string][], query = ""): RequestContext {
  const ctx = requestContext({ query });
  return { ...ctx, req: new Request(`http://gw.test/api/x${query}`, { headers: pairs }) };
}
async function outcome(ctx: RequestContext, p = policy()): Promise<string> {
  const res = await runPolicy(p, ctx);
  if (res === undefined) return "ok";
  const body = await errorBody(res);
  return `${res.status} ${body.error}`;
}

describe("reading Authorization: Bearer (RFC 6750 §2.1, RFC 9110 §11)", () => {
  test("the scheme is case-insensitive; one or more SP before the token", async () => {
    for (const v of [`Bearer ${good}`, `bearer ${good}`, `BEARER ${good}`, `bEaReR ${good}`, `Bearer    ${good}`]) {
      expect(await outcome(ctxWith([["authorization", v]]))).toBe("ok");
    }
  });

  const cases: [string, string][] = [
    ["Bearer\t{good}", "400 invalid_request"], // only SP separates scheme and token
    ["Bearer,{good}", "400 invalid_request"],
    ["Bearer {good} extra", "400 invalid_request"], // not token68
    ["Bearer {good},", "400 invalid_request"],
    ['Bearer "{good}"', "400 invalid_request"],
    ["Bearer a%2Eb.c", "400 invalid_request"],
    ["Bearer x.y.z=", "401 invalid_token"], // token68 may end in "=": syntax fine, token bad
    ["Bearer a~b+c/d", "401 invalid_token"],
    ["Bearer", "401 unauthorized"], // no token: no credential (§3.1, no error code)
    ["Bearerabc", "401 unauthorized"], // another scheme
    ["Basic dXNlcjpwYXNz", "401 unauthorized"],
    ["Token {good}", "401 unauthorized"],
  ];
  for (const [value, want] of cases) {
    test(`${JSON.stringify(value)} → ${want}`, async () => {
      expect(await outcome(ctxWith([["authorization", value.replace("{good}", good)]]))).toBe(want);
    });
  }

  test("two Authorization fields (joined with a comma) → 400 invalid_request", async () => {
    expect(await outcome(ctxWith([["authorization", `Bearer ${good}`], ["authorization", `Bearer ${good}`]]))).toBe("400 invalid_request");
  });

  test("bearerToken, isToken68 and hasQueryToken directly", () => {
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("bearer   abc  ")).toBe("abc");
    expect(bearerToken("Bearer")).toBe("");
    expect(bearerToken("Bearer\tabc")).toBe(MALFORMED_BEARER);
    expect(bearerToken("Bearerabc")).toBeNull();
    expect(bearerToken("Basic abc")).toBeNull();
    for (const ok of ["abc", "a.b.c", "a-b_c~d+e/f==", "x="]) expect(isToken68(ok)).toBe(true);
    for (const bad of ["", "=", "a b", "a=b", "a,b", 'a"', "a\\b", "é"]) expect(isToken68(bad)).toBe(false);
    for (const q of ["?access_token=x", "?a=1&access_token=x", "?access_token", "?access_token&b=2"]) expect(hasQueryToken(q)).toBe(true);
    for (const q of ["", "?my_access_token=x", "?access_tokens=x", "?a=access_token"]) expect(hasQueryToken(q)).toBe(false);
  });
});

describe("more than one method (RFC 6750 §2, §3.1)", () => {
  test("header and access_token query parameter → 400 invalid_request, token never checked or echoed", async () => {
    const res = (await runPolicy(policy(), ctxWith([["authorization", `Bearer ${good}`]], `?access_token=${good}`)))!;
    expect(res.status).toBe(400);
    expect(res.headers.get("www-authenticate")).toBe(
      'Bearer realm="gateway", error="invalid_request", error_description="access token sent by more than one method"',
    );
    expect(await res.text()).not.toContain(good.split(".")[1]!);
  });

  test("the query method alone is not supported: no credential → 401 without an error code", async () => {
    const res = (await runPolicy(policy(), ctxWith([], `?access_token=${good}`)))!;
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="gateway"');
  });
});

describe('auth = "any" with both a token and an API key', () => {
  const any = () => policy({ auth: "any" });
  test("valid token + valid key → admitted as the token's identity (JWT is tried first)", async () => {
    const ctx = ctxWith([["authorization", `Bearer ${good}`], ["x-api-key", KEY]]);
    expect(await outcome(ctx, any())).toBe("ok");
    expect(ctx.identity).toMatchObject({ via: "jwt", subject: "u1" });
  });
  test("invalid token + valid key → 401 invalid_token (no fall-through)", async () => {
    expect(await outcome(ctxWith([["authorization", `Bearer ${good}x`], ["x-api-key", KEY]]), any())).toBe("401 invalid_token");
  });
  test("valid token + invalid, revoked or query key → 401 invalid_api_key (a failed credential is never ignored)", async () => {
    expect(await outcome(ctxWith([["authorization", `Bearer ${good}`], ["x-api-key", "wrong"]]), any())).toBe("401 invalid_api_key");
    expect(await outcome(ctxWith([["authorization", `Bearer ${good}`], ["x-api-key", REVOKED_KEY]]), any())).toBe("401 invalid_api_key");
    expect(await outcome(ctxWith([["authorization", `Bearer ${good}`]], "?api_key=wrong"), any())).toBe("401 invalid_api_key");
  });
  test("on a jwt-only route an API key is not a credential and is not checked", async () => {
    expect(await outcome(ctxWith([["authorization", `Bearer ${good}`], ["x-api-key", "wrong"]]))).toBe("ok");
  });
});

describe("challenges are valid quoted-strings (RFC 6750 §3, RFC 9110 §11.6.1)", () => {
  // auth-param values: only %x20-21 / %x23-5B / %x5D-7E inside the quotes.
  const WELL_FORMED = /^(Bearer|ApiKey) realm="gateway"(, [a-z_]+="[\x20\x21\x23-\x5b\x5d-\x7e]*")*$/;
  test("every refusal reason fits error_description", () => {
    for (const f of Object.values(FAIL)) {
      expect(f.reason).toMatch(/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/);
      expect(bearerErrorChallenge("invalid_token", f.reason)).toMatch(WELL_FORMED);
    }
  });
  test('config text with quotes, backslashes, controls or non-ASCII is reduced, never breaks the header', () => {
    expect(bearerErrorChallenge("insufficient_scope", "x", 'read "all"\\ \r\nwrite é')).toBe(
      'Bearer realm="gateway", error="insufficient_scope", error_description="x", scope="read all write "',
    );
    expect(apiKeyChallenge("x-api-key", 'k"ey')).toMatch(WELL_FORMED);
  });
  test("403 insufficient_scope names the scope", async () => {
    const res = (await runPolicy(policy({ scopes: ["read:a", "write:b"] }), ctxWith([["authorization", `Bearer ${good}`]])))!;
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toBe(
      'Bearer realm="gateway", error="insufficient_scope", error_description="missing required scope", scope="read:a write:b"',
    );
  });
});

test("ECDSA scalar range check: 1 ≤ r, s ≤ n - 1 (defence against CVE-2022-21449)", () => {
  const n = Buffer.from("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", "hex");
  const nMinus1 = Buffer.from(n);
  nMinus1[31] = nMinus1[31]! - 1;
  const one = Buffer.alloc(32);
  one[31] = 1;
  expect(ecdsaScalarsInRange("P-256", Buffer.concat([nMinus1, one]))).toBe(true);
  expect(ecdsaScalarsInRange("P-256", Buffer.concat([n, one]))).toBe(false);
  expect(ecdsaScalarsInRange("P-256", Buffer.concat([one, n]))).toBe(false);
  expect(ecdsaScalarsInRange("P-256", Buffer.concat([Buffer.alloc(32), one]))).toBe(false);
  expect(ecdsaScalarsInRange("P-256", Buffer.concat([one, Buffer.alloc(32)]))).toBe(false);
});
