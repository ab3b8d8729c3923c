/**
 * Auth hot paths. Run: bun bench/auth.bench.ts
 *
 * "uncached" uses a runtime with token_cache_size = 0, so every call parses,
 * verifies the signature and checks claims; "cached" repeats one token.
 * jose.jwtVerify (WebCrypto, async) runs in the same process as the peer the
 * node:crypto path was chosen over.
 * Budgets (shared/DESIGN.md): HS256 < 5 µs, RS256 < 30 µs, cached < 5 µs.
 */
import { bench, do_not_optimize, group, run, summary } from "mitata";
import * as jose from "jose";
import { allocateAuthShared, createAuthRuntime } from "../src/auth/index.ts";
import { createAuthPolicy } from "../src/policies/auth/policy.ts";
import { gatewayConfig, ISSUER, issuerConfig, requestContext, routeConfig } from "../test/auth/helpers.ts";
import { consumer } from "../test/auth/helpers.ts";

const SECRET = "bench-secret-bench-secret-bench-secret!";
const API_KEY = "k_bench_4f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f";

const [rsa, ec] = await Promise.all([jose.generateKeyPair("RS256", { extractable: true }), jose.generateKeyPair("ES256", { extractable: true })]);
const claims = { iss: ISSUER, aud: "api", sub: "user-1", roles: ["user"], scope: "read write", exp: Math.floor(Date.now() / 1000) + 86_400 };
const sign = (alg: string, key: CryptoKey | Uint8Array) => new jose.SignJWT(claims).setProtectedHeader({ alg, typ: "JWT" }).sign(key);
const secretBytes = new TextEncoder().encode(SECRET);
const hsToken = await sign("HS256", secretBytes);
const rsToken = await sign("RS256", rsa.privateKey);
const esToken = await sign("ES256", ec.privateKey);

function runtime(issuer: Parameters<typeof issuerConfig>[0], cacheSize: number) {
  const config = gatewayConfig({
    jwt: [issuerConfig(issuer)],
    auth: { token_cache_size: cacheSize },
    consumers: Array.from({ length: 1000 }, (_, i) => consumer(`c${i}`, [i === 500 ? API_KEY : `k_other_${i}_padpadpadpadpadpad`], ["user"])),
  });
  return createAuthRuntime(config, allocateAuthShared(config));
}

const hsCold = runtime({ secret: SECRET, algorithms: ["HS256"] }, 0).jwt!;
const hsWarm = runtime({ secret: SECRET, algorithms: ["HS256"] }, 10_000);
const rsCold = runtime({ public_key: await jose.exportSPKI(rsa.publicKey), algorithms: ["RS256"] }, 0).jwt!;
const rsWarm = runtime({ public_key: await jose.exportSPKI(rsa.publicKey), algorithms: ["RS256"] }, 10_000).jwt!;
const esCold = runtime({ public_key: await jose.exportSPKI(ec.publicKey), algorithms: ["ES256"] }, 0).jwt!;

// Sanity: every path must succeed, or the numbers mean nothing.
for (const [name, r] of [
  ["hs", hsCold.authenticate(hsToken)],
  ["rs", rsCold.authenticate(rsToken)],
  ["es", esCold.authenticate(esToken)],
  ["key", hsWarm.apiKeys.authenticate(API_KEY)],
] as const) {
  if (r instanceof Promise || r.failed) throw new Error(`bench setup: ${name} did not verify`);
}

// The whole policy on a cached token: header read, cache hit, revocation check, identity headers.
const policy = createAuthPolicy(routeConfig({ auth: "jwt", roles: ["user"] }), hsWarm)!;
const ctx = requestContext({ headers: { authorization: `Bearer ${hsToken}` } });
const keyPolicy = createAuthPolicy(routeConfig({ auth: "api_key", roles: ["user"] }), hsWarm)!;
const keyCtx = requestContext({ headers: { "x-api-key": API_KEY } });

summary(() => {
  group("HS256", () => {
    bench("HS256 verify, uncached", () => do_not_optimize(hsCold.authenticate(hsToken)));
    bench("HS256 verify, cached", () => do_not_optimize(hsWarm.jwt!.authenticate(hsToken)));
    bench("HS256 policy onRequest, cached token", () => {
      ctx.upstreamHeaders = null;
      do_not_optimize(policy.onRequest!(ctx));
    });
    bench("peer: jose.jwtVerify HS256 (async)", async () => do_not_optimize(await jose.jwtVerify(hsToken, secretBytes, { algorithms: ["HS256"] })));
  });
});

summary(() => {
  group("RS256 / ES256", () => {
    bench("RS256 verify, uncached", () => do_not_optimize(rsCold.authenticate(rsToken)));
    bench("RS256 verify, cached", () => do_not_optimize(rsWarm.authenticate(rsToken)));
    bench("ES256 verify, uncached", () => do_not_optimize(esCold.authenticate(esToken)));
    bench("peer: jose.jwtVerify RS256 (async)", async () => do_not_optimize(await jose.jwtVerify(rsToken, rsa.publicKey, { algorithms: ["RS256"] })));
  });
});

group("API key", () => {
  bench("API key lookup (1000 consumers)", () => do_not_optimize(hsWarm.apiKeys.authenticate(API_KEY)));
  bench("API key policy onRequest", () => {
    keyCtx.upstreamHeaders = null;
    do_not_optimize(keyPolicy.onRequest!(keyCtx));
  });
});

await run();
for (const rt of [hsWarm]) rt.close();
