import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as jose from "jose";
import { ConfigError } from "../../src/errors.ts";
import { allocateAuthShared, createAuthRuntime, RevocationSet, type AuthRuntime } from "../../src/auth/index.ts";
import type { JwtIssuerConfig } from "../../src/config/types.ts";
import { b64url, consumer, gatewayConfig, ISSUER, issuerConfig } from "./helpers.ts";
import { handHs256, handRs256, handRsa, keyPair, SECRET, signJwt, type TestKeyPair } from "./keys.ts";

let clock = Date.UTC(2030, 0, 1);
const now = () => clock;
const sec = () => Math.floor(clock / 1000);
const runtimes: AuthRuntime[] = [];

function runtime(jwt: JwtIssuerConfig[], extra: Parameters<typeof gatewayConfig>[0] = {}): AuthRuntime {
  const config = gatewayConfig({ jwt, ...extra });
  const rt = createAuthRuntime(config, allocateAuthShared(config), now);
  runtimes.push(rt);
  return rt;
}

/** Authenticate synchronously-or-not and return the reason ("ok" on success). */
async function check(rt: AuthRuntime, token: string): Promise<string> {
  const r = await rt.jwt!.authenticate(token);
  return r.failed ? r.reason : "ok";
}

const claims = (extra: jose.JWTPayload = {}): jose.JWTPayload => ({
  iss: ISSUER,
  aud: "api",
  sub: "user-1",
  exp: sec() + 3600,
  ...extra,
});

let rsa: TestKeyPair;
let rsaOther: TestKeyPair;
let ec: TestKeyPair;
let ed: TestKeyPair;
let pss: TestKeyPair;

beforeAll(async () => {
  [rsa, rsaOther, ec, ed, pss] = await Promise.all([
    keyPair("RS256"),
    keyPair("RS256"),
    keyPair("ES256"),
    keyPair("EdDSA"),
    keyPair("PS256"),
  ]);
});
afterAll(() => runtimes.forEach((r) => r.close()));

describe("accepts well-formed tokens", () => {
  test("HS256 with a shared secret", async () => {
    const rt = runtime([issuerConfig({ secret: SECRET, algorithms: ["HS256"] })]);
    const token = await signJwt(claims({ roles: ["user"] }), SECRET, { alg: "HS256" });
    const r = rt.jwt!.authenticate(token);
    expect(r instanceof Promise).toBe(false); // no key to fetch: synchronous
    if (r instanceof Promise || r.failed) throw new Error("expected success");
    expect(r.identity).toMatchObject({ via: "jwt", subject: "user-1", roles: ["user"], consumer: null });
  });

  test("RS256 with a PEM public key and with a JWK public key", async () => {
    const token = await signJwt(claims(), rsa.privateKey, { alg: "RS256" });
    expect(await check(runtime([issuerConfig({ public_key: rsa.pem, algorithms: ["RS256"] })]), token)).toBe("ok");
    expect(await check(runtime([issuerConfig({ public_key: JSON.stringify(rsa.jwk), algorithms: ["RS256"] })]), token)).toBe("ok");
  });

  test("ES256, EdDSA and PS256 public keys", async () => {
    for (const [pair, alg] of [[ec, "ES256"], [ed, "EdDSA"], [pss, "PS256"]] as const) {
      const rt = runtime([issuerConfig({ public_key: pair.pem, algorithms: [alg] })]);
      expect(await check(rt, await signJwt(claims(), pair.privateKey, { alg }))).toBe("ok");
    }
  });

  test("typ JWT and at+jwt are accepted; an aud array naming us is accepted", async () => {
    const rt = runtime([issuerConfig({ secret: SECRET })]);
    expect(await check(rt, await signJwt(claims(), SECRET, { alg: "HS256", typ: "JWT" }))).toBe("ok");
    expect(await check(rt, await signJwt(claims(), SECRET, { alg: "HS256", typ: "at+jwt" }))).toBe("ok");
    expect(await check(rt, await signJwt(claims({ aud: ["other", "api"] }), SECRET, { alg: "HS256" }))).toBe("ok");
  });
});

