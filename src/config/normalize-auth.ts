/**
 * [jwt] / [[jwt]], [auth] and [[consumers]] → normalized config.
 *
 * JWT defaults: issuer none (any `iss`, single issuer only), audience [] (not
 * checked), clock_skew "30s", require_exp true, consumer_claim "consumer",
 * roles_claim "roles", scopes_claim "scope", permissions_claim "permissions",
 * jwks_cooldown "30s", jwks_refresh "10m", max_token_size "8KB". Exactly one
 * of jwks_url, secret, public_key; algorithms required (see jwt-keys.ts).
 *
 * [auth] defaults: api_key_header "x-api-key", api_key_query none,
 * strip_authorization false, strip_api_key false, forward_claims {}, revoked_jtis [],
 * revoked_api_keys [], token_cache_size 10000.
 */

import { checkUrl } from "./addresses.ts";
import { CLAIM_HEADER_DENYLIST } from "../auth/identity.ts";
import { type KeySource, type VerifyKey, checkAlgorithm, hmacSecretBytes, keyFitsPublicKey, parsePublicKey, readPublicKeyText } from "./jwt-keys.ts";
import {
  type NormalizeContext,
  present,
  readDuration,
  readHeaderName,
  readSize,
  requirePositive,
  values,
} from "./normalize-common.ts";
import { normalizeRateLimits } from "./normalize-rate-limits.ts";
import type { KeyPath } from "./problems.ts";
import type { Loose, RawAuth, RawConfig, RawConsumer, RawJwtIssuer } from "./schema.ts";
import type { AuthConfig, ConsumerConfig, JwtIssuerConfig } from "./types.ts";

const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

export function normalizeJwt(ctx: NormalizeContext, raw: Loose<RawConfig>["jwt"]): JwtIssuerConfig[] {
  if (raw === undefined) return [];
  const entries: [Loose<RawJwtIssuer>, KeyPath][] = Array.isArray(raw)
    ? present(raw).map(([issuer, i]) => [issuer, ["jwt", i]])
    : [[raw, ["jwt"]]];
  const out = entries.map(([issuer, path]) => normalizeIssuer(ctx, issuer, path));
  if (entries.length > 1) {
    const firstByIssuer = new Map<string, KeyPath>();
    for (const [issuer, path] of entries) {
      if (issuer.issuer === undefined) {
        ctx.problems.add([...path, "issuer"], "required when several [[jwt]] issuers are configured");
        continue;
      }
      const first = firstByIssuer.get(issuer.issuer);
      if (first !== undefined) {
        ctx.problems.add([...path, "issuer"], `duplicate issuer ${JSON.stringify(issuer.issuer)} (also jwt[${first[1]}])`);
      } else firstByIssuer.set(issuer.issuer, path);
    }
  }
  return out;
}

function normalizeIssuer(ctx: NormalizeContext, raw: Loose<RawJwtIssuer>, path: KeyPath): JwtIssuerConfig {
  const at = (key: string): KeyPath => [...path, key];
  const given = (["jwks_url", "secret", "public_key"] as const).filter((k) => raw[k] !== undefined);
  if (given.length === 0) ctx.problems.add(path, "set exactly one of jwks_url, secret or public_key");
  if (given.length > 1) ctx.problems.add(path, `set only one of jwks_url, secret or public_key (found ${given.join(" and ")})`);
  const source: KeySource | null = given.length === 1 ? given[0]! : null;

  if (raw.jwks_url !== undefined) {
    const bad = checkUrl(raw.jwks_url, ["https:", "http:"]);
    const url = URL.parse(raw.jwks_url);
    if (bad !== null) ctx.problems.add(at("jwks_url"), bad);
    else if (url !== null && url.protocol === "http:" && !LOOPBACK_HOSTS.test(url.hostname)) {
      // Keys fetched in clear text could be swapped in transit, and then any token verifies.
      ctx.problems.add(at("jwks_url"), "must be https:// (plain http:// is accepted only for loopback hosts)");
    }
  }

  let public_key: string | null = null;
  let key: VerifyKey | null = null;
  if (raw.public_key !== undefined) {
    const read = readPublicKeyText(raw.public_key, ctx.configDir);
    if ("error" in read) ctx.problems.add(at("public_key"), read.error);
    else {
      public_key = read.text;
      const parsed = parsePublicKey(read.text);
      if (typeof parsed === "string") ctx.problems.add(at("public_key"), parsed);
      else key = parsed;
    }
  }

  const algorithms: string[] = [];
  for (const [alg, i] of present(raw.algorithms)) {
    const bad = checkAlgorithm(alg, source) ?? (key !== null && source === "public_key" ? keyFitsPublicKey(key, alg) : null);
    if (bad !== null) ctx.problems.add([...path, "algorithms", i], bad);
    if (!algorithms.includes(alg)) algorithms.push(alg);
  }

  // RFC 7518 §3.2: an HMAC key must be at least as long as the hash output.
  if (typeof raw.secret === "string" && raw.secret.length > 0) {
    const bytes = Buffer.byteLength(raw.secret);
    const needed = hmacSecretBytes(algorithms);
    if (bytes < needed) ctx.problems.add(at("secret"), `too short: ${needed} bytes at least for ${algorithms.filter((a) => a.startsWith("HS")).join(", ")} (RFC 7518 §3.2); got ${bytes}`);
  }

  const jwks_cooldown = readDuration(ctx, raw.jwks_cooldown, at("jwks_cooldown"), 30_000);
  const jwks_refresh = readDuration(ctx, raw.jwks_refresh, at("jwks_refresh"), 600_000);
  requirePositive(ctx, jwks_refresh, raw.jwks_refresh, at("jwks_refresh"));
  const max_token_size = readSize(ctx, raw.max_token_size, at("max_token_size"), 8192);
  if (raw.max_token_size !== undefined && max_token_size === 0) ctx.problems.add(at("max_token_size"), "must be greater than 0");

  return {
    issuer: raw.issuer ?? null,
    audience: raw.audience === undefined ? [] : typeof raw.audience === "string" ? [raw.audience] : values(raw.audience),
    jwks_url: raw.jwks_url ?? null,
    secret: raw.secret ?? null,
    public_key,
    algorithms,
    clock_skew: readDuration(ctx, raw.clock_skew, at("clock_skew"), 30_000),
    require_exp: raw.require_exp ?? true,
    consumer_claim: raw.consumer_claim ?? "consumer",
    roles_claim: raw.roles_claim ?? "roles",
    scopes_claim: raw.scopes_claim ?? "scope",
    permissions_claim: raw.permissions_claim ?? "permissions",
    jwks_cooldown,
    jwks_refresh,
    max_token_size,
  };
}

