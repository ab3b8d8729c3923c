import type { ConsumerConfig, RouteConfig } from "../../config/types.ts";
import { addLogField, addResponseHeader, onCleanup, type RequestContext } from "../context.ts";
import type { Policy } from "../types.ts";
import { lagFactor } from "../../limits/adaptive.ts";
import type { Decision } from "../../limits/algorithms/types.ts";
import { rateLimitedResponse, rateLimitField, secondsUntil } from "../../limits/headers.ts";
import { compileLimitSet, concurrencyRelease, decideSet, hashSetKeys, mostRestrictive, type LimitSet } from "../../limits/limit-set.ts";
import type { LimiterRuntime } from "../../limits/runtime.ts";
import { metricsRegistry, type BoundCounter } from "../../metrics/registry.ts";

/** A limit set with its decision counters, bound once (gateway_rate_limit_decisions_total{route,limit,result}). */
interface CountedSet {
  readonly set: LimitSet;
  readonly allowed: readonly BoundCounter[];
  readonly rejected: readonly BoundCounter[];
}

function counted(set: LimitSet, route: string): CountedSet {
  const family = metricsRegistry().counter("gateway_rate_limit_decisions_total", "Rate-limit decisions, by route, limit id and result (allowed, rejected)", [
    "route",
    "limit",
    "result",
  ]);
  return {
    set,
    allowed: set.limits.map((l) => family.labels([route, l.config.id, "allowed"])),
    rejected: set.limits.map((l) => family.labels([route, l.config.id, "rejected"])),
  };
}

/** Counted, and said in the access log's `rate_limit` field (`allowed`, or `allowed_fallback` when Redis was unusable). */
function admitted(ctx: RequestContext, c: CountedSet, fallback: boolean): void {
  for (let i = 0; i < c.allowed.length; i++) c.allowed[i]!.inc();
  addLogField(ctx, "rate_limit", fallback ? "allowed_fallback" : "allowed");
}

function refused(ctx: RequestContext, c: CountedSet, index: number, fallback: boolean): void {
  c.rejected[index]!.inc();
  addLogField(ctx, "rate_limit", fallback ? "rejected_fallback" : "rejected");
}

/**
 * The route's rate-limit policy: runs after authentication (the consumer is
 * known), before short-circuits. A consumer with its own `rate_limits` gets
 * those instead of the route's.
 *
 * Local decisions (no Redis, or sync mode) are synchronous and allocate
 * nothing but the header strings; a promise is returned only for strict
 * Redis mode and for a leaky bucket that delays the request.
 *
 * Headers: on an admitted request they go to ctx.responseHeaders (the server
 * adds them to whatever response the client gets); a 429 carries them itself
 * and adds nothing to ctx.
 *
 * Redis unusable (strict: this worker's connection not ready or a command
 * failed; sync: the main thread's last round failed), per redis.on_error:
 *   local → decide in the local table at this instance's share of each limit
 *   allow → admit, no rate-limit headers
 *   deny  → 429
 */