describe("rejects", () => {
  test('alg "none", with and without a signature', async () => {
    const rt = runtime([issuerConfig({ secret: SECRET })]);
    const unsecured = new jose.UnsecuredJWT(claims()).encode(); // header.payload.
    expect(unsecured.endsWith(".")).toBe(true);
    expect(await check(rt, unsecured)).toBe("algorithm not allowed");
    const h = b64url(JSON.stringify({ alg: "none" }));
    expect(await check(rt, `${h}.${b64url(JSON.stringify(claims()))}.c2ln`)).toBe("algorithm not allowed");
  });

  test("HS256 signed with the RSA public key as the HMAC secret (key confusion)", async () => {
    const forged = await signJwt(claims(), rsa.pem, { alg: "HS256" });
    expect(await check(runtime([issuerConfig({ public_key: rsa.pem, algorithms: ["RS256"] })]), forged)).toBe("algorithm not allowed");
    // Default allowlist for a public key is derived from the key: still no HS.
    expect(await check(runtime([issuerConfig({ public_key: rsa.pem })]), forged)).toBe("algorithm not allowed");
    // And a config that would allow HS256 next to an RSA key does not load.
    expect(() => runtime([issuerConfig({ public_key: rsa.pem, algorithms: ["RS256", "HS256"] })])).toThrow(ConfigError);
  });

  test("an algorithm outside the allowlist, even with the right key", async () => {
    const rt = runtime([issuerConfig({ public_key: rsa.pem, algorithms: ["RS256"] })]);
    const rs384 = await handRsa("sha384", false, { alg: "RS384" }, claims(), rsa);
    const ps256 = await handRsa("sha256", true, { alg: "PS256" }, claims(), rsa);
    expect(await check(rt, rs384)).toBe("algorithm not allowed");
    expect(await check(rt, ps256)).toBe("algorithm not allowed");
    // The same tokens verify where the allowlist has them: the refusal above is the allowlist's doing.
    const wide = runtime([issuerConfig({ public_key: rsa.pem, algorithms: ["RS256", "RS384", "PS256"] })]);
    expect(await check(wide, rs384)).toBe("ok");
    expect(await check(wide, ps256)).toBe("ok");
  });

  test("a bad signature: other key, flipped bit, tampered payload", async () => {
    const rt = runtime([issuerConfig({ public_key: rsa.pem, algorithms: ["RS256"] })]);
    expect(await check(rt, await signJwt(claims(), rsaOther.privateKey, { alg: "RS256" }))).toBe("bad signature");
    const good = await signJwt(claims(), rsa.privateKey, { alg: "RS256" });
    const [h, p, s] = good.split(".");
    const flipped = s!.slice(0, 10) + (s![10] === "A" ? "B" : "A") + s!.slice(11);
    expect(await check(rt, `${h}.${p}.${flipped}`)).toBe("bad signature");
    expect(await check(rt, `${h}.${b64url(JSON.stringify(claims({ sub: "admin" })))}.${s}`)).toBe("bad signature");
    const hs = runtime([issuerConfig({ secret: SECRET })]);
    expect(await check(hs, await signJwt(claims(), "another-secret-another-secret-32", { alg: "HS256" }))).toBe("bad signature");
  });

  test("wrong iss (no issuer matches) and wrong or missing aud", async () => {
    const rt = runtime([issuerConfig({ secret: SECRET })]);
    expect(await check(rt, await signJwt(claims({ iss: "https://evil.test/" }), SECRET, { alg: "HS256" }))).toBe("unknown issuer");
    const noIss = claims();
    delete noIss.iss;
    expect(await check(rt, await signJwt(noIss, SECRET, { alg: "HS256" }))).toBe("unknown issuer");
    expect(await check(rt, await signJwt(claims({ aud: "other" }), SECRET, { alg: "HS256" }))).toBe("wrong audience");
    expect(await check(rt, await signJwt(claims({ aud: ["a", "b"] }), SECRET, { alg: "HS256" }))).toBe("wrong audience");
    const noAud = claims();
    delete noAud.aud;
    expect(await check(rt, await signJwt(noAud, SECRET, { alg: "HS256" }))).toBe("wrong audience");
  });

  test("a single issuer with issuer = null accepts any iss but still checks the rest", async () => {
    const rt = runtime([issuerConfig({ issuer: null, secret: SECRET })]);
    expect(await check(rt, await signJwt(claims({ iss: "https://anyone.test/" }), SECRET, { alg: "HS256" }))).toBe("ok");
    expect(await check(rt, await signJwt(claims({ aud: "x" }), SECRET, { alg: "HS256" }))).toBe("wrong audience");
  });

  test("expired, with and without clock skew", async () => {
    const expired = await signJwt(claims({ exp: sec() - 10 }), SECRET, { alg: "HS256" });
    expect(await check(runtime([issuerConfig({ secret: SECRET })]), expired)).toBe("token expired");
    expect(await check(runtime([issuerConfig({ secret: SECRET, clock_skew: 30_000 })]), expired)).toBe("ok");
    expect(await check(runtime([issuerConfig({ secret: SECRET, clock_skew: 5_000 })]), expired)).toBe("token expired");
    // exp == now is already expired (RFC 7519 §4.1.4: now must be before exp).
    expect(await check(runtime([issuerConfig({ secret: SECRET })]), await signJwt(claims({ exp: sec() }), SECRET, { alg: "HS256" }))).toBe("token expired");
  });

  test("nbf in the future, with and without clock skew", async () => {
    const early = await signJwt(claims({ nbf: sec() + 60 }), SECRET, { alg: "HS256" });
    expect(await check(runtime([issuerConfig({ secret: SECRET })]), early)).toBe("token not yet valid");
    expect(await check(runtime([issuerConfig({ secret: SECRET, clock_skew: 30_000 })]), early)).toBe("token not yet valid");
    expect(await check(runtime([issuerConfig({ secret: SECRET, clock_skew: 60_000 })]), early)).toBe("ok");
    expect(await check(runtime([issuerConfig({ secret: SECRET })]), await signJwt(claims({ nbf: sec() }), SECRET, { alg: "HS256" }))).toBe("ok");
  });

  test("missing exp when require_exp, accepted when not", async () => {
    const noExp = claims();
    delete noExp.exp;
    const token = await signJwt(noExp, SECRET, { alg: "HS256" });
    expect(await check(runtime([issuerConfig({ secret: SECRET })]), token)).toBe("token has no expiry");
    expect(await check(runtime([issuerConfig({ secret: SECRET, require_exp: false })]), token)).toBe("ok");
  });

  test("claims of the wrong type", async () => {
    const rt = runtime([issuerConfig({ secret: SECRET })]);
    for (const bad of [{ exp: "tomorrow" }, { nbf: "now" }, { iat: true }, { sub: 42 }, { jti: 7 }, { aud: ["api", 3] }]) {
      const token = handHs256({ alg: "HS256" }, { ...claims(), ...bad });
      expect(await check(rt, token)).toBe("invalid claim type");
    }
  });

  test("malformed segments, base64 and JSON", async () => {
    const rt = runtime([issuerConfig({ secret: SECRET })]);
    const h = b64url(JSON.stringify({ alg: "HS256" }));
    const p = b64url(JSON.stringify(claims()));
    const good = handHs256({ alg: "HS256" }, claims());
    const sig = good.split(".")[2]!;
    const cases: [string, string][] = [
      ["", "malformed token"],
      ["abc", "malformed token"],
      [`${h}.${p}`, "malformed token"],
      [`${h}.${p}.${sig}.x`, "malformed token"],
      [`${h}.${p}.a.b.c`, "encrypted tokens are not supported"],
      [`.${p}.${sig}`, "malformed token"],
      [`${h}..${sig}`, "malformed token"],
      [`${h}.${p}.`, "malformed token"],
      [`${h}!.${p}.${sig}`, "malformed token"], // bad base64url character
      [`${h}=.${p}.${sig}`, "malformed token"], // padding is not base64url (RFC 7515 §2)
      [`${h}.${p}.${sig}*`, "malformed token"],
      [`${b64url("not json")}.${p}.${sig}`, "malformed token"],
      [`${b64url("[1,2]")}.${p}.${sig}`, "malformed token"],
      [`${h}.${b64url("null")}.${sig}`, "malformed token"],
      [`${h}.${b64url("{\"iss\":")}.${sig}`, "malformed token"],
      [`${h}.${b64url(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))}.${sig}`, "malformed token"], // not UTF-8
      [`${h}.${"A".repeat(5)}.${sig}`, "malformed token"], // length ≡ 1 mod 4
      [`${b64url(JSON.stringify({ alg: 256 }))}.${p}.${sig}`, "malformed token"],
      [`${b64url(JSON.stringify({ alg: "HS256", kid: 5 }))}.${p}.${sig}`, "malformed token"],
    ];
    for (const [token, reason] of cases) {
      const got = await check(rt, token);
      if (got !== reason) throw new Error(`${JSON.stringify(token.slice(0, 40))}: expected ${reason}, got ${got}`);
    }
  });

  test("an oversized token is refused before any parsing, per issuer too", async () => {
    const rt = runtime([issuerConfig({ secret: SECRET, max_token_size: 1024 })]);
    expect(await check(rt, "x".repeat(1025))).toBe("token too large");
    const big = await signJwt(claims({ pad: "p".repeat(1100) }), SECRET, { alg: "HS256" });
    expect(await check(rt, big)).toBe("token too large");
    const small = await signJwt(claims(), SECRET, { alg: "HS256" });
    expect(await check(rt, small)).toBe("ok");
  });

  test("unknown crit headers, b64, and unexpected typ", async () => {
    const rt = runtime([issuerConfig({ secret: SECRET })]);
    expect(await check(rt, handHs256({ alg: "HS256", crit: ["x-ext"], "x-ext": 1 }, claims()))).toBe("unsupported critical header");
    expect(await check(rt, handHs256({ alg: "HS256", crit: ["exp"] }, claims()))).toBe("unsupported critical header");
    expect(await check(rt, handHs256({ alg: "HS256", crit: [] }, claims()))).toBe("unsupported critical header");
    // jose signs with crit when told the extension is understood; we understand none.
    const viaJose = await signJwt(claims(), SECRET, { alg: "HS256", crit: ["x-ext"], "x-ext": true }, { crit: { "x-ext": true } });
    expect(await check(rt, viaJose)).toBe("unsupported critical header");
    expect(await check(rt, handHs256({ alg: "HS256", b64: false, crit: ["b64"] }, claims()))).toBe("unsupported critical header");
    expect(await check(rt, handHs256({ alg: "HS256", b64: true }, claims()))).toBe("malformed token");
    expect(await check(rt, handHs256({ alg: "HS256", typ: "dpop+jwt" }, claims()))).toBe("unexpected token type");
    expect(await check(rt, handHs256({ alg: "HS256", typ: 1 }, claims()))).toBe("unexpected token type");
  });

  test("keys embedded in the token header are ignored (jwk, jku)", async () => {
    const rt = runtime([issuerConfig({ public_key: rsa.pem, algorithms: ["RS256"] })]);
    const token = await handRs256({ alg: "RS256", jwk: rsaOther.jwk, jku: "http://127.0.0.1:1/jwks" }, claims(), rsaOther);
    expect(await check(rt, token)).toBe("bad signature");
  });
});