export function normalizeAuth(ctx: NormalizeContext, raw: Loose<RawAuth> | undefined): AuthConfig {
  const a = raw ?? {};
  const forward_claims: Record<string, string> = {};
  for (const [claim, header] of Object.entries(a.forward_claims ?? {})) {
    if (header === undefined) continue;
    const path: KeyPath = ["auth", "forward_claims", claim];
    if (claim === "") ctx.problems.add(path, "claim name must not be empty");
    const name = readHeaderName(ctx, header, path);
    if (CLAIM_HEADER_DENYLIST.has(name)) ctx.problems.add(path, `cannot forward a claim into the ${JSON.stringify(name)} header`);
    forward_claims[claim] = name;
  }
  return {
    api_key_header:
      a.api_key_header === undefined ? "x-api-key" : readHeaderName(ctx, a.api_key_header, ["auth", "api_key_header"]),
    api_key_query: a.api_key_query ?? null,
    strip_authorization: a.strip_authorization ?? false,
    strip_api_key: a.strip_api_key ?? false,
    forward_claims,
    revoked_jtis: values(a.revoked_jtis),
    revoked_api_keys: values(a.revoked_api_keys),
    token_cache_size: a.token_cache_size ?? 10_000,
  };
}

/** Consumers; API keys must be unique across all of them (a key names exactly one consumer). */
export function normalizeConsumers(
  ctx: NormalizeContext,
  raw: readonly (Loose<RawConsumer> | undefined)[] | undefined,
): ConsumerConfig[] {
  const out: ConsumerConfig[] = [];
  const firstByName = new Map<string, number>();
  const ownerOfKey = new Map<string, number>();
  for (const [consumer, i] of present(raw)) {
    const name = consumer.name ?? "";
    if (consumer.name !== undefined) {
      const first = firstByName.get(name);
      if (first !== undefined) {
        ctx.problems.add(["consumers", i, "name"], `duplicate consumer name ${JSON.stringify(name)} (also consumers[${first}])`);
      } else firstByName.set(name, i);
    }
    const api_keys: string[] = [];
    for (const [apiKey, k] of present(consumer.api_keys)) {
      // The key itself is a secret: messages name where it is, never what it is.
      const owner = ownerOfKey.get(apiKey);
      if (owner === i) ctx.problems.add(["consumers", i, "api_keys", k], "duplicate API key");
      else if (owner !== undefined) ctx.problems.add(["consumers", i, "api_keys", k], `API key already used by consumers[${owner}]`);
      else ownerOfKey.set(apiKey, i);
      api_keys.push(apiKey);
    }
    const api_key_digests: string[] = [];
    for (const [digest, k] of present(consumer.api_key_digests)) {
      if (!/^[0-9a-fA-F]{64}$/.test(digest)) ctx.problems.add(["consumers", i, "api_key_digests", k], "expected a SHA-256 digest (64 hex digits)");
      else api_key_digests.push(digest.toLowerCase());
    }
    out.push({
      name,
      api_keys,
      ...(api_key_digests.length > 0 ? { api_key_digests } : {}),
      roles: values(consumer.roles),
      rate_limits: normalizeRateLimits(ctx, consumer.rate_limits, ["consumers", i, "rate_limits"], {
        idPrefix: `consumer:${name}`,
        defaultKey: "consumer",
        auth: null,
      }),
    });
  }
  return out;
}
