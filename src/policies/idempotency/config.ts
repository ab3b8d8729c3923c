/**
 * The idempotency policy's keys (DESIGN.md config contract).
 *
 * Route: `idempotency = { required, ttl, methods, lock_timeout, wait_in_flight }`
 *   required      a request of `methods` without Idempotency-Key is 400; default false
 *   ttl           how long a final response is kept for replays; default "24h"
 *   methods       which methods take part; default ["POST", "PATCH"]
 *   lock_timeout  how long the in-flight lock holds a key whose request has
 *                 not finished (a crashed instance frees it after this);
 *                 default "1m", never shorter than the route's upstream read timeout;
 *                 a request still running renews it (a lease), so only a crash lets it lapse
 *   wait_in_flight  how long a retry arriving while the first request runs waits
 *                 for its answer (then replayed) before the 409; default "0s" (409 at once)
 *
 * Section: `[idempotency]`
 *   size               shared-memory arena for records; default "64MB"
 *   max_response_size  largest response body stored for replay; default "1MB"
 *   store              "memory" | "redis"; default "redis" when [redis] is set
 */
import { Type } from "@sinclair/typebox";
import { readDuration, readSize, type NormalizeContext } from "../../config/normalize-common.ts";
import type { KeyPath } from "../../config/problems.ts";
import { Bool, Duration, oneOf, opt, Size, table } from "../../config/schema-kit.ts";
import { isToken } from "../../config/addresses.ts";

export const IDEMPOTENCY_STORES = ["memory", "redis"] as const;

const IdempotencyTable = table({
  required: opt(Bool),
  ttl: opt(Duration),
  methods: opt(Type.Array(Type.String({ errorMessage: "expected a method name" }), { minItems: 1, errorMessage: "expected a non-empty list of methods" })),
  lock_timeout: opt(Duration),
  wait_in_flight: opt(Duration),
});

export const IDEMPOTENCY_ROUTE_KEYS = { idempotency: opt(IdempotencyTable) };
export const IDEMPOTENCY_SECTION_KEYS = {
  idempotency: opt(table({ size: opt(Size), max_response_size: opt(Size), store: opt(oneOf(IDEMPOTENCY_STORES)) })),
};

export interface IdempotencySettings {
  required: boolean;
  /** ms */
  ttl: number;
  /** Upper-case. */
  methods: string[];
  /** ms */
  lock_timeout: number;
  /** ms; 0: a retry of a key in flight is answered 409 at once. */
  wait_in_flight: number;
}

export interface IdempotencyRouteConfig {
  /** null: the route does not use Idempotency-Key. */
  idempotency: IdempotencySettings | null;
}

export interface IdempotencySection {
  /** Arena bytes. */
  size: number;
  max_response_size: number;
  store: (typeof IDEMPOTENCY_STORES)[number];
}

export const IDEMPOTENCY_DEFAULTS = { ttl: 24 * 3600_000, lock_timeout: 60_000, methods: ["POST", "PATCH"], wait_in_flight: 0 };
export const SECTION_DEFAULTS = { size: 64 * 1024 * 1024, max_response_size: 1024 * 1024 };

export function normalizeIdempotencyRoute(ctx: NormalizeContext, raw: Record<string, unknown>, at: KeyPath): IdempotencyRouteConfig {
  const t = raw.idempotency as Record<string, unknown> | undefined;
  if (t === undefined || t === null || typeof t !== "object") return { idempotency: null };
  const path: KeyPath = [...at, "idempotency"];
  const ttl = readDuration(ctx, t.ttl as string | undefined, [...path, "ttl"], IDEMPOTENCY_DEFAULTS.ttl);
  if (t.ttl !== undefined && ttl === 0) ctx.problems.add([...path, "ttl"], "must be greater than 0");
  const lock = readDuration(ctx, t.lock_timeout as string | undefined, [...path, "lock_timeout"], IDEMPOTENCY_DEFAULTS.lock_timeout);
  if (t.lock_timeout !== undefined && lock === 0) ctx.problems.add([...path, "lock_timeout"], "must be greater than 0");
  const wait = readDuration(ctx, t.wait_in_flight as string | undefined, [...path, "wait_in_flight"], IDEMPOTENCY_DEFAULTS.wait_in_flight);
  let methods = IDEMPOTENCY_DEFAULTS.methods;
  if (Array.isArray(t.methods)) {
    methods = [];
    const routeMethods = Array.isArray(raw.methods) ? raw.methods.filter((m): m is string => typeof m === "string").map((m) => m.toUpperCase()) : [];
    t.methods.forEach((m, i) => {
      if (typeof m !== "string") return;
      const where: KeyPath = [...path, "methods", i];
      const up = m.toUpperCase();
      if (!isToken(m)) ctx.problems.add(where, `invalid method name ${JSON.stringify(m)}`);
      else if (methods.includes(up)) ctx.problems.add(where, `lists ${up} twice`);
      else if (routeMethods.length > 0 && !routeMethods.includes(up)) ctx.problems.add(where, `${up} is not one of the route's methods (${routeMethods.join(", ")})`);
      methods.push(up);
    });
  }
  return { idempotency: { required: t.required === true, ttl, methods, lock_timeout: lock, wait_in_flight: wait } };
}

export function normalizeIdempotencySection(ctx: NormalizeContext, doc: Record<string, unknown>): { idempotency: IdempotencySection } {
  const t = (doc.idempotency ?? {}) as Record<string, unknown>;
  const size = readSize(ctx, t.size as string | undefined, ["idempotency", "size"], SECTION_DEFAULTS.size);
  const max = readSize(ctx, t.max_response_size as string | undefined, ["idempotency", "max_response_size"], SECTION_DEFAULTS.max_response_size);
  if (t.max_response_size !== undefined && max >= size) ctx.problems.add(["idempotency", "max_response_size"], "must be smaller than idempotency.size");
  const redisSet = doc.redis !== undefined;
  const store = (t.store as IdempotencySection["store"] | undefined) ?? (redisSet ? "redis" : "memory");
  if (store === "redis" && !redisSet) ctx.problems.add(["idempotency", "store"], '"redis" needs a [redis] section');
  return { idempotency: { size, max_response_size: max, store } };
}

