/**
 * The engines' own checks, run at config load: the last stage of
 * validateConfig, after normalization, so `--check`, start and reload refuse
 * exactly what a worker compiling its snapshot would (DESIGN.md "Config
 * contract": a config that `--check` accepts never fails when workers start).
 *
 * Each check is the engine's pure function, the same one its compile step
 * throws from: limitProblems (compileLimit), slotCountProblem (the slot
 * table), upstreamProblems (createUpstreamRuntime, createBalancer),
 * issuerProblems (JwtAuthenticator; imports the key, fetches no JWKS),
 * forwardClaimProblems (IdentityMapper), apiKeyProblems (ApiKeyStore), the
 * router's own add(), and Bun.serve's TLS setup (node:tls, which is the same
 * BoringSSL call). Nothing here opens a socket, fetches, or allocates a
 * SharedArrayBuffer.
 *
 * Engines report paths relative to what they checked; this file puts them
 * under the path the value has in the file. The normalized lists skip entries
 * the schema removed, so indices come from the raw document. An entry that
 * already has a problem is not checked again: its normalized form holds
 * fallbacks, and what an engine said about those would be noise.
 */

import { apiKeyProblems } from "../auth/api-keys.ts";
import { forwardClaimProblems } from "../auth/identity.ts";
import { issuerProblems } from "../auth/issuer.ts";
import type { KeyedProblem } from "../errors.ts";
import { limitProblems } from "../limits/compile.ts";
import { slotCountProblem } from "../limits/slot-table.ts";
import { variantKey } from "../router/conditions.ts";
import { Router } from "../router/radix.ts";
import { upstreamProblems } from "../upstream/validate.ts";
import { present } from "./normalize-common.ts";
import { certificateProblems, cipherProblem } from "./verify-tls.ts";
import { type KeyPath, type Problem, type Problems, formatPath, isWithin } from "./problems.ts";
import type { Loose, RawConfig } from "./schema.ts";
import type { GatewayConfig, RateLimitConfig } from "./types.ts";

/**
 * Runs every engine check on `config` (normalized from `doc`) and adds what
 * they refuse to `problems`. `reported`: what the earlier stages found.
 */
export function verifyConfig(config: GatewayConfig, doc: Loose<RawConfig>, reported: readonly Problem[], problems: Problems): void {
  const clean = (path: KeyPath): boolean => {
    const at = formatPath(path);
    return !reported.some((p) => isWithin(p.path, at) || isWithin(at, p.path));
  };
  const addAll = (base: KeyPath, found: readonly KeyedProblem[]) => {
    for (const p of found) problems.add([...base, ...p.path], p.message);
  };
  const routePaths = rawPaths(["routes"], doc.routes, config.routes.length);
  const upstreamPaths = rawPaths(["upstreams"], doc.upstreams, config.upstreams.length);
  const consumerPaths = rawPaths(["consumers"], doc.consumers, config.consumers.length);

  // Rate limits (compileLimit) on routes and consumers, and the slot table they share.
  const checkLimits = (limits: readonly RateLimitConfig[], raw: readonly unknown[] | undefined, owner: KeyPath) => {
    const paths = rawPaths([...owner, "rate_limits"], raw, limits.length);
    limits.forEach((limit, j) => addAll(paths[j]!, limitProblems(limit)));
  };
  config.routes.forEach((route, k) => {
    const path = routePaths[k];
    if (path !== undefined && clean(path)) checkLimits(route.rate_limits, (doc.routes?.[path[1] as number] as { rate_limits?: unknown[] } | undefined)?.rate_limits, path);
  });
  config.consumers.forEach((consumer, k) => {
    const path = consumerPaths[k];
    if (path !== undefined && clean(path)) checkLimits(consumer.rate_limits, doc.consumers?.[path[1] as number]?.rate_limits, path);
  });
  const slots = slotCountProblem(config.rate_limit.slots);
  if (slots !== null) problems.add(["rate_limit", "slots"], slots);

  // Upstreams: createUpstreamRuntime validates them and builds their balancers.
  config.upstreams.forEach((u, k) => {
    const path = upstreamPaths[k];
    if (path !== undefined && clean(path)) addAll(path, upstreamProblems(u));
  });

  // Auth: issuers (keys imported, no JWKS fetched), identity headers, the API-key table.
  const jwtPaths: KeyPath[] = Array.isArray(doc.jwt)
    ? rawPaths(["jwt"], doc.jwt, config.jwt.length)
    : config.jwt.length === 1 ? [["jwt"]] : [];
  config.jwt.forEach((issuer, k) => {
    const path = jwtPaths[k];
    if (path !== undefined && clean(path)) addAll(path, issuerProblems(issuer));
  });
  addAll(["auth", "forward_claims"], forwardClaimProblems(config.auth.forward_claims));
  for (const p of apiKeyProblems(config.consumers)) {
    const [c, , key] = p.path as [number, string, number];
    const path = consumerPaths[c];
    if (path === undefined || !clean(path)) continue;
    const keys = rawPaths([...path, "api_keys"], doc.consumers?.[path[1] as number]?.api_keys, config.consumers[c]!.api_keys.length);
    problems.add(keys[key] ?? [...path, "api_keys"], p.message);
  }

  // The router refuses what it cannot build (normalize-routes.ts reports the clashes it knows first).
  const router = new Router<number>();
  // Routes told apart by `match` share one entry, as in the snapshot (src/data/snapshot.ts).
  const entries = new Set<string>();
  config.routes.forEach((route, k) => {
    const path = routePaths[k];
    if (path === undefined || !clean(path)) return;
    const entry = variantKey(route);
    if (entries.has(entry)) return;
    entries.add(entry);
    try {
      router.add(route.path, route.methods, route.hosts, k);
    } catch (e) {
      problems.add([...path, "path"], (e as Error).message);
    }
  });
  try {
    router.compile();
  } catch (e) {
    problems.add(["routes"], (e as Error).message);
  }

  // Bun.serve refuses a certificate or key it cannot load, in every worker; node:tls runs the same check (verify-tls.ts).
  const tls = config.server.tls;
  if (tls !== null) {
    const tlsPaths: KeyPath[] = Array.isArray(doc.server?.tls) ? rawPaths(["server", "tls"], doc.server.tls, tls.length) : [["server", "tls"]];
    tls.forEach((entry, k) => {
      const path = tlsPaths[k];
      if (path !== undefined && clean(path)) addAll(path, certificateProblems(entry));
    });
    const ciphers = cipherProblem(config.server.tls_ciphers);
    if (ciphers !== null) problems.add(["server", "tls_ciphers"], ciphers);
  }
}

/** The file's key path of each normalized entry: the raw entries the schema kept, in order. */
function rawPaths(base: KeyPath, raw: readonly unknown[] | undefined, count: number): KeyPath[] {
  const paths = present(raw).map(([, i]): KeyPath => [...base, i]);
  // Normalizers emit one entry per kept raw entry; anything else and no path is trusted.
  return paths.length === count ? paths : [];
}
