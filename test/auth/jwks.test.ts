import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type * as jose from "jose";
import { GatewayError } from "../../src/errors.ts";
import { allocateAuthShared, createAuthRuntime, type AuthRuntime } from "../../src/auth/index.ts";
import type { JwtIssuerConfig } from "../../src/config/types.ts";
import { gatewayConfig, ISSUER, issuerConfig } from "./helpers.ts";
import { keyPair, signJwt, type TestKeyPair } from "./keys.ts";

/** A real JWKS endpoint on loopback whose key set can be swapped, broken, or taken down. */
class JwksServer {
  fetches = 0;
  keys: unknown[] = [];
  /** When set, served instead of the key set. */
  override: { status: number; body: string } | null = null;
  private server: ReturnType<typeof Bun.serve> | null = null;
  url = "";

  start(): this {
    this.server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () => {
        this.fetches++;
        if (this.override) return new Response(this.override.body, { status: this.override.status });
        return Response.json({ keys: this.keys });
      },
    });
    this.url = `http://127.0.0.1:${this.server.port}/.well-known/jwks.json`;
    return this;
  }

  async stop(): Promise<void> {
    await this.server?.stop(true);
    this.server = null;
  }
}

let clock = Date.UTC(2030, 0, 1);
const now = () => clock;
const sec = () => Math.floor(clock / 1000);
const claims = (): jose.JWTPayload => ({ iss: ISSUER, aud: "api", sub: "u", exp: sec() + 3600 });
const runtimes: AuthRuntime[] = [];
const servers: JwksServer[] = [];

function runtimeFor(jwt: JwtIssuerConfig): AuthRuntime {
  const config = gatewayConfig({ jwt: [jwt] });
  const rt = createAuthRuntime(config, allocateAuthShared(config), now);
  runtimes.push(rt);
  return rt;
}

async function check(rt: AuthRuntime, token: string): Promise<string> {
  const r = await rt.jwt!.authenticate(token);
  return r.failed ? r.reason : "ok";
}

function server(): JwksServer {
  const s = new JwksServer().start();
  servers.push(s);
  return s;
}

let A: TestKeyPair, B: TestKeyPair, C: TestKeyPair, D: TestKeyPair;
beforeAll(async () => {
  [A, B, C, D] = await Promise.all([keyPair("RS256", "a"), keyPair("RS256", "b"), keyPair("RS256", "c"), keyPair("ES256", "d")]);
});
afterEach(() => {
  while (runtimes.length) runtimes.pop()!.close();
});
afterAll(async () => {
  for (const s of servers) await s.stop();
});

/** Sign with the pair's own kid, another kid, or (null) no kid at all. */
const sign = (pair: TestKeyPair, kid: string | null = pair.jwk.kid as string) =>
  signJwt(claims(), pair.privateKey, kid === null ? { alg: pair.alg } : { alg: pair.alg, kid });

