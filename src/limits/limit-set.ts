import type { RateLimitConfig } from "./config.ts";
import { lagFactor } from "./adaptive.ts";
import { releaseConcurrency } from "./algorithms/concurrency.ts";
import { newDecision, type CompiledLimit, type Decision } from "./algorithms/types.ts";
import { hashFinish, hashStart, keyHash, seedFor } from "./hash.ts";
import { compileKey, type KeyExtractor, type LimitRequest } from "./keys.ts";
import type { LimitRegistry } from "./registry.ts";
import { findSlot, markDirty, recordDelta, type LimiterTable } from "./slot-table.ts";

/**
 * The limits that apply to one request (a route's, or a consumer's override),
 * compiled for one route: keys, hash seeds, header strings, and scratch space
 * for the decision so the local path allocates nothing.
 */
export interface LimitSet {
  readonly size: number;
  readonly limits: readonly CompiledLimit[];
  readonly keys: readonly KeyExtractor[];
  /** Per limit: the hash state after feeding the limit id (computed once). */
  readonly seedA: Int32Array;
  readonly seedB: Int32Array;
  /** Scratch for the current request: key hashes, slots, decisions. */
  readonly ka: Int32Array;
  readonly kb: Int32Array;
  readonly slots: Int32Array;
  readonly decisions: Decision[];
  /** RateLimit-Policy field value: one list member per limit. */
  readonly policyField: string;
  readonly hasConcurrency: boolean;
  readonly hasDelay: boolean;
  readonly hasAdaptive: boolean;
}

export function compileLimitSet(configs: readonly RateLimitConfig[], routeName: string, registry: LimitRegistry, table: LimiterTable): LimitSet {
  const limits = configs.map((c) => registry.resolve(c));
  const n = limits.length;
  const seedA = new Int32Array(n);
  const seedB = new Int32Array(n);
  limits.forEach((l, i) => {
    const [a, b] = seedFor(table.seedA, table.seedB, l.id);
    seedA[i] = a;
    seedB[i] = b;
  });
  return {
    size: n,
    limits,
    keys: limits.map((l) => compileKey(l.config.key, routeName)),
    seedA,
    seedB,
    ka: new Int32Array(n),
    kb: new Int32Array(n),
    slots: new Int32Array(n),
    decisions: limits.map(() => newDecision()),
    policyField: limits.map((l) => l.policyItem).join(", "),
    hasConcurrency: limits.some((l) => l.algorithm === "concurrency"),
    hasDelay: limits.some((l) => l.delay),
    hasAdaptive: limits.some((l) => l.config.adaptive !== null),
  };
}

/** Hash this request's key for every limit of the set into set.ka / set.kb. */
export function hashSetKeys(set: LimitSet, ctx: LimitRequest): void {
  for (let i = 0; i < set.size; i++) {
    hashStart(set.seedA[i]!, set.seedB[i]!);
    set.keys[i]!.feed(ctx);
    hashFinish();
    set.ka[i] = keyHash.a;
    set.kb[i] = keyHash.b;
  }
}

/** Per-limit scale: the runtime's share (Redis-down fallback) times the adaptive factor. */
function scaleFor(lim: CompiledLimit, share: number, lagMs: number): number {
  const a = lim.config.adaptive;
  return a === null ? share : share * lagFactor(lagMs, a.lag_threshold, a.min_factor);
}

/**
 * Decide every limit of the set locally (key hashes already in set.ka/kb).
 * All must pass. Limits are taken in order; when one refuses, the ones
 * already taken are rolled back, so a refused request consumes from none.
 * Within one worker this is exact (the whole call is synchronous); across
 * workers a rolled-back unit was held for a moment, which can refuse another
 * request but never admit one too many.
 *
 * Returns -1 when admitted, else the index of the refusing limit.
 * `deltas`: record admissions for the Redis sync loop.
 */
export function decideSet(table: LimiterTable, set: LimitSet, now: number, share: number, lagMs: number, deltas: boolean): number {
  const n = set.size;
  for (let i = 0; i < n; i++) {
    const lim = set.limits[i]!;
    const slot = findSlot(table, set.ka[i]!, set.kb[i]!, now, lim.index);
    set.slots[i] = slot;
    const scale = share === 1 && lim.config.adaptive === null ? 1 : scaleFor(lim, share, lagMs);
    if (!lim.impl.decide(table, slot, lim, now, scale, set.decisions[i]!)) {
      for (let j = i - 1; j >= 0; j--) {
        const taken = set.limits[j]!;
        taken.impl.undo(table, set.slots[j]!, taken, now);
      }
      return i;
    }
  }
  if (deltas) {
    for (let i = 0; i < n; i++) {
      const lim = set.limits[i]!;
      recordDelta(table, set.slots[i]!, lim.impl.parity(lim, now), lim.algorithm === "concurrency" ? 0 : 1, lim.index);
    }
  }
  return -1;
}

/**
 * A release handle for the concurrency limits of one admitted request: call
 * it any number of times, it releases once. Only built when the set has a
 * concurrency limit.
 */
export function concurrencyRelease(table: LimiterTable, set: LimitSet, deltas: boolean): () => void {
  const held: number[] = [];
  for (let i = 0; i < set.size; i++) {
    if (set.limits[i]!.algorithm === "concurrency") held.push(set.slots[i]!, set.ka[i]!, set.kb[i]!);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    for (let k = 0; k < held.length; k += 3) {
      releaseConcurrency(table, held[k]!, held[k + 1]!, held[k + 2]!);
      if (deltas) markDirty(table, held[k]!);
    }
  };
}

/** Index of the most restrictive decision: lowest remaining, then the longest reset. */
export function mostRestrictive(decisions: readonly Decision[]): number {
  let best = 0;
  for (let i = 1; i < decisions.length; i++) {
    const d = decisions[i]!;
    const b = decisions[best]!;
    if (d.remaining < b.remaining || (d.remaining === b.remaining && d.resetMs > b.resetMs)) best = i;
  }
  return best;
}
