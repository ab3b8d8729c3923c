/**
 * The JWT attack list, table-driven: each row mints a token with real keys,
 * names the exact refusal, and says what jose.jwtVerify (the oracle) does
 * with it: "rejects", or "accepts" where we are deliberately stricter than
 * jose (duplicate members, non-canonical base64url, typ, kid types, ...).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPublicKey, generateKeyPairSync, sign as nodeSign } from "node:crypto";
import * as jose from "jose";
import { allocateAuthShared, createAuthRuntime, type AuthRuntime } from "../../src/auth/index.ts";
import type { JwtIssuerConfig } from "../../src/config/types.ts";
import { claims, CLOCK, HS_SECRET, hs256Raw, mint, nonCanonical, ORDER, payloadSegment, rawClaims, SEC, seg, signatureBytes, signatureOf, withSignature } from "./attack-tokens.ts";
import { gatewayConfig, ISSUER, issuerConfig } from "./helpers.ts";
import { keyPair, type TestKeyPair } from "./keys.ts";

type On = "hs" | "rs" | "es256" | "es384" | "ed" | "jwks";
interface Attack {
  name: string;
  on: On;
  token: () => Promise<string> | string;
  reason: string;
  jose: "rejects" | "accepts";
}

let rsa: TestKeyPair, evil: TestKeyPair, ec: TestKeyPair, ec384: TestKeyPair, ed: TestKeyPair, encKey: TestKeyPair;
let jwksKeys: jose.JWK[];
const weak = generateKeyPairSync("rsa", { modulusLength: 1024 });
const OCT = "an-oct-key-in-the-jwks-an-oct-key-in-the-jwks!!";
let jwksServer: ReturnType<typeof Bun.serve>;
let attacker: ReturnType<typeof Bun.serve>;
let attackerHits = 0;
const rts = {} as Record<On, AuthRuntime>;
const oracle = {} as Record<On, { key: Parameters<typeof jose.jwtVerify>[1]; algorithms: string[] }>;

function runtime(cfg: Partial<JwtIssuerConfig>): AuthRuntime {
  const config = gatewayConfig({ jwt: [issuerConfig(cfg)] });
  return createAuthRuntime(config, allocateAuthShared(config), () => CLOCK);
}

beforeAll(async () => {
  [rsa, evil, ec, ec384, ed, encKey] = await Promise.all([
    keyPair("RS256", "rsa"), keyPair("RS256", "evil"), keyPair("ES256", "ec"), keyPair("ES384"), keyPair("EdDSA"), keyPair("RS256"),
  ]);
  jwksKeys = [
    { ...rsa.jwk, alg: "RS256", use: "sig" },
    { ...ec.jwk, alg: "ES256" },
    { ...rsa.jwk, kid: "rsa-as-es", alg: "ES256" }, // an RSA key labelled ES256
    { kty: "oct", kid: "oct", k: Buffer.from(OCT).toString("base64url") },
    { ...encKey.jwk, kid: "enc", use: "enc" },
    { ...encKey.jwk, kid: "ops", key_ops: ["encrypt"] },
    { ...encKey.jwk, kid: "rs512", alg: "RS512" },
    { ...ec384.jwk, kid: "p384-as-es256", alg: "ES256" }, // wrong curve for its alg
    { ...weak.publicKey.export({ format: "jwk" }), kid: "weak", alg: "RS256" }, // 1024 bits (RFC 7518 §3.3: ≥ 2048)
  ];
  jwksServer = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => Response.json({ keys: jwksKeys }) });
  attacker = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => (attackerHits++, Response.json({ keys: [evil.jwk] })) });
  const jwksUrl = `http://127.0.0.1:${jwksServer.port}/jwks.json`;
  rts.hs = runtime({ secret: HS_SECRET, algorithms: ["HS256", "HS384", "HS512"] });
  rts.rs = runtime({ public_key: rsa.pem, algorithms: ["RS256", "PS256"] });
  rts.es256 = runtime({ public_key: ec.pem, algorithms: ["ES256"] });
  rts.es384 = runtime({ public_key: ec384.pem, algorithms: ["ES384"] });
  rts.ed = runtime({ public_key: ed.pem, algorithms: ["EdDSA"] });
  rts.jwks = runtime({ jwks_url: jwksUrl, algorithms: ["RS256", "ES256"], jwks_refresh: 0, jwks_cooldown: 3_600_000 });
  await rts.jwks.ready();
  oracle.hs = { key: new TextEncoder().encode(HS_SECRET), algorithms: ["HS256", "HS384", "HS512"] };
  oracle.rs = { key: (h: jose.JWSHeaderParameters) => jose.importSPKI(rsa.pem, h.alg!), algorithms: ["RS256", "PS256"] };
  oracle.es256 = { key: ec.publicKey, algorithms: ["ES256"] };
  oracle.es384 = { key: ec384.publicKey, algorithms: ["ES384"] };
  oracle.ed = { key: ed.publicKey, algorithms: ["EdDSA"] };
  oracle.jwks = { key: jose.createLocalJWKSet({ keys: jwksKeys }), algorithms: ["RS256", "ES256"] };
});
afterAll(() => {
  for (const rt of Object.values(rts)) rt.close();
  jwksServer?.stop(true);
  attacker?.stop(true);
});

const hs = (header: object, payload: object | string = claims()) => mint("HS256", HS_SECRET, { alg: "HS256", ...header }, payload);
const rs = (header: object, payload: object = claims(), key = rsa) => mint("RS256", key, { alg: "RS256", ...header }, payload);
const es = async (edit: (sig: Buffer) => Uint8Array, pair = ec, alg = "ES256") => {
  const t = await mint(alg, pair, { alg });
  return withSignature(t, edit(signatureOf(t)));
};
const n256 = () => ORDER["P-256"];
const hsGood = () => hs({});

const ATTACKS: Attack[] = [
  // alg "none" (RFC 8725 §3.1): never in any allowlist, in any casing, signed or not.
  ...["none", "None", "NONE", "nOnE"].flatMap((alg): Attack[] => [
    { name: `alg ${alg}, empty signature`, on: "hs", token: () => `${seg({ alg })}.${seg(claims())}.`, reason: "algorithm not allowed", jose: "rejects" },
    { name: `alg ${alg}, with an HMAC signature`, on: "hs", token: () => mint("HS256", HS_SECRET, { alg }), reason: "algorithm not allowed", jose: "rejects" },
  ]),
  { name: "alg none, no trailing dot", on: "hs", token: () => `${seg({ alg: "none" })}.${seg(claims())}`, reason: "malformed token", jose: "rejects" },
  { name: "HS256 with the signature stripped, trailing dot kept", on: "hs", token: async () => (await hsGood()).replace(/[^.]+$/, ""), reason: "malformed token", jose: "rejects" },
  { name: "no alg member", on: "hs", token: () => mint("HS256", HS_SECRET, { typ: "JWT" }), reason: "malformed token", jose: "rejects" },
  { name: "alg not a string", on: "hs", token: () => mint("HS256", HS_SECRET, { alg: ["HS256"] }), reason: "malformed token", jose: "rejects" },
  { name: "alg in the wrong case (hs256)", on: "hs", token: () => mint("HS256", HS_SECRET, { alg: "hs256" }), reason: "algorithm not allowed", jose: "rejects" },
  { name: "header says HS384, signed HS256", on: "hs", token: () => mint("HS256", HS_SECRET, { alg: "HS384" }), reason: "bad signature", jose: "rejects" },
  // Key confusion (RFC 8725 §2.1): the public key's bytes as an HMAC secret.
  { name: "RS256→HS256, PEM as the secret", on: "rs", token: () => mint("HS256", rsa.pem, { alg: "HS256" }), reason: "algorithm not allowed", jose: "rejects" },
  { name: "RS256→HS256, JWK JSON as the secret", on: "rs", token: () => mint("HS256", JSON.stringify(rsa.jwk), { alg: "HS256" }), reason: "algorithm not allowed", jose: "rejects" },
  { name: "RS256→HS256, SPKI DER as the secret", on: "rs", token: () => mint("HS256", createPublicKey(rsa.pem).export({ type: "spki", format: "der" }), { alg: "HS256" }), reason: "algorithm not allowed", jose: "rejects" },
  { name: "header RS256, PSS signature", on: "rs", token: () => mint("PS256", rsa, { alg: "RS256" }), reason: "bad signature", jose: "rejects" },
  { name: "RS256 signature one byte short", on: "rs", token: async () => { const t = await rs({}); return withSignature(t, signatureOf(t).subarray(1)); }, reason: "bad signature", jose: "rejects" },
  // ECDSA (RFC 7518 §3.4): raw R || S of the curve's length, 0 < r, s < n.
  { name: "ES256 psychic signature r = s = 0 (CVE-2022-21449)", on: "es256", token: () => es(() => new Uint8Array(64)), reason: "bad signature", jose: "rejects" },
  { name: "ES384 psychic signature r = s = 0", on: "es384", token: () => es(() => new Uint8Array(96), ec384, "ES384"), reason: "bad signature", jose: "rejects" },
  { name: "ES256 r = n", on: "es256", token: () => es((s) => Buffer.concat([n256(), s.subarray(32)])), reason: "bad signature", jose: "rejects" },
  { name: "ES256 s = n", on: "es256", token: () => es((s) => Buffer.concat([s.subarray(0, 32), n256()])), reason: "bad signature", jose: "rejects" },
  { name: "ES256 r = s = 2^256 - 1", on: "es256", token: () => es(() => Buffer.alloc(64, 0xff)), reason: "bad signature", jose: "rejects" },
  { name: "ES256 signature 63 bytes", on: "es256", token: () => es((s) => s.subarray(0, 63)), reason: "bad signature", jose: "rejects" },
  { name: "ES256 signature 65 bytes", on: "es256", token: () => es((s) => Buffer.concat([s, Buffer.alloc(1)])), reason: "bad signature", jose: "rejects" },
  { name: "ES256 DER-encoded signature", on: "es256", token: async () => { const t = await mint("ES256", ec, { alg: "ES256" }); return withSignature(t, await signatureBytes("ES256", ec, t.slice(0, t.lastIndexOf(".")), true)); }, reason: "bad signature", jose: "rejects" },
  { name: "ES256 token at an ES384 issuer", on: "es384", token: () => mint("ES256", ec, { alg: "ES256" }), reason: "algorithm not allowed", jose: "rejects" },
  { name: "EdDSA all-zero signature", on: "ed", token: async () => withSignature(await mint("EdDSA", ed, { alg: "EdDSA" }), new Uint8Array(64)), reason: "bad signature", jose: "rejects" },
  { name: "EdDSA signature 63 bytes", on: "ed", token: async () => { const t = await mint("EdDSA", ed, { alg: "EdDSA" }); return withSignature(t, signatureOf(t).subarray(1)); }, reason: "bad signature", jose: "rejects" },
  // Keys named by the token itself are never used (RFC 8725 §3.10).
  { name: "embedded jwk header (attacker's key)", on: "rs", token: () => rs({ jwk: evil.jwk }, claims(), evil), reason: "bad signature", jose: "rejects" },
  { name: "jku header to the attacker's JWKS", on: "rs", token: () => rs({ jku: `http://127.0.0.1:${attacker.port}/` }, claims(), evil), reason: "bad signature", jose: "rejects" },
  { name: "x5u header", on: "rs", token: () => rs({ x5u: `http://127.0.0.1:${attacker.port}/cert.pem` }, claims(), evil), reason: "bad signature", jose: "rejects" },
  { name: "x5c header", on: "rs", token: () => rs({ x5c: [createPublicKey(evil.pem).export({ type: "spki", format: "der" }).toString("base64")] }, claims(), evil), reason: "bad signature", jose: "rejects" },
  { name: "JWKS issuer: jku + unknown kid", on: "jwks", token: () => rs({ kid: "evil", jku: `http://127.0.0.1:${attacker.port}/` }, claims(), evil), reason: "no matching key", jose: "rejects" },
  { name: "JWKS issuer: embedded jwk claiming the good kid", on: "jwks", token: () => rs({ kid: "rsa", jwk: { ...evil.jwk, kid: "rsa" } }, claims(), evil), reason: "bad signature", jose: "rejects" },
  // kid is only ever a Map key: no file, no SQL, no URL.
  { name: "kid path traversal, signed with an empty key", on: "hs", token: () => mint("HS256", "", { alg: "HS256", kid: "../../../../../dev/null" }), reason: "bad signature", jose: "rejects" },
  { name: "kid SQL injection, signed with the injected key", on: "hs", token: () => mint("HS256", "k", { alg: "HS256", kid: "x' UNION SELECT 'k' --" }), reason: "bad signature", jose: "rejects" },
  { name: "JWKS issuer: kid path traversal", on: "jwks", token: () => rs({ kid: "../../etc/passwd" }), reason: "no matching key", jose: "rejects" },
  { name: "JWKS issuer: 4000-character kid", on: "jwks", token: () => rs({ kid: "k".repeat(4000) }), reason: "no matching key", jose: "rejects" },
  { name: "JWKS issuer: numeric kid", on: "jwks", token: () => rs({ kid: 42 }), reason: "malformed token", jose: "rejects" },
  { name: "object kid with a static key", on: "hs", token: () => hs({ kid: { $ne: null } }), reason: "malformed token", jose: "accepts" },
  { name: "JWKS: kid of an RSA key labelled ES256", on: "jwks", token: () => mint("ES256", ec, { alg: "ES256", kid: "rsa-as-es" }), reason: "no matching key", jose: "rejects" },
  { name: "JWKS: kid of the EC key on an RS256 token", on: "jwks", token: () => rs({ kid: "ec" }), reason: "no matching key", jose: "rejects" },
  { name: "JWKS: HS256 with the set's oct key", on: "jwks", token: () => mint("HS256", OCT, { alg: "HS256", kid: "oct" }), reason: "algorithm not allowed", jose: "rejects" },
  { name: 'JWKS: key with use "enc"', on: "jwks", token: () => rs({ kid: "enc" }, claims(), encKey), reason: "no matching key", jose: "rejects" },
  { name: "JWKS: key_ops without verify", on: "jwks", token: () => rs({ kid: "ops" }, claims(), encKey), reason: "no matching key", jose: "rejects" },
  { name: "JWKS: key whose alg (RS512) is not the token's", on: "jwks", token: () => rs({ kid: "rs512" }, claims(), encKey), reason: "no matching key", jose: "rejects" },
  { name: "JWKS: P-384 key labelled ES256", on: "jwks", token: () => mint("ES256", ec384, { alg: "ES256", kid: "p384-as-es256" }), reason: "no matching key", jose: "rejects" },
  {
    name: "JWKS: 1024-bit RSA key",
    on: "jwks",
    token: () => { const input = `${seg({ alg: "RS256", kid: "weak" })}.${seg(claims())}`; return `${input}.${nodeSign("sha256", Buffer.from(input), weak.privateKey).toString("base64url")}`; },
    reason: "no matching key",
    jose: "rejects",
  },
  // crit and b64 (RFC 7515 §4.1.11, RFC 7797): we understand no extension.
  { name: "crit with an unknown name", on: "hs", token: () => hs({ crit: ["x-ext"], "x-ext": 1 }), reason: "unsupported critical header", jose: "rejects" },
  { name: "crit empty", on: "hs", token: () => hs({ crit: [] }), reason: "unsupported critical header", jose: "rejects" },
  { name: "crit naming an absent member", on: "hs", token: () => hs({ crit: ["x-absent"] }), reason: "unsupported critical header", jose: "rejects" },
  { name: "crit not an array", on: "hs", token: () => hs({ crit: "x-ext", "x-ext": 1 }), reason: "unsupported critical header", jose: "rejects" },
  { name: "b64: false with crit", on: "hs", token: () => hs({ b64: false, crit: ["b64"] }), reason: "unsupported critical header", jose: "rejects" },
  { name: "b64: false without crit", on: "hs", token: () => hs({ b64: false }), reason: "malformed token", jose: "accepts" },
  // typ (RFC 8725 §3.11): JWT, at+jwt (RFC 9068) or absent; other JWT kinds are not access tokens.
  { name: "typ dpop+jwt", on: "hs", token: () => hs({ typ: "dpop+jwt" }), reason: "unexpected token type", jose: "accepts" },
  { name: "typ secevent+jwt", on: "hs", token: () => hs({ typ: "secevent+jwt" }), reason: "unexpected token type", jose: "accepts" },
  { name: "typ not a string", on: "hs", token: () => hs({ typ: 7 }), reason: "unexpected token type", jose: "accepts" },
  { name: "nested JWT (cty JWT) is not unwrapped", on: "hs", token: async () => hs({ cty: "JWT" }, await hsGood()), reason: "nested tokens are not supported", jose: "rejects" },
  { name: "cty not a string", on: "hs", token: () => hs({ cty: 5 }), reason: "malformed token", jose: "accepts" },
  // NumericDate claims (RFC 7519 §2, §4.1.4-6).
  { name: "exp a string", on: "hs", token: () => hs({}, claims({ exp: String(SEC + 3600) as never })), reason: "invalid claim type", jose: "rejects" },
  { name: "exp null", on: "hs", token: () => hs({}, claims({ exp: null as never })), reason: "invalid claim type", jose: "rejects" },
  { name: "exp 1e999 (Infinity)", on: "hs", token: () => hs({}, rawClaims('"exp":1e999').replace(/"exp":\d+,/, "")), reason: "invalid claim type", jose: "accepts" },
  { name: "exp negative", on: "hs", token: () => hs({}, claims({ exp: -1 })), reason: "token expired", jose: "rejects" },
  { name: "exp half a second ago (float)", on: "hs", token: () => hs({}, claims({ exp: SEC - 0.5 })), reason: "token expired", jose: "rejects" },
  { name: "nbf a string", on: "hs", token: () => hs({}, claims({ nbf: "now" as never })), reason: "invalid claim type", jose: "rejects" },
  { name: "nbf 1e300", on: "hs", token: () => hs({}, claims({ nbf: 1e300 })), reason: "token not yet valid", jose: "rejects" },
  { name: "iat a string", on: "hs", token: () => hs({}, claims({ iat: "yesterday" as never })), reason: "invalid claim type", jose: "rejects" },
  { name: "iat NaN-like (\"NaN\")", on: "hs", token: () => hs({}, claims({ iat: "NaN" as never })), reason: "invalid claim type", jose: "rejects" },
  // aud and iss (RFC 7519 §4.1.1, §4.1.3).
  { name: "aud array without us", on: "hs", token: () => hs({}, claims({ aud: ["a", "b"] })), reason: "wrong audience", jose: "rejects" },
  { name: "aud empty array", on: "hs", token: () => hs({}, claims({ aud: [] })), reason: "wrong audience", jose: "rejects" },
  { name: "aud array with us and a number", on: "hs", token: () => hs({}, claims({ aud: ["api", 3] as never })), reason: "invalid claim type", jose: "accepts" },
  { name: "aud a number", on: "hs", token: () => hs({}, claims({ aud: 5 as never })), reason: "invalid claim type", jose: "rejects" },
  { name: "aud in another case", on: "hs", token: () => hs({}, claims({ aud: "API" })), reason: "wrong audience", jose: "rejects" },
  { name: "iss of another issuer", on: "hs", token: () => hs({}, claims({ iss: "https://evil.test/" })), reason: "unknown issuer", jose: "rejects" },
  { name: "iss without its trailing slash", on: "hs", token: () => hs({}, claims({ iss: ISSUER.slice(0, -1) })), reason: "unknown issuer", jose: "rejects" },
  { name: "iss not a string", on: "hs", token: () => hs({}, claims({ iss: [ISSUER] as never })), reason: "unknown issuer", jose: "rejects" },
  // Duplicate member names (RFC 7515 §5.2, RFC 7519 §4): refused, not last-wins.
  { name: "duplicate alg in the header", on: "hs", token: () => mint("HS256", HS_SECRET, '{"alg":"none","alg":"HS256"}'), reason: "malformed token", jose: "accepts" },
  { name: "duplicate sub in the payload", on: "hs", token: () => hs({}, rawClaims('"sub":"admin"')), reason: "malformed token", jose: "accepts" },
  { name: "duplicate sub spelled with an escape", on: "hs", token: () => hs({}, rawClaims('"s\\u0075b":"admin"')), reason: "malformed token", jose: "accepts" },
  // Not a JSON object (RFC 7515 §4, RFC 7519 §7.2 step 10).
  ...['[{"alg":"HS256"}]', '"HS256"', "256", "null"].map((h): Attack => ({ name: `header ${h}`, on: "hs", token: () => mint("HS256", HS_SECRET, h), reason: "malformed token", jose: "rejects" })),
  ...["[1]", "123", "null", '"claims"'].map((p): Attack => ({ name: `payload ${p}`, on: "hs", token: () => hs({}, p), reason: "malformed token", jose: "rejects" })),
  // base64url (RFC 7515 §2, RFC 4648 §3.5, §5): strict, unpadded, canonical.
  { name: "payload padded with =", on: "hs", token: () => { const p = payloadSegment(2); return hs256Raw(seg({ alg: "HS256" }), `${p}==`); }, reason: "malformed token", jose: "accepts" },
  { name: "signature padded with =", on: "hs", token: async () => `${await hsGood()}=`, reason: "malformed token", jose: "accepts" },
  { name: "payload in the standard alphabet (+ /)", on: "hs", token: () => hs256Raw(seg({ alg: "HS256" }), payloadSegment(0, true).replace(/-/g, "+").replace(/_/g, "/")), reason: "malformed token", jose: "rejects" },
  { name: "whitespace inside the payload", on: "hs", token: () => { const p = payloadSegment(0); return hs256Raw(seg({ alg: "HS256" }), `${p.slice(0, 8)} ${p.slice(8)}`); }, reason: "malformed token", jose: "accepts" },
  { name: "line break inside the signature", on: "hs", token: async () => { const t = await hsGood(); return `${t.slice(0, -6)}\n${t.slice(-6)}`; }, reason: "malformed token", jose: "accepts" },
  { name: "non-canonical trailing bits in the signature", on: "hs", token: async () => nonCanonical(await hsGood()), reason: "malformed token", jose: "accepts" },
  { name: "non-canonical trailing bits in the payload", on: "hs", token: () => hs256Raw(seg({ alg: "HS256" }), nonCanonical(payloadSegment(3))), reason: "malformed token", jose: "accepts" },
  { name: "segment length ≡ 1 (mod 4)", on: "hs", token: () => hs256Raw(seg({ alg: "HS256" }), `${payloadSegment(0)}A`), reason: "malformed token", jose: "rejects" },
  // Structure (RFC 7515 §7.1, RFC 7516 §7.1).
  { name: "4 parts", on: "hs", token: async () => `${await hsGood()}.x`, reason: "malformed token", jose: "rejects" },
  { name: "5 parts (JWE)", on: "hs", token: () => `${seg({ alg: "dir", enc: "A256GCM" })}..${"A".repeat(16)}.${"B".repeat(22)}.${"C".repeat(22)}`, reason: "encrypted tokens are not supported", jose: "rejects" },
  { name: "leading space", on: "hs", token: async () => ` ${await hsGood()}`, reason: "malformed token", jose: "rejects" },
  { name: "trailing space", on: "hs", token: async () => `${await hsGood()} `, reason: "malformed token", jose: "accepts" },
  { name: "9000 characters of garbage: refused before parsing", on: "hs", token: () => "!".repeat(9000), reason: "token too large", jose: "rejects" },
  { name: "over max_token_size, validly signed", on: "hs", token: () => hs({}, claims({ pad: "p".repeat(9000) })), reason: "token too large", jose: "accepts" },
];

describe("JWT attacks", () => {
  test("the table is the size the brief asks for", () => {
    expect(ATTACKS.length).toBeGreaterThanOrEqual(35);
    expect(new Set(ATTACKS.map((a) => a.name)).size).toBe(ATTACKS.length);
  });

  for (const attack of ATTACKS) {
    test(`${attack.on}: ${attack.name} → ${attack.reason}; jose ${attack.jose}`, async () => {
      const token = await attack.token();
      const result = await rts[attack.on].jwt!.authenticate(token);
      expect(result.failed ? result.reason : "ok").toBe(attack.reason);
      const { key, algorithms } = oracle[attack.on];
      const opts = { issuer: ISSUER, audience: "api", algorithms, requiredClaims: ["exp"], currentDate: new Date(CLOCK) };
      const verdict = await jose.jwtVerify(token, key as never, opts).then(() => "accepts", () => "rejects");
      expect(verdict).toBe(attack.jose);
    });
  }

  test("no attack made the gateway fetch a key from the token's jku/x5u", () => {
    expect(attackerHits).toBe(0);
  });

  test("the same keys accept honest tokens (the refusals above are not a broken setup)", async () => {
    const honest: [On, string][] = [
      ["hs", await hsGood()],
      ["hs", await mint("HS384", HS_SECRET, { alg: "HS384" })],
      ["hs", await mint("HS512", HS_SECRET, { alg: "HS512", typ: "jwt" })],
      ["hs", await hs({ typ: "at+jwt" }, claims({ exp: SEC + 0.5, nbf: SEC - 0.25, iat: -1, aud: ["x", "api"] }))],
      ["hs", await hs({ typ: "application/at+jwt" }, claims({ exp: 1e300, iat: 1e300 }))],
      ["rs", await rs({ typ: "JWT" })],
      ["rs", await mint("PS256", rsa, { alg: "PS256" })],
      ["es256", await mint("ES256", ec, { alg: "ES256" })],
      ["es384", await mint("ES384", ec384, { alg: "ES384" })],
      ["ed", await mint("EdDSA", ed, { alg: "EdDSA" })],
      ["jwks", await rs({ kid: "rsa" })],
      ["jwks", await mint("ES256", ec, { alg: "ES256", kid: "ec" })],
    ];
    for (const [on, token] of honest) {
      const result = await rts[on].jwt!.authenticate(token);
      expect(result.failed ? result.reason : "ok").toBe("ok");
      const { key, algorithms } = oracle[on];
      await jose.jwtVerify(token, key as never, { issuer: ISSUER, audience: "api", algorithms, currentDate: new Date(CLOCK) });
    }
  });
});
