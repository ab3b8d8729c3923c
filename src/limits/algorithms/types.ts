import type { RateLimitConfig } from "../config.ts";
import type { LimiterTable } from "../slot-table.ts";
import type { RateLimitAlgorithm } from "./names.ts";

/**
 * One decision. Algorithms write into a caller-owned object instead of
 * returning a new one, so the local path allocates nothing.
 */
export interface Decision {
  allowed: boolean;
  /** Effective limit (after adaptive / fallback-share scaling). */
  limit: number;
  remaining: number;
  /** ms until the limit is fully available again (window end, bucket full). */
  resetMs: number;
  /** ms until a retry can succeed (0 when allowed). */
  retryAfterMs: number;
  /** leaky_bucket with delay: ms the request must wait for its turn (0 otherwise). */
  delayMs: number;
}

export function newDecision(): Decision {
  return { allowed: false, limit: 0, remaining: 0, resetMs: 0, retryAfterMs: 0, delayMs: 0 };
}

/** A rate limit compiled at load: everything the hot path needs, precomputed. */
export interface CompiledLimit {
  readonly config: RateLimitConfig;
  readonly id: string;
  /** 1-based index in the runtime's registry; stored in the slot's meta word for the sync loop. */
  readonly index: number;
  readonly algorithm: RateLimitAlgorithm;
  readonly impl: LimitAlgorithm;
  readonly limit: number;
  readonly windowMs: number;
  /** Configured burst (token_bucket: capacity; leaky_bucket: queue length). */
  readonly burst: number;
  readonly delay: boolean;
  /** GCRA: time unit of the stored TAT, ms (0.001, 1 or 1000), chosen so the span fits 30 bits. */
  readonly unitMs: number;
  /** GCRA: emission interval in units (window / limit). */
  readonly tu: number;
  /** GCRA: bucket size in requests (token: burst; leaky: burst + 1). */
  readonly capacity: number;
  /** concurrency: a lease older than this is presumed leaked (ms). */
  readonly leaseMs: number;
  /** Whole days: the window is a calendar quota aligned to UTC midnight. */
  readonly calendar: boolean;
  /** `"<id>";q=<limit>;w=<seconds>`: this limit's RateLimit-Policy list member (precomputed). */
  readonly policyItem: string;
  /** The id as a Structured Fields String (quoted, escaped). */
  readonly sfName: string;
  /** Window in whole seconds, for the 429 body. */
  readonly windowSec: number;
}

/**
 * Every algorithm decides on one slot with a CAS retry loop. `scale` (0..1]
 * shrinks the limit (adaptive lag scaling, Redis-down local share); 1 is the
 * common case and takes no extra work.
 */
export interface LimitAlgorithm {
  /** Decide and, when allowed, commit one admission. Returns out.allowed. */
  decide(t: LimiterTable, slot: number, lim: CompiledLimit, now: number, scale: number, out: Decision): boolean;
  /** Roll back one admission committed by decide() at about `now` (another limit of the request refused). */
  undo(t: LimiterTable, slot: number, lim: CompiledLimit, now: number): void;
  /** Sync parity of the admission decide() just made: which delta word the sync loop reads (0 or 1). */
  parity(lim: CompiledLimit, now: number): number;
}

export function effectiveLimit(limit: number, scale: number): number {
  return scale === 1 ? limit : Math.max(1, Math.floor(limit * scale));
}
