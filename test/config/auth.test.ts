import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import { FIXTURES, parse, problemsOf, withUpstream } from "./helpers.ts";

const rsaPem = await Bun.file(join(FIXTURES, "jwt-rsa-public.pem")).text();
const ecPem = await Bun.file(join(FIXTURES, "jwt-ec-p256-public.pem")).text();
const edJwk = await Bun.file(join(FIXTURES, "jwt-ed25519-public.jwk.json")).text();

/** A TOML literal multi-line string holding `text` (PEM has no ''' in it). */
const literal = (text: string) => `'''\n${text}'''`;

describe("key sources", () => {
  test("exactly one of jwks_url, secret, public_key", () => {
    expect(problemsOf('[jwt]\nalgorithms = ["RS256"]')).toEqual(["jwt: set exactly one of jwks_url, secret or public_key"]);
    expect(problemsOf('[jwt]\nsecret = "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"\njwks_url = "https://a/jwks"\nalgorithms = ["RS256"]')).toEqual([
      "jwt: set only one of jwks_url, secret or public_key (found jwks_url and secret)",
    ]);
    expect(
      problemsOf('[[jwt]]\nsecret = "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"\npublic_key = "jwt-rsa-public.pem"\njwks_url = "https://a/jwks"\nalgorithms = ["RS256"]'),
    ).toEqual(["jwt[0]: set only one of jwks_url, secret or public_key (found jwks_url and secret and public_key)"]);
  });

  test("jwks_url is https (http only for loopback)", () => {
    for (const url of ["https://auth.example.com/jwks.json", "http://127.0.0.1:8080/jwks", "http://localhost/jwks", "http://[::1]:9/jwks"]) {
      expect(parse(`[jwt]\njwks_url = "${url}"\nalgorithms = ["RS256"]`).jwt[0]!.jwks_url).toBe(url);
    }
    expect(problemsOf('[jwt]\njwks_url = "http://auth.example.com/jwks"\nalgorithms = ["RS256"]')).toEqual([
      "jwt.jwks_url: must be https:// (plain http:// is accepted only for loopback hosts)",
    ]);
    expect(problemsOf('[jwt]\njwks_url = "ftp://a/jwks"\nalgorithms = ["RS256"]')).toEqual([
      'jwt.jwks_url: expected a URL starting with https:// or http://, got "ftp://a/jwks"',
    ]);
  });

  test("public_key as a file path relative to the config, inline PEM, or inline JWK", () => {
    expect(parse('[jwt]\npublic_key = "jwt-rsa-public.pem"\nalgorithms = ["RS256", "PS256"]').jwt[0]!.public_key).toBe(rsaPem);
    expect(parse(`[jwt]\npublic_key = ${literal(ecPem)}\nalgorithms = ["ES256"]`).jwt[0]!.public_key).toBe(ecPem);
    expect(parse(`[jwt]\npublic_key = '${edJwk.trim()}'\nalgorithms = ["EdDSA"]`).jwt[0]!.public_key).toBe(edJwk.trim());
    expect(parse('[jwt]\npublic_key = "jwt-ed25519-public.jwk.json"\nalgorithms = ["EdDSA"]').jwt[0]!.public_key).toBe(edJwk);
  });

  test("an unreadable public_key file", () => {
    expect(problemsOf('[jwt]\npublic_key = "keys/missing.pem"\nalgorithms = ["RS256"]')).toEqual([
      `jwt.public_key: cannot read file "${join(FIXTURES, "keys/missing.pem")}": no such file or directory`,
    ]);
  });

  test("a public_key that is not a key", () => {
    const [problem] = problemsOf('[jwt]\npublic_key = "-----BEGIN PUBLIC KEY-----\\nnope\\n-----END PUBLIC KEY-----"\nalgorithms = ["RS256"]');
    expect(problem).toStartWith("jwt.public_key: not a valid PEM or JWK public key (");
    expect(problemsOf(`[jwt]\npublic_key = '{"kty": "oct", "k": "c2VjcmV0"}'\nalgorithms = ["RS256"]`)).toEqual([
      'jwt.public_key: a symmetric JWK (kty "oct") is not a public key; use secret instead',
    ]);
  });

  test("a private key is refused as public_key (PEM and JWK)", () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    const jwk = JSON.stringify(privateKey.export({ format: "jwk" }));
    const refused = ["jwt.public_key: is a private key; give the public key (the gateway only verifies)"];
    expect(problemsOf(`[jwt]\npublic_key = ${literal(pem)}\nalgorithms = ["ES256"]`)).toEqual(refused);
    expect(problemsOf(`[jwt]\npublic_key = '${jwk}'\nalgorithms = ["ES256"]`)).toEqual(refused);
  });
});

