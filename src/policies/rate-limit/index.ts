/**
 * Rate limits and quotas (DESIGN.md step 4): every limit of the route (or of
 * the consumer, which replaces the route's), in the shared slot table, with
 * Redis sync or strict mode across instances. The engine is src/limits.
 */
import { allocateLimiterShared, createLimiterRuntime, startLimiterSync, type LimiterRuntime } from "../../limits/index.ts";
import { controlEvent } from "../../metrics/events.ts";
import { metricsRegistry } from "../../metrics/registry.ts";
import { definePolicy } from "../types.ts";
import { normalizeRateLimitRoute, RATE_LIMIT_ROUTE_KEYS } from "./config.ts";
import { createRateLimitPolicy } from "./policy.ts";

export const rateLimit = definePolicy<LimiterRuntime>({
  name: "rate_limit",
  routeKeys: RATE_LIMIT_ROUTE_KEYS,
  normalizeRoute: normalizeRateLimitRoute,
  share(config, previous) {
    // Same capacity and the same key hashing (sync mode seeds it from key_prefix): counters carry over.
    const p = previous?.config;
    const keep =
      previous?.buffer != null &&
      p!.rate_limit.slots === config.rate_limit.slots &&
      p!.redis?.mode === config.redis?.mode &&
      p!.redis?.key_prefix === config.redis?.key_prefix;
    return keep ? previous!.buffer : allocateLimiterShared(config);
  },
  control(config, buffer) {
    // Heartbeats and the sync loop run whenever Redis is configured, strict mode included.
    let current = config;
    const redisUp = metricsRegistry().gauge("gateway_redis_up", "Redis reachable by the limiter sync loop (1 up, 0 down: on_error in force)").labels();
    // Until Redis has been up once, a failed round may only be the connection still being made: no event.
    // (A Redis down from the start is seen in gateway_redis_up, not as redis_lost.)
    let seenUp = false;
    const onStateChange = (up: boolean, first: boolean) => {
      redisUp.set(up ? 1 : 0);
      if (!seenUp || first) {
        seenUp ||= up;
        return;
      }
      if (up) controlEvent("redis_back", "info", { msg: "Redis is back; limits are shared again" });
      else controlEvent("redis_lost", "error", { msg: "Redis unreachable; limits use the fallback", fallback: current.redis?.on_error });
    };
    // Sync lag: how old the counters shared through Redis may be, i.e. the time since the last round
    // Redis confirmed (one interval plus the round while it is up; it grows while Redis is down).
    const registry = metricsRegistry();
    const lag = registry.gauge("gateway_redis_sync_lag_seconds", "Seconds since the last limiter sync round Redis confirmed, at the end of each round: 0 while rounds succeed, growing while Redis is down").labels();
    const roundTime = registry.gauge("gateway_redis_sync_round_seconds", "Duration of the last limiter sync round").labels();
    const rounds = registry.counter("gateway_redis_sync_rounds_total", "Limiter sync rounds (and heartbeats in strict mode), by result", ["result"]);
    const roundsOk = rounds.labels(["ok"]);
    const roundsFailed = rounds.labels(["failed"]);
    let lastOk = Date.now();
    const onRound = (ok: boolean, tookMs: number) => {
      const now = Date.now();
      if (ok) lastOk = now;
      (ok ? roundsOk : roundsFailed).inc();
      roundTime.set(tookMs / 1000);
      lag.set((now - lastOk) / 1000);
    };
    let sync = config.redis ? startLimiterSync(config, buffer!, { onStateChange, onRound }) : null;
    return {
      reload(next, nextBuffer) {
        void sync?.stop();
        current = next;
        sync = next.redis ? startLimiterSync(next, nextBuffer!, { onStateChange, onRound }) : null;
      },
      stop: () => void sync?.stop(),
    };
  },
  setup: (config, buffer) => createLimiterRuntime(config, buffer!),
  create: (route, runtime, config) => createRateLimitPolicy(route, config.consumers, runtime),
  ready: (runtime, timeoutMs) => runtime.whenReady(timeoutMs),
  dispose: (runtime) => void runtime.close(),
});
