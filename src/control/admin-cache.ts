/**
 * Admin endpoints of the response cache: purge by URL (every route and Vary
 * variant of it), by URL prefix, or by tag (the upstream's Surrogate-Key /
 * Cache-Tag), and the arena's state. The main thread opens the same shared
 * arena the workers use, so a purge reaches every worker at once.
 */
import { t } from "elysia";
import { HttpCache } from "../cache/http-cache.ts";
import { SharedStore, type StoreStats } from "../store/index.ts";
import type { AdminApi } from "./admin-api.ts";

const PurgeBody = t.Object(
  { url: t.Optional(t.String({ minLength: 1 })), prefix: t.Optional(t.String({ minLength: 1 })), tag: t.Optional(t.String({ minLength: 1 })) },
  { additionalProperties: false },
);

/** The cache over the arena in `buffer` (opened once per buffer: a reload may bring a new one). */
function opener(buffer: () => SharedArrayBuffer | null): () => { cache: HttpCache; store: SharedStore } | null {
  let last: SharedArrayBuffer | null = null;
  let open: { cache: HttpCache; store: SharedStore } | null = null;
  return () => {
    const b = buffer();
    if (b === null) return null;
    if (b !== last) {
      const store = new SharedStore(b);
      open = { cache: new HttpCache(store), store };
      last = b;
    }
    return open;
  };
}

/** The arena's figures for GET /status and GET /cache; null without a cached route. */
export function cacheStats(buffer: () => SharedArrayBuffer | null): () => StoreStats | null {
  const get = opener(buffer);
  return () => get()?.store.stats() ?? null;
}

export function addCacheRoutes(api: AdminApi, buffer: () => SharedArrayBuffer | null): void {
  const get = opener(buffer);
  api
    .add({
      method: "post",
      path: "/cache/purge",
      tag: "cache",
      summary: "Purge cached responses by url, prefix or tag",
      description:
        'One of { "url": "http://api.example.com/users/1" } (that URL on every route, all its Vary variants), { "prefix": "http://api.example.com/users/" } or { "tag": "user-1" } (Surrogate-Key / Cache-Tag). URLs are as the gateway saw them: scheme, Host as sent (lower-cased), path and query. Answers how many entries went.',
      body: PurgeBody,
      responses: {
        200: { description: "purged", schema: t.Object({ purged: t.Integer() }) },
        400: { description: "not exactly one of url, prefix, tag" },
        404: { description: "no route has a cache" },
      },
      handler: ({ body, set }) => {
        const b = body as { url?: string; prefix?: string; tag?: string };
        const given = [b.url, b.prefix, b.tag].filter((v) => v !== undefined).length;
        if (given !== 1) {
          set.status = 400;
          return { error: "bad_request", message: "give exactly one of url, prefix, tag" };
        }
        const c = get();
        if (c === null) {
          set.status = 404;
          return { error: "not_found", message: "no route has a cache" };
        }
        const url = b.url ?? b.prefix;
        if (url !== undefined && !/^https?:\/\//i.test(url)) {
          set.status = 400;
          return { error: "bad_request", message: "url and prefix must start with http:// or https://" };
        }
        const purged = b.url !== undefined ? c.cache.invalidate(normalise(b.url)) : b.prefix !== undefined ? c.cache.purgePrefix(normalise(b.prefix)) : c.cache.purgeTag(b.tag!);
        return { purged };
      },
    })
    .add({
      method: "get",
      path: "/cache",
      tag: "cache",
      summary: "The shared cache arena: entries, bytes, capacity, evictions",
      responses: { 200: { description: "arena figures, or null without a cached route" } },
      handler: () => get()?.store.stats() ?? null,
    });
}

/** Scheme and host lower-cased as the keys have them; path and query as given. */
function normalise(url: string): string {
  const m = /^(https?:\/\/)([^/?#]*)(.*)$/i.exec(url);
  return m === null ? url : `${m[1]!.toLowerCase()}${m[2]!.toLowerCase()}${m[3]!}`;
}