export function createRateLimitPolicy(route: RouteConfig, consumers: ConsumerConfig[], runtime: LimiterRuntime): Policy | null {
  const rt = runtime;
  const routeSet = route.rate_limits.length ? counted(compileLimitSet(route.rate_limits, route.name, rt.registry, rt.table), route.name) : null;
  const consumerSets = new Map<string, CountedSet>();
  for (const c of consumers) {
    if (c.rate_limits.length) consumerSets.set(c.name, counted(compileLimitSet(c.rate_limits, route.name, rt.registry, rt.table), route.name));
  }
  if (!routeSet && consumerSets.size === 0) return null;
  const legacy = rt.legacyHeaders;
  const onError = rt.redis?.on_error ?? "local";
  const leasePrefix = crypto.randomUUID().slice(0, 8) + ":";
  let leaseSeq = 0;

  const reject = (ctx: RequestContext, c: CountedSet, index: number, d: Decision, fallback: boolean): Response => {
    const set = c.set;
    const lim = set.limits[index]!;
    refused(ctx, c, index, fallback);
    return rateLimitedResponse({
      limit: d.limit,
      windowSec: lim.windowSec,
      retryAfterMs: d.retryAfterMs,
      requestId: ctx.requestId,
      policyField: set.policyField,
      sfName: lim.sfName,
      legacy,
    });
  };

  const admitHeaders = (ctx: RequestContext, set: LimitSet, decisions: readonly Decision[]): void => {
    const i = set.size === 1 ? 0 : mostRestrictive(decisions);
    const d = decisions[i]!;
    const reset = secondsUntil(d.resetMs);
    addResponseHeader(ctx, "ratelimit-policy", set.policyField);
    addResponseHeader(ctx, "ratelimit", rateLimitField(set.limits[i]!.sfName, d.remaining, reset));
    if (legacy) {
      addResponseHeader(ctx, "x-ratelimit-limit", String(d.limit));
      addResponseHeader(ctx, "x-ratelimit-remaining", String(d.remaining));
      addResponseHeader(ctx, "x-ratelimit-reset", String(reset));
    }
  };

  const delayOf = (decisions: readonly Decision[]): number => {
    let ms = 0;
    for (const d of decisions) if (d.delayMs > ms) ms = d.delayMs;
    return ms;
  };

  const decideLocally = (ctx: RequestContext, c: CountedSet, share: number, fallback: boolean): Response | undefined | Promise<undefined> => {
    const set = c.set;
    hashSetKeys(set, ctx);
    const now = rt.now();
    const no = decideSet(rt.table, set, now, share, set.hasAdaptive ? rt.lag().lagMs : 0, rt.syncDeltas);
    if (no >= 0) return reject(ctx, c, no, set.decisions[no]!, fallback);
    admitted(ctx, c, fallback);
    admitHeaders(ctx, set, set.decisions);
    if (set.hasConcurrency) onCleanup(ctx, concurrencyRelease(rt.table, set, rt.syncDeltas));
    if (set.hasDelay) {
      const ms = delayOf(set.decisions);
      // nginx limit_req without nodelay: hold the request until its turn.
      if (ms > 0) return Bun.sleep(ms).then(() => undefined);
    }
    return undefined;
  };

  const fallback = (ctx: RequestContext, c: CountedSet): Response | undefined | Promise<undefined> => {
    if (onError === "allow") {
      admitted(ctx, c, true);
      return undefined;
    }
    if (onError === "deny") {
      const lim = c.set.limits[0]!;
      refused(ctx, c, 0, true);
      return rateLimitedResponse({
        limit: lim.limit,
        windowSec: lim.windowSec,
        retryAfterMs: 1000,
        requestId: ctx.requestId,
        policyField: c.set.policyField,
        sfName: lim.sfName,
        legacy,
      });
    }
    return decideLocally(ctx, c, rt.localShare(), true);
  };

  const decideStrict = async (ctx: RequestContext, c: CountedSet): Promise<Response | undefined> => {
    const set = c.set;
    const strict = rt.strict!;
    const texts = set.keys.map((k) => k.text(ctx));
    const lag = set.hasAdaptive ? rt.lag().lagMs : 0;
    const scales = set.limits.map((l) => (l.config.adaptive ? lagFactor(lag, l.config.adaptive.lag_threshold, l.config.adaptive.min_factor) : 1));
    const leaseId = set.hasConcurrency ? leasePrefix + ++leaseSeq : "";
    const out = await strict.decide(set.limits, texts, scales, leaseId);
    if (!out) return fallback(ctx, c);
    if (out.refused >= 0) return reject(ctx, c, out.refused, out.decisions[out.refused]!, false);
    admitted(ctx, c, false);
    admitHeaders(ctx, set, out.decisions);
    if (set.hasConcurrency) {
      let released = false;
      onCleanup(ctx, () => {
        if (released) return;
        released = true;
        set.limits.forEach((l, i) => {
          if (l.algorithm === "concurrency") strict.release(l, texts[i]!, leaseId);
        });
      });
    }
    const ms = set.hasDelay ? delayOf(out.decisions) : 0;
    if (ms > 0) await Bun.sleep(ms);
    return undefined;
  };

  return {
    name: "rate_limit",
    onRequest(ctx) {
      const consumer = ctx.identity?.consumer;
      const c = (consumer && consumerSets.size ? consumerSets.get(consumer) : undefined) ?? routeSet;
      if (!c) return undefined;
      if (rt.redis !== null) {
        if (!rt.redisUsable()) return fallback(ctx, c);
        if (rt.strict) return decideStrict(ctx, c);
      }
      return decideLocally(ctx, c, 1, false);
    },
  } satisfies Policy;
}