describe("algorithms", () => {
  test("an HMAC secret shorter than the hash output is refused (RFC 7518 §3.2)", () => {
    expect(problemsOf('[jwt]\nsecret = "short-secret"\nalgorithms = ["HS256"]')).toEqual([
      "jwt.secret: too short: 32 bytes at least for HS256 (RFC 7518 §3.2); got 12",
    ]);
    expect(problemsOf(`[jwt]\nsecret = "${"k".repeat(32)}"\nalgorithms = ["HS256", "HS512"]`)).toEqual([
      "jwt.secret: too short: 64 bytes at least for HS256, HS512 (RFC 7518 §3.2); got 32",
    ]);
    expect(parse(`[jwt]\nsecret = "${"k".repeat(32)}"\nalgorithms = ["HS256"]`).jwt[0]!.secret).toBe("k".repeat(32));
  });

  test('"none" is always refused, any case', () => {
    expect(problemsOf('[jwt]\nsecret = "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"\nalgorithms = ["HS256", "none", "NONE"]')).toEqual([
      'jwt.algorithms[1]: "none" is never accepted (unsigned tokens)',
      'jwt.algorithms[2]: "none" is never accepted (unsigned tokens)',
    ]);
  });

  test("unknown names are refused with the allowed list", () => {
    expect(problemsOf('[jwt]\njwks_url = "https://a/j"\nalgorithms = ["RS257", "rs256"]')).toEqual([
      'jwt.algorithms[0]: unknown algorithm "RS257" (expected one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)',
      'jwt.algorithms[1]: unknown algorithm "rs256" (expected one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)',
    ]);
  });

  test("HS* only with a secret (no key confusion)", () => {
    expect(problemsOf('[jwt]\njwks_url = "https://a/j"\nalgorithms = ["RS256", "HS256"]')).toEqual([
      "jwt.algorithms[1]: HS256 needs a secret; keys from jwks_url only verify asymmetric algorithms (HS* here would allow key confusion)",
    ]);
    expect(problemsOf('[jwt]\npublic_key = "jwt-rsa-public.pem"\nalgorithms = ["HS384"]')).toEqual([
      "jwt.algorithms[0]: HS384 needs a secret; keys from public_key only verify asymmetric algorithms (HS* here would allow key confusion)",
    ]);
  });

  test("a secret only with HS*", () => {
    expect(problemsOf('[jwt]\nsecret = "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"\nalgorithms = ["HS256", "RS256", "EdDSA"]')).toEqual([
      "jwt.algorithms[1]: RS256 needs jwks_url or public_key; a secret only verifies HS256, HS384, HS512",
      "jwt.algorithms[2]: EdDSA needs jwks_url or public_key; a secret only verifies HS256, HS384, HS512",
    ]);
  });

  test("a public_key must fit each algorithm", () => {
    expect(problemsOf('[jwt]\npublic_key = "jwt-rsa-public.pem"\nalgorithms = ["RS512", "PS384", "ES256", "EdDSA"]')).toEqual([
      "jwt.algorithms[2]: ES256 does not fit the public_key (an RSA key)",
      "jwt.algorithms[3]: EdDSA does not fit the public_key (an RSA key)",
    ]);
    expect(problemsOf('[jwt]\npublic_key = "jwt-ec-p256-public.pem"\nalgorithms = ["ES256", "ES384", "RS256"]')).toEqual([
      "jwt.algorithms[1]: ES384 does not fit the public_key (an EC prime256v1 key)",
      "jwt.algorithms[2]: RS256 does not fit the public_key (an EC prime256v1 key)",
    ]);
  });

  test("duplicates are dropped", () => {
    expect(parse('[jwt]\nsecret = "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"\nalgorithms = ["HS256", "HS256", "HS512"]').jwt[0]!.algorithms).toEqual(["HS256", "HS512"]);
  });
});

