/**
 * One config verdict: what `--check` (config load) accepts is exactly what
 * every worker can compile. Each engine check that used to run only in
 * compileSnapshot is refused at load with its key path, and for a set of
 * valid and invalid configs, load accepts ⇔ compileSnapshot (and Bun.serve's
 * TLS setup) does not throw.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { loadTls } from "../../src/data/tls.ts";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { normalizeConfigUnverified } from "../../src/config/load.ts";
import { parseToml } from "../../src/config/toml.ts";
import type { GatewayConfig } from "../../src/config/types.ts";
import { ClientRegistry } from "../../src/data/clients.ts";
import { allocateShared } from "../../src/data/shared.ts";
import { compileSnapshot } from "../../src/data/snapshot.ts";
import { ConfigError } from "../../src/errors.ts";
import { ALGORITHMS, RATE_LIMIT_ALGORITHMS } from "../../src/limits/algorithms/index.ts";
import { COUNT_MASK } from "../../src/limits/algorithms/fixed-window.ts";
import { MAX_SLOTS } from "../../src/limits/slot-table.ts";
import { BALANCER_NAMES, BALANCERS } from "../../src/upstream/balancers/index.ts";
import { FIXTURES, parse, withUpstream } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "gw-verdict-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const literal = (text: string) => `'''\n${text}'''`;
const spki = (publicKey: { export(o: { type: "spki"; format: "pem" }): string | Buffer }) => String(publicKey.export({ type: "spki", format: "pem" }));
const pem = (der: Buffer) => `-----BEGIN PUBLIC KEY-----\n${der.toString("base64")}\n-----END PUBLIC KEY-----\n`;

const rsa1024 = spki(generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey);
const rsa2048 = spki(generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey);
const p224 = spki(generateKeyPairSync("ec", { namedCurve: "P-224" }).publicKey);
const p256 = spki(generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey);
const ed25519 = spki(generateKeyPairSync("ed25519").publicKey);
// Bun's crypto cannot make or import Ed448 (nor RSA-PSS-only or secp256k1 keys): these are built by hand.
// RFC 8032 §7.4, the first Ed448 test vector's public key, in an SPKI (RFC 8410 §4: id-Ed448 = 1.3.101.113).
const ED448_X = "5fd7449b59b461fd2ce787ec616ad46a1da1342485a70e1f8a0ea75d80e96778edf124769b46c7061bd6783df1e50f6cd1fa1abeafe8256180";
const ed448Pem = pem(Buffer.from(`3043300506032b6571033a00${ED448_X}`, "hex"));
const ed448Jwk = JSON.stringify({ kty: "OKP", crv: "Ed448", x: Buffer.from(ED448_X, "hex").toString("base64url") });
// id-ecPublicKey with secp256k1 (1.3.132.0.10) and an uncompressed point.
const secp256k1Pem = pem(Buffer.from(`3056301006072a8648ce3d020106052b8104000a034200${"04" + "11".repeat(64)}`, "hex"));
// id-RSASSA-PSS (1.2.840.113549.1.1.10), RFC 4055 §3.1.
const rsaPssPem = pem(Buffer.from("3010300b06092a864886f70d01010a030100", "hex"));

const tlsJunk = join(dir, "junk.pem");
writeFileSync(tlsJunk, "not a certificate\n");
const tlsOtherKey = join(dir, "other-key.pem");
writeFileSync(tlsOtherKey, String(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" })));
const tlsCert = join(FIXTURES, "tls-cert.pem");
const tlsKey = join(FIXTURES, "tls-key.pem");

const SECRET = "s".repeat(64);
const limitRoute = (limit: string, name = "r") => `
[[routes]]
name = "${name}"
path = "/${name}/*"
upstream = "api"
rate_limits = [${limit}]
`;
const jwtRoute = `
[[routes]]
name = "r"
path = "/r/*"
upstream = "api"
auth = "jwt"
`;
const publicKey = (key: string, algorithms: string) => `${jwtRoute}\n[jwt]\npublic_key = ${literal(key)}\nalgorithms = ${algorithms}\n`;
const upstreamWith = (keys: string) => `
[[upstreams]]
name = "api"
targets = [{ url = "http://127.0.0.1:3001" }]
${keys}

[[routes]]
name = "r"
path = "/r/*"
upstream = "api"
`;
const tls = (cert: string, key: string) => withUpstream(`[server]\ntls = { cert = "${cert}", key = "${key}" }\n`);

interface Case {
  name: string;
  toml: string;
  /** The start of the problem line load must refuse it with; absent for configs that must be accepted. */
  refused?: string;
  /**
   * What the worker gets, when normalization (which asks the engine itself,
   * e.g. for keys) already refuses `toml`: a valid sibling with the bad value
   * patched in. Default: `toml` through schema and normalization only.
   */
  worker?: () => GatewayConfig;
}