describe("agrees with jose on rejections", () => {
  test("each case refused here is refused by jose.jwtVerify too", async () => {
    const rt = runtime([issuerConfig({ public_key: rsa.pem, algorithms: ["RS256"] })]);
    const opts = { issuer: ISSUER, audience: "api", algorithms: ["RS256"], requiredClaims: ["exp"], currentDate: new Date(clock) };
    const noExp = claims();
    delete noExp.exp;
    const tokens = [
      await signJwt(claims(), rsa.pem, { alg: "HS256" }),
      await signJwt(claims({ exp: sec() - 1 }), rsa.privateKey, { alg: "RS256" }),
      await signJwt(claims({ nbf: sec() + 100 }), rsa.privateKey, { alg: "RS256" }),
      await signJwt(claims({ aud: "x" }), rsa.privateKey, { alg: "RS256" }),
      await signJwt(noExp, rsa.privateKey, { alg: "RS256" }),
      await signJwt(claims(), rsaOther.privateKey, { alg: "RS256" }),
      await handRs256({ alg: "RS256", crit: ["x-ext"], "x-ext": 1 }, claims(), rsa),
    ];
    for (const token of tokens) {
      expect(await check(rt, token)).not.toBe("ok");
      await expect(jose.jwtVerify(token, rsa.publicKey, opts)).rejects.toBeDefined();
    }
    const good = await signJwt(claims(), rsa.privateKey, { alg: "RS256" });
    expect(await check(rt, good)).toBe("ok");
    expect((await jose.jwtVerify(good, rsa.publicKey, opts)).payload.sub).toBe("user-1");
  });
});

