import type { GatewayConfig, RedisConfig } from "../config/types.ts";
import { startLagMonitor, type LagMonitor } from "./adaptive.ts";
import { hashKey } from "./hash.ts";
import { buildRegistry, type LimitRegistry } from "./registry.ts";
import { createRedisClient } from "../util/redis.ts";
import { StrictLimiter } from "./redis/strict.ts";
import { allocateLimiterTable, attachLimiterTable, H_LIVE_INSTANCES, H_REDIS_STATE, REDIS_DOWN, type LimiterTable } from "./slot-table.ts";

/**
 * Per-worker limiter state: the attached slot table, the compiled limits, the
 * clock, the lag monitor (started on first use) and, in strict mode, this
 * worker's Redis connection.
 */
export interface LimiterRuntime {
  readonly table: LimiterTable;
  readonly registry: LimitRegistry;
  readonly now: () => number;
  readonly legacyHeaders: boolean;
  readonly redis: RedisConfig | null;
  /** Strict mode's Redis decisions (null unless redis.mode = "strict"). */
  readonly strict: StrictLimiter | null;
  /** Sync mode: workers record deltas for the main thread's loop. */
  readonly syncDeltas: boolean;
  /** Event-loop lag monitor, started on first call. */
  lag(): LagMonitor;
  /** Is the shared (Redis) limiting usable right now? True without Redis. */
  redisUsable(): boolean;
  /** on_error = "local": this instance's share of a limit (1 / live instances; 1 if never seen). */
  localShare(): number;
  /**
   * Resolves once strict mode's Redis connection is up, or after `timeoutMs`
   * (then decisions use on_error until it connects). Lets a worker start or
   * swap in a snapshot without failing over on its very first requests.
   */
  whenReady(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Main thread: allocate the shared table for a config. In Redis sync mode the
 * hash seeds derive from key_prefix, so every instance names a key alike.
 */
export function allocateLimiterShared(config: GatewayConfig): SharedArrayBuffer {
  const sync = config.redis?.mode === "sync";
  const seed = sync ? hashKey(0x243f6a88, 0x13198a2e, "gateway-limiter:" + config.redis!.key_prefix) : undefined;
  return allocateLimiterTable(config.rate_limit.slots, { seed });
}

/** Each worker (or a test): attach the shared table; opens the worker's Redis connection in strict mode. */
export function createLimiterRuntime(config: GatewayConfig, shared: SharedArrayBuffer, now: () => number = Date.now): LimiterRuntime {
  const table = attachLimiterTable(shared);
  const registry = buildRegistry(config);
  const redisCfg = config.redis;
  const strict = redisCfg?.mode === "strict" ? new StrictLimiter(createRedisClient(redisCfg, "gateway-limiter"), redisCfg) : null;
  let monitor: LagMonitor | null = null;
  return {
    table,
    registry,
    now,
    legacyHeaders: config.rate_limit.legacy_headers,
    redis: redisCfg,
    strict,
    syncDeltas: redisCfg?.mode === "sync",
    lag: () => (monitor ??= startLagMonitor()),
    redisUsable() {
      if (strict) return strict.ready;
      if (redisCfg) return Atomics.load(table.i32, H_REDIS_STATE) !== REDIS_DOWN;
      return true;
    },
    localShare() {
      const live = Atomics.load(table.i32, H_LIVE_INSTANCES);
      return live > 1 ? 1 / live : 1;
    },
    whenReady(timeoutMs) {
      if (strict === null || strict.ready) return Promise.resolve();
      const client = strict.redis;
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          client.off("ready", done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        client.once("ready", done);
      });
    },
    async close() {
      monitor?.stop();
      if (strict) strict.redis.disconnect();
    },
  };
}