describe("several issuers", () => {
  test("[[jwt]] with distinct issuers", () => {
    const config = parse(
      '[[jwt]]\nissuer = "https://a/"\nsecret = "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"\nalgorithms = ["HS256"]\n[[jwt]]\nissuer = "https://b/"\njwks_url = "https://b/jwks"\nalgorithms = ["ES256"]',
    );
    expect(config.jwt.map((j) => j.issuer)).toEqual(["https://a/", "https://b/"]);
  });

  test("need distinct, non-empty issuers", () => {
    expect(
      problemsOf(
        '[[jwt]]\nissuer = "https://a/"\nsecret = "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"\nalgorithms = ["HS256"]\n[[jwt]]\nissuer = "https://a/"\nsecret = "tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt"\nalgorithms = ["HS256"]\n[[jwt]]\nsecret = "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"\nalgorithms = ["HS256"]',
      ),
    ).toEqual([
      'jwt[1].issuer: duplicate issuer "https://a/" (also jwt[0])',
      "jwt[2].issuer: required when several [[jwt]] issuers are configured",
    ]);
  });

  test("a single [[jwt]] may omit issuer", () => {
    expect(parse('[[jwt]]\nsecret = "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"\nalgorithms = ["HS256"]').jwt[0]!.issuer).toBeNull();
  });

  test("durations and sizes of an issuer", () => {
    expect(problemsOf('[jwt]\nsecret = "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"\nalgorithms = ["HS256"]\njwks_refresh = "0s"\nmax_token_size = "0B"')).toEqual([
      "jwt.jwks_refresh: must be greater than 0",
      "jwt.max_token_size: must be greater than 0",
    ]);
  });
});

describe("[auth]", () => {
  test("header names lower-cased, claims forwarded", () => {
    const auth = parse('[auth]\napi_key_header = "X-Api-Key"\nforward_claims = { sub = "X-User", "org.id" = "X-Org" }').auth;
    expect(auth.api_key_header).toBe("x-api-key");
    expect(auth.forward_claims).toEqual({ sub: "x-user", "org.id": "x-org" });
  });

  test("bad and reserved header names", () => {
    expect(
      problemsOf('[auth]\napi_key_header = "X Key"\nforward_claims = { sub = "Host", role = "x role", "" = "x-empty", len = "Content-Length" }'),
    ).toEqual([
      'auth.forward_claims.sub: cannot forward a claim into the "host" header',
      'auth.forward_claims.role: invalid header name "x role"',
      'auth.forward_claims."": claim name must not be empty',
      'auth.forward_claims.len: cannot forward a claim into the "content-length" header',
      'auth.api_key_header: invalid header name "X Key"',
    ]);
  });
});

describe("[[consumers]]", () => {
  test("names unique", () => {
    expect(problemsOf('[[consumers]]\nname = "a"\n[[consumers]]\nname = "b"\n[[consumers]]\nname = "a"')).toEqual([
      'consumers[2].name: duplicate consumer name "a" (also consumers[0])',
    ]);
  });

  test("API keys unique across consumers, non-empty, never echoed", () => {
    expect(
      problemsOf(
        '[[consumers]]\nname = "a"\napi_keys = ["k1", "k2", "k1"]\n[[consumers]]\nname = "b"\napi_keys = ["k2", ""]',
      ),
    ).toEqual([
      "consumers[1].api_keys[1]: expected a non-empty string",
      "consumers[0].api_keys[2]: duplicate API key",
      "consumers[1].api_keys[0]: API key already used by consumers[0]",
    ]);
  });

  test("consumers without API keys are allowed (JWT-mapped consumers)", () => {
    expect(parse(withUpstream('[[consumers]]\nname = "jwt-only"\nroles = ["a"]')).consumers[0]).toEqual({
      name: "jwt-only",
      api_keys: [],
      roles: ["a"],
      rate_limits: [],
    });
  });
});