describe("several issuers", () => {
  const A = "https://a.test/";
  const B = "https://b.test/";
  let rt: AuthRuntime;
  beforeAll(() => {
    rt = runtime([
      issuerConfig({ issuer: A, audience: ["api-a"], secret: SECRET, max_token_size: 2048 }),
      issuerConfig({ issuer: B, audience: ["api-b"], public_key: rsa.pem, algorithms: ["RS256"] }),
    ]);
  });

  test("each token is checked with its own issuer's key and rules", async () => {
    expect(await check(rt, await signJwt(claims({ iss: A, aud: "api-a" }), SECRET, { alg: "HS256" }))).toBe("ok");
    expect(await check(rt, await signJwt(claims({ iss: B, aud: "api-b" }), rsa.privateKey, { alg: "RS256" }))).toBe("ok");
    // Right key, other issuer's audience.
    expect(await check(rt, await signJwt(claims({ iss: A, aud: "api-b" }), SECRET, { alg: "HS256" }))).toBe("wrong audience");
    // Claiming A but signed the way B signs: A allows only HS256.
    expect(await check(rt, await signJwt(claims({ iss: A, aud: "api-a" }), rsa.privateKey, { alg: "RS256" }))).toBe("algorithm not allowed");
    // Claiming B but HMAC-signed with A's secret.
    expect(await check(rt, await signJwt(claims({ iss: B, aud: "api-b" }), SECRET, { alg: "HS256" }))).toBe("algorithm not allowed");
    expect(await check(rt, await signJwt(claims({ iss: "https://c.test/" }), SECRET, { alg: "HS256" }))).toBe("unknown issuer");
    expect(await check(rt, await signJwt(claims({ iss: A, aud: "api-a", pad: "p".repeat(2100) }), SECRET, { alg: "HS256" }))).toBe("token too large");
  });

  test("config problems are reported with their key path", () => {
    const bad = (jwt: JwtIssuerConfig[]) => {
      try {
        runtime(jwt);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems;
      }
      throw new Error("expected ConfigError");
    };
    expect(bad([issuerConfig({ issuer: null, secret: SECRET }), issuerConfig({ issuer: B, secret: SECRET })])).toContain(
      "jwt[0].issuer: required when several [[jwt]] issuers are configured",
    );
    expect(bad([issuerConfig({ issuer: A, secret: SECRET }), issuerConfig({ issuer: A, secret: SECRET })])[0]).toContain("configured twice");
    expect(bad([issuerConfig({ secret: SECRET, public_key: rsa.pem })])[0]).toBe("jwt[0]: set exactly one of jwks_url, secret, public_key");
    expect(bad([issuerConfig({})])[0]).toBe("jwt[0]: set exactly one of jwks_url, secret, public_key");
    expect(bad([issuerConfig({ secret: "short" })])[0]).toContain("jwt[0].secret: HS256 needs a secret of at least 32 bytes");
    expect(bad([issuerConfig({ secret: SECRET, algorithms: ["HS512"] })])[0]).toContain("at least 64 bytes");
    expect(bad([issuerConfig({ secret: SECRET, algorithms: ["none"] })])[0]).toContain('"none" is never accepted');
    expect(bad([issuerConfig({ secret: SECRET, algorithms: ["XS1"] })])[0]).toContain('unknown algorithm "XS1"');
    expect(bad([issuerConfig({ secret: SECRET, algorithms: ["RS256"] })])[0]).toContain("needs a public key");
    expect(bad([issuerConfig({ jwks_url: "http://127.0.0.1:1/", algorithms: ["HS256"] })])[0]).toContain("cannot be used with jwks_url");
    expect(bad([issuerConfig({ public_key: "not a key" })])[0]).toStartWith("jwt[0].public_key:");
    expect(bad([issuerConfig({ public_key: ec.pem, algorithms: ["ES384"] })])[0]).toContain('"ES384" does not fit');
  });
});

