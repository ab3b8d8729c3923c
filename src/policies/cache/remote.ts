/**
 * The Redis tier as a worker uses it (`[cache] redis = true`): its own
 * connection, lookups and stores through the engine (src/cache/redis-tier.ts),
 * and §4.4 invalidations written to Redis and announced to the other
 * instances. Stores and invalidations never hold a request up: they run
 * after the answer is decided. Invalidations made while Redis is down are
 * kept (up to MAX_PENDING URIs) and sent once it is back, so other instances
 * drop their copies then.
 */
import { RedisTier, type TierOp, type TierResult } from "../../cache/redis-tier.ts";
import type { StoredEntry } from "../../cache/entry.ts";
import type { GatewayConfig } from "../../config/types.ts";
import { controlEvent } from "../../metrics/events.ts";
import { metricsRegistry } from "../../metrics/registry.ts";
import { createRedisClient, type RedisClient } from "../../util/redis.ts";

const MAX_PENDING = 1000;

export interface RemoteTier {
  readonly tier: RedisTier;
  /** Write an entry the arena just stored (fire and forget). */
  store(primary: string, key: string, e: StoredEntry, body: Uint8Array, ttlMs: number): void;
  /** §4.4: drop `uri`'s entries in Redis and tell every instance (queued while Redis is down). */
  invalidate(uri: string): void;
  whenReady(ms: number): Promise<void>;
  close(): void;
}

export const REDIS_OPS_METRIC = "gateway_cache_redis_operations_total";
export const REDIS_OPS_HELP = "Cache Redis tier operations by op (lookup, store, invalidate, purge, feed) and result (hit, miss, ok, error, skipped, queued)";

export function createRemoteTier(config: GatewayConfig): RemoteTier | null {
  if (!config.cache.redis || config.redis === null) return null;
  const client = createRedisClient(config.redis, "gateway-cache");
  const ops = metricsRegistry().counter(REDIS_OPS_METRIC, REDIS_OPS_HELP, ["op", "result"]);
  const bound = new Map<string, ReturnType<typeof ops.labels>>();
  const count = (op: TierOp, result: TierResult) => {
    const k = `${op} ${result}`;
    let c = bound.get(k);
    if (c === undefined) bound.set(k, (c = ops.labels([op, result])));
    c.inc();
    if (down && (result === "hit" || result === "miss" || result === "ok")) back();
  };
  let down = false;
  const back = () => {
    down = false;
    controlEvent("cache_redis_back", "info", { msg: "Redis cache tier is back" });
  };
  const tier = new RedisTier(client, config.redis.key_prefix, {
    onResult: count,
    onError(error) {
      if (down) return;
      // One line per outage and worker: the metric counts how often the tier was skipped.
      down = true;
      controlEvent("cache_redis_unavailable", "warn", { msg: "Redis cache tier unreachable: serving from the memory tier and the origin", error: error instanceof Error ? error.message : String(error) });
    },
  });
  const pending = new Set<string>();
  const flush = () => {
    const list = [...pending];
    pending.clear();
    for (const uri of list) void send(uri);
  };
  const send = (uri: string): Promise<void> =>
    tier
      .invalidate(uri)
      .then(() => tier.announce("url", uri))
      .then(() => {
        if (pending.size > 0) flush();
      })
      .catch(() => keep(uri));
  const keep = (uri: string) => {
    count("invalidate", "queued");
    if (pending.size >= MAX_PENDING) pending.delete(pending.values().next().value!);
    pending.add(uri);
  };
  client.on("ready", () => {
    if (down) back();
    flush();
  });
  return {
    tier,
    store(primary, key, e, body, ttlMs) {
      void tier.store(primary, key, e, body, ttlMs);
    },
    invalidate(uri) {
      // Off the request path: tried whenever connected, even while lookups skip a slow Redis.
      if (client.status !== "ready") return keep(uri);
      void send(uri);
    },
    whenReady: (ms) => connected(client, ms),
    close: () => void client.quit().catch(() => client.disconnect()),
  };
}

/** Resolves once `client` is connected, or after `ms` (the tier is skipped until it is). */
function connected(client: RedisClient, ms: number): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    client.once("ready", done);
    function done() {
      clearTimeout(timer);
      client.off("ready", done);
      resolve();
    }
  });
}
