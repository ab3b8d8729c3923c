/**
 * The rate-limit policy's [[routes]] key: `rate_limits` (default []). Each
 * entry is normalized like a consumer's (src/config/normalize-rate-limits.ts),
 * with the route's name as id prefix and "ip" as the default key.
 */
import type { AuthMode } from "../../auth/modes.ts";
import type { NormalizeContext } from "../../config/normalize-common.ts";
import { normalizeRateLimits } from "../../config/normalize-rate-limits.ts";
import type { KeyPath } from "../../config/problems.ts";
import { opt, RateLimits, type Loose, type RawRateLimit } from "../../config/schema-kit.ts";
import type { RateLimitConfig } from "../../limits/config.ts";

export const RATE_LIMIT_ROUTE_KEYS = { rate_limits: opt(RateLimits) };

export interface RateLimitRouteConfig {
  rate_limits: RateLimitConfig[];
}

export function normalizeRateLimitRoute(ctx: NormalizeContext, raw: Record<string, unknown>, at: KeyPath): RateLimitRouteConfig {
  const limits = raw.rate_limits as (Loose<RawRateLimit> | undefined)[] | undefined;
  const name = typeof raw.name === "string" ? raw.name : "";
  const auth = (typeof raw.auth === "string" ? raw.auth : "none") as AuthMode;
  return { rate_limits: normalizeRateLimits(ctx, limits, [...at, "rate_limits"], { idPrefix: name, defaultKey: "ip", auth }) };
}