describe("identity from claims", () => {
  test("consumer claim maps to [[consumers]]: roles are the union", async () => {
    const rt = runtime([issuerConfig({ secret: SECRET })], { consumers: [consumer("mobile-app", [], ["user", "mobile"])] });
    const r = await rt.jwt!.authenticate(await signJwt(claims({ consumer: "mobile-app", roles: ["user", "beta"] }), SECRET, { alg: "HS256" }));
    if (r.failed) throw new Error(r.reason);
    expect(r.identity.consumer).toBe("mobile-app");
    expect([...r.identity.roles].sort()).toEqual(["beta", "mobile", "user"]);
    const other = await rt.jwt!.authenticate(await signJwt(claims({ consumer: "nobody" }), SECRET, { alg: "HS256" }));
    if (other.failed) throw new Error(other.reason);
    expect(other.identity.consumer).toBeNull();
  });

  test("scopes = space-separated scope ∪ permissions array; dotted role claims", async () => {
    const rt = runtime([issuerConfig({ secret: SECRET, roles_claim: "realm_access.roles" })]);
    const r = await rt.jwt!.authenticate(
      await signJwt(claims({ scope: "read  write", permissions: ["admin:x", 5], realm_access: { roles: ["ops"] } }), SECRET, { alg: "HS256" }),
    );
    if (r.failed) throw new Error(r.reason);
    expect([...r.identity.scopes]).toEqual(["read", "write", "admin:x"]);
    expect([...r.identity.roles]).toEqual(["ops"]);
    expect(r.identity.claims?.sub).toBe("user-1");
  });
});

