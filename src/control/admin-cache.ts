/**
 * Admin endpoints of the response cache: purge by URL (every route and Vary
 * variant of it), by URL prefix, or by tag (the upstream's Surrogate-Key /
 * Cache-Tag), and the arena's state. Purges go through the cache's
 * main-thread service (policies/cache/control.ts): it drops the entries from
 * the arena the workers share (every worker at once) and, with the Redis
 * tier, from Redis and every other instance's arena.
 */
import { t } from "elysia";
import type { CacheControl } from "../policies/cache/control.ts";
import { SharedStore, type StoreStats } from "../store/index.ts";
import type { AdminApi } from "./admin-api.ts";

const PurgeBody = t.Object(
  { url: t.Optional(t.String({ minLength: 1 })), prefix: t.Optional(t.String({ minLength: 1 })), tag: t.Optional(t.String({ minLength: 1 })) },
  { additionalProperties: false },
);

/** The store over the arena in `buffer` (opened once per buffer: a reload may bring a new one). */
function opener(buffer: () => SharedArrayBuffer | null): () => SharedStore | null {
  let last: SharedArrayBuffer | null = null;
  let open: SharedStore | null = null;
  return () => {
    const b = buffer();
    if (b === null) return null;
    if (b !== last) {
      open = new SharedStore(b);
      last = b;
    }
    return open;
  };
}

/** The arena's figures alone (the /metrics gauges); null without a cached route. */
export function arenaStats(buffer: () => SharedArrayBuffer | null): () => StoreStats | null {
  const get = opener(buffer);
  return () => get()?.stats() ?? null;
}

/** The arena's figures for GET /status and GET /cache, and the Redis tier's state; null without a cached route. */
export function cacheStats(buffer: () => SharedArrayBuffer | null, control: () => CacheControl | null): () => unknown {
  const arena = arenaStats(buffer);
  return () => {
    const stats = arena();
    return stats === null ? null : { ...stats, redis: control()?.redisState() ?? null };
  };
}

export function addCacheRoutes(api: AdminApi, buffer: () => SharedArrayBuffer | null, control: () => CacheControl | null): void {
  const stats = cacheStats(buffer, control);
  api
    .add({
      method: "post",
      path: "/cache/purge",
      tag: "cache",
      summary: "Purge cached responses by url, prefix or tag",
      description:
        'One of { "url": "http://api.example.com/users/1" } (that URL on every route, all its Vary variants), { "prefix": "http://api.example.com/users/" } or { "tag": "user-1" } (Surrogate-Key / Cache-Tag). URLs are as the gateway saw them: scheme, Host as sent (lower-cased), path and query. Answers how many entries went from this instance\'s memory tier (purged) and, with [cache] redis = true, from Redis (redis_purged); replicated: false means Redis is unreachable and the purge is queued until it is back.',
      body: PurgeBody,
      responses: {
        200: {
          description: "purged",
          schema: t.Object({ purged: t.Integer(), redis_purged: t.Union([t.Integer(), t.Null()]), replicated: t.Union([t.Boolean(), t.Null()]) }),
        },
        400: { description: "not exactly one of url, prefix, tag" },
        404: { description: "no route has a cache" },
      },
      handler: async ({ body, set }) => {
        const b = body as { url?: string; prefix?: string; tag?: string };
        const given = [b.url, b.prefix, b.tag].filter((v) => v !== undefined).length;
        if (given !== 1) {
          set.status = 400;
          return { error: "bad_request", message: "give exactly one of url, prefix, tag" };
        }
        const url = b.url ?? b.prefix;
        if (url !== undefined && !/^https?:\/\//i.test(url)) {
          set.status = 400;
          return { error: "bad_request", message: "url and prefix must start with http:// or https://" };
        }
        const done =
          b.url !== undefined ? control()?.purge("url", normalise(b.url)) : b.prefix !== undefined ? control()?.purge("prefix", normalise(b.prefix)) : control()?.purge("tag", b.tag!);
        if (done == null) {
          set.status = 404;
          return { error: "not_found", message: "no route has a cache" };
        }
        return await done;
      },
    })
    .add({
      method: "get",
      path: "/cache",
      tag: "cache",
      summary: "The shared cache arena: entries, bytes, capacity, evictions; the Redis tier's state",
      responses: { 200: { description: "arena figures (and redis: the Redis tier's state, or null), or null without a cached route" } },
      handler: () => stats(),
    });
}

/** Scheme and host lower-cased as the keys have them; path and query as given. */
function normalise(url: string): string {
  const m = /^(https?:\/\/)([^/?#]*)(.*)$/i.exec(url);
  return m === null ? url : `${m[1]!.toLowerCase()}${m[2]!.toLowerCase()}${m[3]!}`;
}
