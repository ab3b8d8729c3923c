/**
 * `rate_limits = [...]` of a route or a consumer → RateLimitConfig[].
 *
 * Defaults: window required (except concurrency, which has none); burst =
 * limit for token_bucket, 0 for leaky_bucket (and not accepted by the other
 * algorithms); key = "ip" on routes, "consumer" on consumers; delay = false
 * (leaky_bucket only); adaptive off, and when given lag_threshold "50ms",
 * min_factor 0.25. Each limit gets a stable id: "<route>#<index>" or
 * "consumer:<name>#<index>".
 */

import { isToken } from "./addresses.ts";
import { type NormalizeContext, present, readDuration } from "./normalize-common.ts";
import type { KeyPath } from "./problems.ts";
import type { AuthMode } from "../auth/modes.ts";
import type { RateLimitConfig } from "../limits/config.ts";
import type { Loose, RawRateLimit } from "./schema-kit.ts";

export interface RateLimitOwner {
  /** Id prefix: route name, or "consumer:<name>". */
  idPrefix: string;
  defaultKey: string;
  /** A route's auth mode, to refuse keys that need an identity; null for consumers (always authenticated). */
  auth: AuthMode | null;
}

const KEY_FORMS = "ip, consumer, route, global, header:NAME or claim:NAME";

export function normalizeRateLimits(
  ctx: NormalizeContext,
  raw: readonly (Loose<RawRateLimit> | undefined)[] | undefined,
  path: KeyPath,
  owner: RateLimitOwner,
): RateLimitConfig[] {
  const out: RateLimitConfig[] = [];
  for (const [limit, i] of present(raw)) out.push(normalizeOne(ctx, limit, [...path, i], owner, i));
  return out;
}

function normalizeOne(
  ctx: NormalizeContext,
  raw: Loose<RawRateLimit>,
  path: KeyPath,
  owner: RateLimitOwner,
  index: number,
): RateLimitConfig {
  const at = (key: string): KeyPath => [...path, key];
  const algorithm = raw.algorithm ?? "token_bucket";
  const limit = raw.limit ?? 1;

  let window = 0;
  if (algorithm === "concurrency") {
    if (raw.window !== undefined) ctx.problems.add(at("window"), "not used by the concurrency algorithm");
  } else if (raw.window === undefined) {
    if (raw.algorithm !== undefined) ctx.problems.add(at("window"), "required key missing");
  } else {
    window = readDuration(ctx, raw.window, at("window"), 0);
    if (window === 0) ctx.problems.add(at("window"), "must be greater than 0");
  }

  let burst = algorithm === "token_bucket" ? limit : 0;
  if (raw.burst !== undefined) {
    if (algorithm === "token_bucket" || algorithm === "leaky_bucket") burst = raw.burst;
    else ctx.problems.add(at("burst"), "only used by token_bucket and leaky_bucket");
    if (algorithm === "token_bucket" && raw.burst === 0) {
      ctx.problems.add(at("burst"), "must be at least 1 for token_bucket (it is the bucket's capacity)");
    }
  }

  const delay = raw.delay ?? false;
  if (raw.delay !== undefined && algorithm !== "leaky_bucket") ctx.problems.add(at("delay"), "only used by leaky_bucket");

  let adaptive: RateLimitConfig["adaptive"] = null;
  if (raw.adaptive !== undefined) {
    const lag_threshold = readDuration(ctx, raw.adaptive.lag_threshold, [...path, "adaptive", "lag_threshold"], 50);
    if (raw.adaptive.lag_threshold !== undefined && lag_threshold === 0) {
      ctx.problems.add([...path, "adaptive", "lag_threshold"], "must be greater than 0");
    }
    adaptive = { lag_threshold, min_factor: raw.adaptive.min_factor ?? 0.25 };
  }

  return {
    algorithm,
    limit,
    window,
    burst,
    key: normalizeKey(ctx, raw.key, at("key"), owner),
    delay,
    adaptive,
    id: `${owner.idPrefix}#${index}`,
  };
}

function normalizeKey(
  ctx: NormalizeContext,
  raw: Loose<RawRateLimit>["key"],
  path: KeyPath,
  owner: RateLimitOwner,
): string[] {
  if (raw === undefined) return [owner.defaultKey];
  const parts: [string, KeyPath][] =
    typeof raw === "string" ? [[raw, path]] : present(raw).map(([part, i]) => [part, [...path, i]]);
  if (typeof raw !== "string" && raw.length === 0) ctx.problems.add(path, "expected at least one key part");
  const out: string[] = [];
  for (const [part, partPath] of parts) {
    const normalized = normalizeKeyPart(part);
    if (normalized === null) {
      ctx.problems.add(partPath, `invalid key ${JSON.stringify(part)} (expected ${KEY_FORMS})`);
      continue;
    }
    if (out.includes(normalized)) {
      ctx.problems.add(partPath, `duplicate key part ${JSON.stringify(normalized)}`);
      continue;
    }
    const needs = identityNeeded(normalized, owner.auth);
    if (needs !== null) ctx.problems.add(partPath, needs);
    out.push(normalized);
  }
  return out;
}

/** "header:X-Tenant" → "header:x-tenant"; null when not one of the key forms. */
function normalizeKeyPart(part: string): string | null {
  if (part === "ip" || part === "consumer" || part === "route" || part === "global") return part;
  if (part.startsWith("header:")) {
    const name = part.slice(7);
    return isToken(name) ? `header:${name.toLowerCase()}` : null;
  }
  if (part.startsWith("claim:")) return part.length > 6 ? part : null;
  return null;
}

/** A key on the consumer or a claim only exists once the route authenticates. */
function identityNeeded(part: string, auth: AuthMode | null): string | null {
  if (auth === null) return null;
  if (part === "consumer" && auth === "none") {
    return 'key "consumer" needs the route to authenticate (auth is "none")';
  }
  if (part.startsWith("claim:") && auth !== "jwt" && auth !== "any") {
    return `key ${JSON.stringify(part)} needs auth = "jwt" or "any" (auth is ${JSON.stringify(auth)})`;
  }
  return null;
}
