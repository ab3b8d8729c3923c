/**
 * The cache's main-thread service: purges (admin `POST /cache/purge`) and,
 * with the Redis tier, the purge feed that brings every other instance's
 * purges and invalidations to this instance's arena.
 *
 * A purge here drops the entries from the arena (every worker at once: it
 * is shared memory), then, with the Redis tier, deletes them in Redis and
 * announces it on `<key_prefix>cache:purges` (src/cache/purge-feed.ts), so
 * every instance drops its own copies. While Redis is unreachable the
 * Redis half is kept (up to MAX_PENDING purges, oldest dropped first) and
 * sent, in order, when it is back; the answer says so (`replicated: false`).
 */
import { HttpCache } from "../../cache/http-cache.ts";
import { PurgeFeed } from "../../cache/purge-feed.ts";
import { RedisTier, type PurgeKind } from "../../cache/redis-tier.ts";
import type { GatewayConfig } from "../../config/types.ts";
import { controlEvent } from "../../metrics/events.ts";
import { metricsRegistry } from "../../metrics/registry.ts";
import { SharedStore } from "../../store/index.ts";
import { createRedisClient, type RedisClient } from "../../util/redis.ts";
import type { PolicyControl } from "../types.ts";
import { REDIS_OPS_HELP, REDIS_OPS_METRIC } from "./remote.ts";

const MAX_PENDING = 10_000;

export interface PurgeResult {
  /** Entries dropped from this instance's arena. */
  purged: number;
  /** Entries deleted in Redis: null without the Redis tier, or while the purge waits for Redis. */
  redis_purged: number | null;
  /** Reached Redis and every instance (true), waits for Redis (false), no Redis tier (null). */
  replicated: boolean | null;
}

export interface CacheRedisState {
  connected: boolean;
  /** Following the other instances' purges. */
  feed: boolean;
  pending_purges: number;
  feed_applied: number;
  /** Arena clears after the feed missed announcements. */
  feed_clears: number;
  last_error: string | null;
}

export interface CacheControl extends PolicyControl {
  /** null when no route has a cache. */
  purge(kind: PurgeKind, value: string): Promise<PurgeResult> | null;
  /** The Redis tier's state for GET /status; null without it. */
  redisState(): CacheRedisState | null;
}

interface Tier {
  client: RedisClient;
  tier: RedisTier;
  feed: PurgeFeed;
  key: string;
}

const tierKey = (c: GatewayConfig) => (c.cache.redis && c.redis ? `${c.redis.url}\n${c.redis.key_prefix}\n${c.redis.command_timeout}` : "");

export function startCacheControl(config: GatewayConfig, buffer: SharedArrayBuffer | null): CacheControl {
  let arena: HttpCache | null = buffer === null ? null : new HttpCache(new SharedStore(buffer));
  let remote: Tier | null = null;
  const pending: { kind: PurgeKind; value: string }[] = [];
  let lastError: string | null = null;
  let flushing: Promise<void> | null = null;
  const ops = metricsRegistry().counter(REDIS_OPS_METRIC, REDIS_OPS_HELP, ["op", "result"]);

  const applyLocal = (kind: PurgeKind, value: string): number => {
    if (arena === null) return 0;
    return kind === "url" ? arena.invalidate(value) : kind === "prefix" ? arena.purgePrefix(value) : arena.purgeTag(value);
  };

  /** Delete in Redis and announce; throws when Redis fails. */
  const replicate = async (t: Tier, kind: PurgeKind, value: string): Promise<number> => {
    const n = kind === "url" ? await t.tier.invalidate(value) : kind === "prefix" ? await t.tier.purgePrefix(value) : await t.tier.purgeTag(value);
    await t.tier.announce(kind, value);
    ops.inc(["purge", "ok"]);
    lastError = null;
    return n;
  };

  /** Queued purges, in order; stops at the first failure (the rest stay queued). */
  const flush = (): Promise<void> => {
    if (flushing !== null) return flushing;
    const sendAll = async () => {
      // After the first await: `flushing` is assigned by then, so clearing it in finally sticks.
      await Promise.resolve();
      try {
        while (pending.length > 0 && remote !== null && remote.client.status === "ready") {
          const p = pending[0]!;
          await replicate(remote, p.kind, p.value);
          pending.shift();
        }
      } catch (e) {
        lastError = e instanceof Error ? e.message : String(e);
      } finally {
        flushing = null;
      }
    };
    flushing = sendAll();
    return flushing;
  };

  const keep = (kind: PurgeKind, value: string) => {
    ops.inc(["purge", "queued"]);
    if (pending.length >= MAX_PENDING) pending.shift();
    pending.push({ kind, value });
  };

  const open = (c: GatewayConfig): Tier | null => {
    if (!c.cache.redis || c.redis === null || arena === null) return null;
    const client = createRedisClient(c.redis, "gateway-cache-control");
    const tier = new RedisTier(client, c.redis.key_prefix, { suspendMs: 0 });
    client.on("ready", () => void flush());
    const feed = new PurgeFeed(createRedisClient(c.redis, "gateway-cache-feed", { subscriber: true }), tier.feedKey, {
      apply: (kind, value) => {
        ops.inc(["feed", "ok"]);
        applyLocal(kind, value);
      },
      clearAll: () => {
        const n = arena?.clear() ?? 0;
        controlEvent("cache_purges_missed", "warn", { msg: "announced purges were missed while Redis was unreachable: the memory tier was emptied", entries: n });
      },
      onError: (e) => {
        lastError = e instanceof Error ? e.message : String(e);
      },
    });
    return { client, tier, feed, key: tierKey(c) };
  };

  const close = (t: Tier | null) => {
    if (t === null) return;
    void t.feed.stop();
    t.client.disconnect();
  };

  remote = open(config);

  return {
    purge(kind, value) {
      if (arena === null) return null;
      const purged = applyLocal(kind, value);
      const t = remote;
      if (t === null) return Promise.resolve({ purged, redis_purged: null, replicated: null });
      if (t.client.status !== "ready" || pending.length > 0) {
        // Behind queued ones, to keep their order.
        keep(kind, value);
        void flush();
        return Promise.resolve({ purged, redis_purged: null, replicated: false });
      }
      return replicate(t, kind, value).then(
        (n) => ({ purged, redis_purged: n, replicated: true }),
        (e) => {
          lastError = e instanceof Error ? e.message : String(e);
          keep(kind, value);
          return { purged, redis_purged: null, replicated: false };
        },
      );
    },
    redisState() {
      const t = remote;
      if (t === null) return null;
      return {
        connected: t.client.status === "ready",
        feed: t.feed.following,
        pending_purges: pending.length,
        feed_applied: t.feed.applied,
        feed_clears: t.feed.clears,
        last_error: lastError,
      };
    },
    reload(next, nextBuffer) {
      if (nextBuffer !== buffer) {
        buffer = nextBuffer;
        arena = nextBuffer === null ? null : new HttpCache(new SharedStore(nextBuffer));
      }
      // Same Redis and prefix: the feed reads on from where it is.
      if (remote !== null && remote.key === tierKey(next) && arena !== null) return;
      close(remote);
      remote = open(next);
    },
    stop() {
      close(remote);
      remote = null;
    },
  };
}