const unverified = (toml: string) => normalizeConfigUnverified(parseToml(toml, "inline.toml"), join(FIXTURES, "inline.toml"), {});
/** A config whose jwt[index] has `key` as public_key and `algorithms`, built past normalization. */
const withKey = (key: string, algorithms: string[], index = 0) => () => {
  const config = unverified(withUpstream(publicKey(rsa2048, '["RS256"]')));
  if (index > 0) config.jwt.unshift({ ...config.jwt[0]!, issuer: "a", public_key: null, secret: SECRET, algorithms: ["HS256"] });
  config.jwt[index] = { ...config.jwt[index]!, issuer: index > 0 ? "b" : null, public_key: key, algorithms };
  return config;
};

const CASES: Case[] = [
  // Accepted: values at the engines' limits.
  { name: "fixed_window at the counter's range", toml: withUpstream(limitRoute(`{ algorithm = "fixed_window", limit = ${COUNT_MASK}, window = "1s" }`)) },
  { name: "sliding_window at the counter's range", toml: withUpstream(limitRoute(`{ algorithm = "sliding_window", limit = ${COUNT_MASK}, window = "1m" }`)) },
  { name: "concurrency at its range", toml: withUpstream(limitRoute(`{ algorithm = "concurrency", limit = ${2 ** 30 - 1} }`)) },
  { name: "a yearly token bucket with a small burst", toml: withUpstream(limitRoute('{ algorithm = "token_bucket", limit = 1, window = "365d", burst = 10 }')) },
  { name: "RSA-2048 public_key", toml: withUpstream(publicKey(rsa2048, '["RS256", "PS512"]')) },
  { name: "P-256 public_key", toml: withUpstream(publicKey(p256, '["ES256"]')) },
  { name: "Ed25519 public_key", toml: withUpstream(publicKey(ed25519, '["EdDSA"]')) },
  { name: "hash balancer on a header", toml: upstreamWith('balancer = "hash"\nhash_key = "header:x-shard"') },
  { name: "every balancer but hash", toml: BALANCER_NAMES.filter((b) => b !== "hash").map((b, i) => `[[upstreams]]\nname = "u${i}"\nbalancer = "${b}"\ntargets = [{ url = "http://127.0.0.1:3001" }]\n`).join("\n") },
  { name: "breaker open for 12 days", toml: upstreamWith('circuit_breaker = { open_for = "12d", half_open_requests = 1000 }') },
  { name: "TLS with a matching pair", toml: tls(tlsCert, tlsKey) },
  { name: "consumer limits", toml: withUpstream(`[[consumers]]\nname = "c"\napi_keys = ["k1"]\nrate_limits = [{ algorithm = "fixed_window", limit = 10, window = "1s" }]\n`) },

  // Refused: each a check that used to run only when a worker compiled its snapshot.
  {
    name: "fixed_window limit above COUNT_MASK",
    toml: withUpstream(limitRoute(`{ algorithm = "fixed_window", limit = ${COUNT_MASK + 1}, window = "1s" }`)),
    refused: `routes[0].rate_limits[0].limit: must be at most ${COUNT_MASK} for fixed_window`,
  },
  {
    name: "sliding_window limit above COUNT_MASK (second limit of a route)",
    toml: withUpstream(limitRoute(`{ algorithm = "fixed_window", limit = 5, window = "1s" }, { algorithm = "sliding_window", limit = ${2 ** 27}, window = "1m" }`)),
    refused: `routes[0].rate_limits[1].limit: must be at most ${COUNT_MASK} for sliding_window`,
  },
  {
    name: "concurrency limit above its range",
    toml: withUpstream(limitRoute(`{ algorithm = "concurrency", limit = ${2 ** 30} }`)),
    refused: `routes[0].rate_limits[0].limit: must be at most ${2 ** 30 - 1} for concurrency`,
  },
  {
    name: "window × burst too large",
    toml: withUpstream(limitRoute('{ algorithm = "token_bucket", limit = 1, window = "365d", burst = 100 }')),
    refused: "routes[0].rate_limits[0]: window × burst too large",
  },
  {
    name: "a consumer's limit above COUNT_MASK",
    toml: withUpstream(`[[consumers]]\nname = "c"\napi_keys = ["k1"]\nrate_limits = [{ algorithm = "fixed_window", limit = ${COUNT_MASK + 1}, window = "1s" }]\n`),
    refused: "consumers[0].rate_limits[0].limit: must be at most",
  },
  { name: "more slots than the table holds", toml: withUpstream(`[rate_limit]\nslots = ${MAX_SLOTS + 1}\n`), refused: `rate_limit.slots: must be at most ${MAX_SLOTS}` },
  {
    name: "RSA-1024 public_key",
    toml: withUpstream(publicKey(rsa1024, '["RS256"]')),
    refused: "jwt.public_key: RSA key has 1024 bits; at least 2048 are required",
    worker: withKey(rsa1024, ["RS256"]),
  },
  { name: "EC key on P-224", toml: withUpstream(publicKey(p224, '["ES256"]')), refused: "jwt.public_key: unsupported EC curve secp224r1", worker: withKey(p224, ["ES256"]) },
  { name: "EC key on secp256k1", toml: withUpstream(publicKey(secp256k1Pem, '["ES256"]')), refused: "jwt.public_key: unsupported EC curve secp256k1", worker: withKey(secp256k1Pem, ["ES256"]) },
  { name: "Ed448 PEM with EdDSA", toml: withUpstream(publicKey(ed448Pem, '["EdDSA"]')), refused: "jwt.public_key: Ed448 keys are not supported", worker: withKey(ed448Pem, ["EdDSA"]) },
  { name: "Ed448 JWK with EdDSA", toml: withUpstream(publicKey(ed448Jwk, '["EdDSA"]')), refused: "jwt.public_key: Ed448 keys are not supported", worker: withKey(ed448Jwk, ["EdDSA"]) },
  { name: "RSA-PSS-only key with PS256", toml: withUpstream(publicKey(rsaPssPem, '["PS256"]')), refused: "jwt.public_key: RSA-PSS-only keys", worker: withKey(rsaPssPem, ["PS256"]) },
  {
    name: "a weak key in the second [[jwt]]",
    toml: withUpstream(`${jwtRoute}\n[[jwt]]\nissuer = "a"\nsecret = "${SECRET}"\nalgorithms = ["HS256"]\n[[jwt]]\nissuer = "b"\npublic_key = ${literal(rsa1024)}\nalgorithms = ["RS256"]\n`),
    refused: "jwt[1].public_key: RSA key has 1024 bits",
    worker: withKey(rsa1024, ["RS256"], 1),
  },
  { name: "hash_key query without a name", toml: upstreamWith('balancer = "hash"\nhash_key = "query: "'), refused: 'upstreams[0].hash_key: hash key "query: " needs a name' },
  { name: "hash_key cookie without a name", toml: upstreamWith('balancer = "hash"\nhash_key = "cookie:  "'), refused: "upstreams[0].hash_key: " },
  { name: "breaker open longer than its clock", toml: upstreamWith('circuit_breaker = { open_for = "13d" }'), refused: "upstreams[0].circuit_breaker.open_for: must be between 0 and 12 days" },
  {
    name: "more half-open permits than the breaker word counts",
    toml: upstreamWith(`circuit_breaker = { half_open_requests = ${2 ** 29} }`),
    refused: "upstreams[0].circuit_breaker.half_open_requests: must be an integer from 1 to",
  },
  { name: "passive fail_timeout 0", toml: upstreamWith('passive = { fail_timeout = "0s" }'), refused: "upstreams[0].passive.fail_timeout: must be between 1 ms and 12 days" },
  { name: "a claim forwarded into Authorization", toml: withUpstream('[auth]\nforward_claims = { sub = "Authorization" }'), refused: 'auth.forward_claims.sub: cannot forward a claim into the "authorization" header',
    worker: () => {
      const config = unverified(withUpstream(""));
      config.auth.forward_claims = { sub: "authorization" };
      return config;
    },
  },
  { name: "a TLS cert that is not a certificate", toml: tls(tlsJunk, tlsKey), refused: "server.tls.cert: not a usable PEM certificate" },
  { name: "a TLS key that does not fit the cert", toml: tls(tlsCert, tlsOtherKey), refused: "server.tls: key and cert do not go together" },
];