describe("verified-token cache", () => {
  test("a repeated token is answered from the cache, synchronously, as the same grant", async () => {
    const rt = runtime([issuerConfig({ public_key: rsa.pem, algorithms: ["RS256"] })]);
    const token = await signJwt(claims(), rsa.privateKey, { alg: "RS256" });
    const first = rt.jwt!.authenticate(token);
    const second = rt.jwt!.authenticate(token);
    expect(second instanceof Promise).toBe(false);
    expect(second).toBe(first);
    expect(rt.jwt!.cacheSize).toBe(1);
  });

  test("a different token never hits another token's entry", async () => {
    const rt = runtime([issuerConfig({ secret: SECRET })]);
    const a = await signJwt(claims({ sub: "a" }), SECRET, { alg: "HS256" });
    expect(await check(rt, a)).toBe("ok");
    // Same header and payload, different (wrong) signature: must be verified, not served from a's entry.
    const forged = a.slice(0, a.lastIndexOf(".") + 1) + "A".repeat(43);
    expect(await check(rt, forged)).toBe("bad signature");
  });

  test("entries expire at the token's exp", async () => {
    const saved = clock;
    const rt = runtime([issuerConfig({ secret: SECRET })]);
    const token = await signJwt(claims({ exp: sec() + 60 }), SECRET, { alg: "HS256" });
    expect(await check(rt, token)).toBe("ok");
    clock += 59_000;
    expect(await check(rt, token)).toBe("ok");
    clock += 1_000;
    expect(await check(rt, token)).toBe("token expired");
    clock = saved;
  });

  test("with clock skew the token is still accepted past exp, but not cached", async () => {
    const saved = clock;
    const rt = runtime([issuerConfig({ secret: SECRET, clock_skew: 10_000 })]);
    const token = await signJwt(claims({ exp: sec() - 5 }), SECRET, { alg: "HS256" });
    expect(await check(rt, token)).toBe("ok");
    expect(rt.jwt!.cacheSize).toBe(0);
    clock += 5_000;
    expect(await check(rt, token)).toBe("token expired");
    clock = saved;
  });

  test("a revoked jti is refused even when cached; unrevoking restores it", async () => {
    const config = gatewayConfig({ jwt: [issuerConfig({ secret: SECRET })] });
    const shared = allocateAuthShared(config);
    const rt = createAuthRuntime(config, shared, now);
    runtimes.push(rt);
    const token = await signJwt(claims({ jti: "t-1" }), SECRET, { alg: "HS256" });
    expect(await check(rt, token)).toBe("ok");
    const writer = new RevocationSet(shared);
    writer.revoke("jti", "t-1");
    expect(await check(rt, token)).toBe("token revoked");
    writer.unrevoke("jti", "t-1");
    expect(await check(rt, token)).toBe("ok");
  });

  test("a jti revoked in config is refused before caching", async () => {
    const rt = runtime([issuerConfig({ secret: SECRET })], { auth: { revoked_jtis: ["bad-jti"] } });
    expect(await check(rt, await signJwt(claims({ jti: "bad-jti" }), SECRET, { alg: "HS256" }))).toBe("token revoked");
    expect(rt.jwt!.cacheSize).toBe(0);
  });

  test("the cache is bounded by token_cache_size", async () => {
    const rt = runtime([issuerConfig({ secret: SECRET })], { auth: { token_cache_size: 4 } });
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => signJwt(claims({ sub: `u${i}` }), SECRET, { alg: "HS256" })));
    for (const t of tokens) expect(await check(rt, t)).toBe("ok");
    expect(rt.jwt!.cacheSize).toBe(4);
    const off = runtime([issuerConfig({ secret: SECRET })], { auth: { token_cache_size: 0 } });
    expect(await check(off, tokens[0]!)).toBe("ok");
    expect(off.jwt!.cacheSize).toBe(0);
  });
});
