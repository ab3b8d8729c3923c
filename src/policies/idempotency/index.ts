/**
 * Idempotency-Key (DESIGN.md step 5, short-circuits; step 8, store): the
 * recipe entry. Records live in one shared-memory arena for every worker
 * (`[idempotency] size`), allocated on the main thread and kept across
 * reloads while its size holds, so a reload keeps every record and lock;
 * with `[redis]` (store = "redis", the default then) they live in Redis,
 * with the arena as fallback and local mirror (src/idempotency/tiers.ts).
 * The engine is src/idempotency; the policy is policy.ts.
 */
import { controlEvent } from "../../metrics/events.ts";
import { metricsRegistry } from "../../metrics/registry.ts";
import { MemoryRecordStore, RecordTiers, RedisRecordStore } from "../../idempotency/index.ts";
import { SharedStore } from "../../store/index.ts";
import { createRedisClient, type RedisClient } from "../../util/redis.ts";
import type { Problems } from "../../config/problems.ts";
import type { GatewayConfig } from "../../config/types.ts";
import { definePolicy } from "../types.ts";
import {
  IDEMPOTENCY_ROUTE_KEYS,
  IDEMPOTENCY_SECTION_KEYS,
  normalizeIdempotencyRoute,
  normalizeIdempotencySection,
  SECTION_DEFAULTS,
  type IdempotencySection,
} from "./config.ts";
import { createIdempotencyPolicy } from "./policy.ts";
import type { IdempotencyRuntime } from "./runtime.ts";

/** Room for a record's head (status, headers) beside its body. */
const HEAD_ROOM = 64 * 1024;

const used = (config: GatewayConfig) => config.routes.some((r) => r.idempotency !== null);
const section = (config: GatewayConfig): IdempotencySection => config.idempotency ?? { ...SECTION_DEFAULTS, store: config.redis ? "redis" : "memory" };

export const idempotency = definePolicy<IdempotencyRuntime | null>({
  name: "idempotency",
  sectionKeys: IDEMPOTENCY_SECTION_KEYS,
  normalizeSections: (ctx, doc) => normalizeIdempotencySection(ctx, doc),
  routeKeys: IDEMPOTENCY_ROUTE_KEYS,
  normalizeRoute: normalizeIdempotencyRoute,
  verify: verifyIdempotency,
  share(config, previous) {
    if (!used(config)) return null;
    const s = section(config);
    // Same arena layout: records and locks carry over the reload.
    if (previous?.buffer && previous.config.idempotency && sameArena(section(previous.config), s)) return previous.buffer;
    return SharedStore.allocate(s.size, { maxObjectBytes: s.max_response_size + HEAD_ROOM });
  },
  setup(config, buffer) {
    if (buffer === null) return null;
    const s = section(config);
    const local = new MemoryRecordStore(new SharedStore(buffer));
    let client: RedisClient | null = null;
    let redis: RedisRecordStore | null = null;
    if (s.store === "redis" && config.redis !== null) {
      client = createRedisClient(config.redis, "gateway-idempotency");
      redis = new RedisRecordStore(client, config.redis.key_prefix);
    }
    const fallbacks = metricsRegistry().counter(
      "gateway_idempotency_store_fallback_total",
      "Idempotency store operations Redis could not serve (begin: answered from the arena, or 503 with on_error = deny)",
      ["op"],
    );
    const onError = config.redis?.on_error ?? "local";
    let down = false;
    const tiers = new RecordTiers(local, redis, onError, (op, error) => {
      fallbacks.inc([op]);
      if (down) return;
      // One line per outage and worker: the log says when the fallback started, the metric how often it served.
      down = true;
      controlEvent("idempotency_store_fallback", "error", {
        msg: onError === "deny" ? "Redis unreachable: idempotent requests refused with 503" : "Redis unreachable: idempotency records kept in this instance's memory",
        on_error: onError,
        error: error instanceof Error ? error.message : String(error),
      });
      client?.once("ready", () => {
        down = false;
        controlEvent("idempotency_store_back", "info", { msg: "Redis is back: idempotency records are shared again" });
      });
    });
    return {
      tiers,
      maxResponse: s.max_response_size,
      apiKeyHeader: config.auth.api_key_header,
      requestIdHeader: config.server.request_id_header,
      close: () => void client?.quit().catch(() => client?.disconnect()),
      whenReady: (ms) => (client === null ? Promise.resolve() : connected(client, ms)),
    };
  },
  create: (route, rt) => (rt === null ? null : createIdempotencyPolicy(route, rt)),
  ready: (rt, timeoutMs) => rt?.whenReady(timeoutMs) ?? Promise.resolve(),
  dispose: (rt) => rt?.close(),
});

function sameArena(a: IdempotencySection, b: IdempotencySection): boolean {
  return a.size === b.size && a.max_response_size === b.max_response_size;
}

/** Resolves once `client` is connected, or after `ms` (the store then falls back per on_error until it is). */
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

/**
 * A lock shorter than the time the first request may still be running would
 * let a retry run it a second time: lock_timeout must cover the route's read
 * timeout (the route's `timeout`, else its upstream's).
 */
export function verifyIdempotency(config: GatewayConfig, problems: Problems): void {
  config.routes.forEach((route, i) => {
    const s = route.idempotency;
    if (s === null) return;
    const read = route.timeout > 0 ? route.timeout : (config.upstreams.find((u) => u.name === route.upstream)?.timeouts.read ?? 0);
    if (s.lock_timeout < read) {
      problems.add(
        ["routes", i, "idempotency", "lock_timeout"],
        `${s.lock_timeout}ms is shorter than the route's upstream read timeout (${read}ms): a retry could run while the first request is still in flight`,
      );
    }
  });
}
