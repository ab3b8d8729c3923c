/**
 * The cache's config keys (DESIGN.md): `[cache] size, max_object_size,
 * redis, lock_timeout` and the route's `cache = { ttl,
 * stale_while_revalidate, stale_if_error }` (`cache = true` or `{}`: RFC
 * 9111 alone, the origin's Cache-Control/Expires and Last-Modified
 * heuristics; `false` or absent: no cache on the route).
 */
import { Type } from "@sinclair/typebox";
import { readDuration, readSize, type NormalizeContext } from "../../config/normalize-common.ts";
import type { KeyPath } from "../../config/problems.ts";
import { Bool, Duration, opt, Size, table } from "../../config/schema-kit.ts";

export const CacheSection = table({ size: opt(Size), max_object_size: opt(Size), redis: opt(Bool), lock_timeout: opt(Duration) });
export const CacheRouteTable = table({ ttl: opt(Duration), stale_while_revalidate: opt(Duration), stale_if_error: opt(Duration) });

export const CACHE_SECTION_KEYS = { cache: opt(CacheSection) };
export const CACHE_ROUTE_KEYS = { cache: opt(Type.Union([CacheRouteTable, Bool], { errorMessage: "expected a cache table, true or false" })) };

export interface CacheSectionConfig {
  /** Bytes of the shared arena. */
  size: number;
  /** Largest body stored; larger ones stream through uncached. */
  max_object_size: number;
  /** A second tier in Redis (`[redis]`), shared by every instance on it. */
  redis: boolean;
  /** How long coalesced misses wait for the request filling the entry before going upstream themselves. */
  lock_timeout: number;
}

export interface CacheRouteSettings {
  /** ms, 0 = none */
  ttl: number;
  stale_while_revalidate: number;
  stale_if_error: number;
}

export interface CacheRouteConfig {
  cache: CacheRouteSettings | null;
}

export const CACHE_DEFAULTS: CacheSectionConfig = { size: 64 * 1024 * 1024, max_object_size: 8 * 1024 * 1024, redis: false, lock_timeout: 5000 };

export function normalizeCacheSection(ctx: NormalizeContext, doc: Record<string, unknown>): { cache: CacheSectionConfig } {
  const raw = doc.cache as Record<string, unknown> | undefined;
  if (raw === undefined || raw === null || typeof raw !== "object") return { cache: { ...CACHE_DEFAULTS } };
  const size = readSize(ctx, raw.size as string | undefined, ["cache", "size"], CACHE_DEFAULTS.size);
  const max = readSize(ctx, raw.max_object_size as string | undefined, ["cache", "max_object_size"], CACHE_DEFAULTS.max_object_size);
  const lock = readDuration(ctx, raw.lock_timeout as string | undefined, ["cache", "lock_timeout"], CACHE_DEFAULTS.lock_timeout);
  if (typeof raw.size === "string" && size < 1024 * 1024) ctx.problems.add(["cache", "size"], "must be at least 1MB");
  if (typeof raw.max_object_size === "string" && (max < 1 || max > size / 4)) ctx.problems.add(["cache", "max_object_size"], "must be between 1B and a quarter of cache.size");
  const redis = raw.redis === true;
  if (redis && doc.redis === undefined) ctx.problems.add(["cache", "redis"], "the Redis second tier needs a [redis] section (its url); add one or set redis = false");
  return { cache: { size, max_object_size: max, redis, lock_timeout: lock } };
}

export function normalizeCacheRoute(ctx: NormalizeContext, raw: Record<string, unknown>, at: KeyPath): CacheRouteConfig {
  const v = raw.cache;
  if (v === undefined || v === false) return { cache: null };
  if (v === true) return { cache: { ttl: 0, stale_while_revalidate: 0, stale_if_error: 0 } };
  if (v === null || typeof v !== "object") return { cache: null };
  const t = v as Record<string, unknown>;
  const path = [...at, "cache"];
  return {
    cache: {
      ttl: readDuration(ctx, t.ttl as string | undefined, [...path, "ttl"], 0),
      stale_while_revalidate: readDuration(ctx, t.stale_while_revalidate as string | undefined, [...path, "stale_while_revalidate"], 0),
      stale_if_error: readDuration(ctx, t.stale_if_error as string | undefined, [...path, "stale_if_error"], 0),
    },
  };
}
