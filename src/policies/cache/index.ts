/**
 * The response cache (DESIGN.md step 5 and 8; RFC 9111, RFC 5861, RFC 9211):
 * one shared-memory arena (src/store) for every worker, allocated only when
 * some route has `cache`. The engine is src/cache; this folder adapts it to
 * the pipeline. A route without `cache` gets no policy at all. With
 * `[cache] redis = true` each worker also reaches the Redis tier
 * (remote.ts), and the main thread follows the other instances' purges
 * (control.ts).
 */
import { Coalescer } from "../../cache/coalesce.ts";
import { HttpCache } from "../../cache/http-cache.ts";
import type { CacheStore } from "../../cache/store.ts";
import { metricsRegistry } from "../../metrics/registry.ts";
import { SharedStore } from "../../store/index.ts";
import { definePolicy } from "../types.ts";
import { CACHE_ROUTE_KEYS, CACHE_SECTION_KEYS, normalizeCacheRoute, normalizeCacheSection } from "./config.ts";
import { startCacheControl } from "./control.ts";
import { createCachePolicy, type CacheRuntime, type Result } from "./policy.ts";
import { createRemoteTier } from "./remote.ts";

const RESULTS: readonly Result[] = ["hit", "miss", "stale", "bypass", "revalidated"];

export const cache = definePolicy<CacheRuntime | null>({
  name: "cache",
  sectionKeys: CACHE_SECTION_KEYS,
  normalizeSections: (ctx, doc) => normalizeCacheSection(ctx, doc),
  routeKeys: CACHE_ROUTE_KEYS,
  normalizeRoute: normalizeCacheRoute,
  share(config, previous) {
    if (!config.routes.some((r) => r.cache !== null)) return null;
    // Same arena size and object cap: the entries stay across reloads.
    const p = previous?.config.cache;
    if (previous?.buffer != null && p!.size === config.cache.size && p!.max_object_size === config.cache.max_object_size) return previous.buffer;
    return SharedStore.allocate(config.cache.size, { maxObjectBytes: config.cache.max_object_size + 64 * 1024 });
  },
  control: (config, buffer) => startCacheControl(config, buffer),
  setup(config, buffer) {
    if (buffer === null) return null;
    const store = new SharedStore(buffer) satisfies CacheStore;
    const http = new HttpCache(store);
    const requests = metricsRegistry().counter("gateway_cache_requests_total", "Requests of cached routes by cache result", ["route", "result"]);
    return {
      cache: http,
      coalescer: new Coalescer(http, config.cache.lock_timeout),
      scheme: config.server.tls ? "https" : "http",
      maxObject: config.cache.max_object_size,
      now: Date.now,
      counters: (route) => Object.fromEntries(RESULTS.map((r) => [r, requests.labels([route, r])])) as Record<Result, ReturnType<typeof requests.labels>>,
      remote: createRemoteTier(config),
    };
  },
  create(route, rt) {
    if (route.cache === null || rt === null) return null;
    const c = route.cache;
    return createCachePolicy(route.name, { ttl: c.ttl, staleWhileRevalidate: c.stale_while_revalidate, staleIfError: c.stale_if_error }, rt);
  },
  ready: (rt, timeoutMs) => rt?.remote?.whenReady(timeoutMs) ?? Promise.resolve(),
  dispose: (rt) => rt?.remote?.close(),
});