function loadVerdict(toml: string): string[] | "accepted" {
  try {
    parse(toml);
    return "accepted";
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

/** What a worker does with a config: compile the snapshot over fresh shared buffers, and set up Bun.serve's TLS. */
function workerVerdict(config: GatewayConfig): "compiles" | string {
  const clients = new ClientRegistry();
  try {
    const snapshot = compileSnapshot(config, allocateShared(config, null), clients);
    snapshot.dispose();
    if (config.server.tls) {
      Bun.serve({ hostname: "127.0.0.1", port: 0, tls: loadTls(config.server, config.server.tls).options, fetch: () => new Response() }).stop(true);
    }
    return "compiles";
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    clients.closeAll();
  }
}

describe("--check refuses what a worker would, with the key path", () => {
  for (const c of CASES.filter((c) => c.refused !== undefined)) {
    test(c.name, () => {
      const verdict = loadVerdict(c.toml);
      expect(verdict).not.toBe("accepted");
      expect(verdict as string[]).toContainEqual(expect.stringContaining(c.refused!));
      expect((verdict as string[]).find((l) => l.includes(c.refused!))!.startsWith(c.refused!)).toBe(true);
    });
  }

  test("engine problems are reported together with normalization's", () => {
    const toml = withUpstream(
      limitRoute(`{ algorithm = "fixed_window", limit = ${COUNT_MASK + 1}, window = "1s" }`) +
        '\n[[routes]]\nname = "x"\npath = "/x"\nupstream = "nope"\n',
    );
    const problems = loadVerdict(toml) as string[];
    expect(problems.some((p) => p.startsWith("routes[0].rate_limits[0].limit: must be at most"))).toBe(true);
    expect(problems).toContainEqual('routes[1].upstream: no upstream named "nope"');
  });

  test("an entry with a problem already is not checked again on its fallbacks", () => {
    // The schema drops the bad algorithm; the engine would otherwise judge the fallback token_bucket.
    const problems = loadVerdict(withUpstream(limitRoute('{ algorithm = "fast", limit = 1, window = "365d", burst = 100 }'))) as string[];
    expect(problems).toHaveLength(1);
    expect(problems[0]).toStartWith("routes[0].rate_limits[0].algorithm:");
  });

  test("an empty revocation entry (the revocation sync refuses it when a reload applies it)", () => {
    expect(loadVerdict(withUpstream('[auth]\nrevoked_jtis = ["ok", ""]\nrevoked_api_keys = [""]'))).toEqual([
      "auth.revoked_jtis[1]: expected a non-empty string",
      "auth.revoked_api_keys[0]: expected a non-empty string",
    ]);
  });

  test("the registries have exactly the names the schema offers", () => {
    expect(Object.keys(BALANCERS).sort()).toEqual([...BALANCER_NAMES].sort());
    expect(Object.keys(ALGORITHMS).sort()).toEqual([...RATE_LIMIT_ALGORITHMS].sort());
  });
});

describe("load accepts ⇔ every worker can compile (property over valid and invalid configs)", () => {
  for (const c of CASES) {
    test(c.name, () => {
      const load = loadVerdict(c.toml);
      const config = c.worker ? c.worker() : unverified(c.toml);
      const worker = workerVerdict(config);
      expect({ load: load === "accepted", worker: worker === "compiles" }).toEqual({ load: c.refused === undefined, worker: c.refused === undefined });
    });
  }

  test("the set holds both kinds", () => {
    expect(CASES.filter((c) => c.refused === undefined).length).toBeGreaterThan(5);
    expect(CASES.filter((c) => c.refused !== undefined).length).toBeGreaterThan(10);
  });
});

describe("the real CLI", () => {
  const run = async (toml: string) => {
    const file = join(dir, `cli-${Math.random().toString(36).slice(2)}.toml`);
    writeFileSync(file, toml);
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../../src/main.ts"), "--config", file, "--check"], { stdout: "pipe", stderr: "pipe" });
    const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    return { code, out, err };
  };

  test("--check refuses a fixed_window limit the slot counter cannot hold", async () => {
    const r = await run(withUpstream(limitRoute(`{ algorithm = "fixed_window", limit = ${COUNT_MASK + 1}, window = "1s" }`)));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`routes[0].rate_limits[0].limit: must be at most ${COUNT_MASK} for fixed_window`);
  });

  test("--check refuses an RSA-1024 public_key", async () => {
    const r = await run(withUpstream(publicKey(rsa1024, '["RS256"]')));
    expect(r.code).toBe(1);
    expect(r.err).toContain("jwt.public_key: RSA key has 1024 bits; at least 2048 are required");
  });

  test("--check accepts the same config at the limit", async () => {
    const r = await run(withUpstream(limitRoute(`{ algorithm = "fixed_window", limit = ${COUNT_MASK}, window = "1s" }`)));
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toStartWith("config OK");
  });
});