describe("remote JWKS", () => {
  test("the first request awaits the first fetch; later ones are synchronous", async () => {
    const jwks = server();
    jwks.keys = [A.jwk];
    // Tokens first: the runtime starts fetching at once, and signing is async (a fetch
    // could finish during an await and make the first call synchronous).
    const [t1, t2] = await Promise.all([sign(A), sign(A)]);
    const rt = runtimeFor(issuerConfig({ jwks_url: jwks.url, algorithms: ["RS256"], jwks_refresh: 0 }));
    const first = rt.jwt!.authenticate(t1);
    expect(first instanceof Promise).toBe(true);
    expect(((await first) as { failed: boolean }).failed).toBe(false);
    const second = rt.jwt!.authenticate(t2);
    expect(second instanceof Promise).toBe(false);
    expect(jwks.fetches).toBe(1);
  });

  test("rotation: a new kid is fetched on demand, at most once per cooldown, then the issuer goes down", async () => {
    const jwks = server();
    jwks.keys = [A.jwk];
    const rt = runtimeFor(issuerConfig({ jwks_url: jwks.url, algorithms: ["RS256"], jwks_cooldown: 30_000, jwks_refresh: 0 }));
    await rt.ready();
    expect(jwks.fetches).toBe(1);
    expect(await check(rt, await sign(A))).toBe("ok");

    // The issuer rotates in B. Within the cooldown of the first fetch, B is unknown and nothing is fetched.
    jwks.keys = [A.jwk, B.jwk];
    expect(await check(rt, await sign(B))).toBe("no matching key");
    expect(jwks.fetches).toBe(1);

    // Past the cooldown, B's kid triggers one refetch and is accepted.
    clock += 30_000;
    expect(await check(rt, await sign(B))).toBe("ok");
    expect(jwks.fetches).toBe(2);

    // A flood of made-up kids costs the issuer nothing within the cooldown.
    for (let i = 0; i < 50; i++) expect(await check(rt, await sign(C, `bogus-${i}`))).toBe("no matching key");
    expect(jwks.fetches).toBe(2);

    // Past the cooldown, 20 concurrent unknown kids share one fetch.
    clock += 30_000;
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => sign(C, `burst-${i}`)));
    const results = await Promise.all(tokens.map((t) => check(rt, t)));
    expect(results.every((r) => r === "no matching key")).toBe(true);
    expect(jwks.fetches).toBe(3);

    // The issuer goes down: cached keys keep verifying, new tokens included.
    await jwks.stop();
    expect(await check(rt, await sign(A))).toBe("ok");
    expect(await check(rt, await sign(B))).toBe("ok");
    clock += 30_000;
    expect(await check(rt, await sign(C))).toBe("no matching key"); // the refetch fails; keys are kept
    expect(rt.jwt!.jwksSources[0]!.lastError).toContain("JWKS fetch failed");
    expect(await check(rt, await sign(A))).toBe("ok");
  });

  test("background refresh picks up rotations; a key dropped from the set stops serving cached tokens", async () => {
    const jwks = server();
    jwks.keys = [A.jwk];
    const rt = runtimeFor(issuerConfig({ jwks_url: jwks.url, algorithms: ["RS256"], jwks_refresh: 150 }));
    await rt.ready();
    const tokenA = await sign(A);
    expect(await check(rt, tokenA)).toBe("ok");
    jwks.keys = [B.jwk];
    const before = jwks.fetches;
    const deadline = Date.now() + 5000;
    while (jwks.fetches < before + 2 && Date.now() < deadline) await Bun.sleep(25);
    expect(jwks.fetches).toBeGreaterThanOrEqual(before + 2);
    const fetchesNow = jwks.fetches;
    // B arrived by the background refresh: no on-demand fetch needed (cooldown would forbid one anyway).
    expect(await check(rt, await sign(B))).toBe("ok");
    // A was dropped: its cached token is verified again and fails.
    expect(await check(rt, tokenA)).toBe("no matching key");
    expect(jwks.fetches - fetchesNow).toBeLessThanOrEqual(1);
  });

  test("a refresh that fails, errors or returns garbage keeps the last good keys", async () => {
    const jwks = server();
    jwks.keys = [A.jwk];
    const rt = runtimeFor(issuerConfig({ jwks_url: jwks.url, algorithms: ["RS256"], jwks_cooldown: 1000, jwks_refresh: 0 }));
    await rt.ready();
    const source = rt.jwt!.jwksSources[0]!;
    const bodies = [
      { status: 500, body: "oops" },
      { status: 200, body: "not json" },
      { status: 200, body: JSON.stringify({ nokeys: true }) },
      { status: 200, body: JSON.stringify({ keys: [{ kty: "oct", k: "c2VjcmV0", kid: "a" }] }) },
      { status: 200, body: JSON.stringify({ keys: [] }) },
      { status: 200, body: JSON.stringify({ keys: ["x".repeat(2 << 20)] }) },
    ];
    for (const override of bodies) {
      jwks.override = override;
      clock += 1000;
      await source.refetch();
      expect(source.lastError).not.toBeNull();
      expect(await check(rt, await sign(A))).toBe("ok");
    }
  });

  test("keys not for signatures, outside the allowlist, of the wrong type or unreadable are skipped", async () => {
    const jwks = server();
    jwks.keys = [
      { ...B.jwk, kid: "enc", use: "enc" },
      { ...B.jwk, kid: "ops", key_ops: ["encrypt"] },
      { ...B.jwk, kid: "rs512", alg: "RS512" },
      { ...B.jwk, kid: "mislabelled", alg: "ES256" },
      { kty: "oct", kid: "sym", k: Buffer.from("a-shared-secret-a-shared-secret!").toString("base64url") },
      { kty: "RSA", kid: "junk", n: "AQAB", e: "AQAB" },
      "not an object",
      { ...D.jwk, kid: "d" },
      A.jwk,
    ];
    const rt = runtimeFor(issuerConfig({ jwks_url: jwks.url, algorithms: ["RS256", "RS512"], jwks_refresh: 0 }));
    await rt.ready();
    expect(await check(rt, await sign(A))).toBe("ok");
    for (const kid of ["enc", "ops", "mislabelled", "junk"]) expect(await check(rt, await sign(B, kid))).toBe("no matching key");
    // The RS512-only key does not verify RS256 tokens.
    expect(await check(rt, await sign(B, "rs512"))).toBe("no matching key");
    // An EC key under kid "d" is not used for an RS256 token claiming kid "d".
    expect(await check(rt, await sign(B, "d"))).toBe("no matching key");
    // ES256 is outside this issuer's allowlist altogether.
    expect(await check(rt, await sign(D))).toBe("algorithm not allowed");
    // HS256 signed with the JWKS's symmetric member is refused by the allowlist before any key lookup.
    const hs = await signJwt(claims(), "a-shared-secret-a-shared-secret!", { alg: "HS256", kid: "sym" });
    expect(await check(rt, hs)).toBe("algorithm not allowed");
  });

  test("a token without kid uses the only fitting key, and is refused when several fit", async () => {
    const jwks = server();
    jwks.keys = [A.jwk];
    const rt = runtimeFor(issuerConfig({ jwks_url: jwks.url, algorithms: ["RS256"], jwks_cooldown: 1000, jwks_refresh: 0 }));
    await rt.ready();
    expect(await check(rt, await sign(A, null))).toBe("ok");
    jwks.keys = [A.jwk, B.jwk];
    clock += 1000;
    await rt.jwt!.jwksSources[0]!.refetch();
    expect(await check(rt, await sign(A, null))).toBe("no matching key");
  });

  test("an issuer whose keys were never fetched answers 503 (GatewayError), not 401", async () => {
    const jwks = server();
    const url = jwks.url;
    await jwks.stop();
    const rt = runtimeFor(issuerConfig({ jwks_url: url, algorithms: ["RS256"], jwks_refresh: 0 }));
    await rt.ready();
    let thrown: unknown;
    try {
      await rt.jwt!.authenticate(await sign(A));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    expect((thrown as GatewayError).status).toBe(503);
  });
});
