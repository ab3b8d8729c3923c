import type { UpstreamConfig } from "../config/types.ts";

/**
 * Where each upstream's and each target's fields live in the shared Int32Array.
 * Derived from the config alone, so the main thread and every worker compute
 * the same offsets from the same UpstreamConfig[] and the buffer carries no
 * pointers.
 *
 *   [header: 16 ints][upstream 0: 32 ints]...[upstream U-1][target 0: 32 ints]...[target T-1]
 *
 * Targets are numbered in config order across upstreams. 32 ints = 128 bytes
 * per target: the fields written on every request (in-flight, EWMA, counters)
 * sit in the second 64-byte cache line, apart from the rarely written health
 * and breaker fields in the first, and no two targets share a line.
 */

export const MAGIC = 0x47575550; // "GWUP"
export const VERSION = 1;

export const HEADER_INTS = 16;
export const H_MAGIC = 0;
export const H_VERSION = 1;
export const H_UPSTREAMS = 2;
export const H_TARGETS = 3;

export const UPSTREAM_INTS = 32;
/** Bumped after every change of a target's usability (health, passive, breaker state), so workers re-read states only then. */
export const U_GENERATION = 0;
/** Attempts ever sent to the upstream (wrapping; differences are taken wrap-safe). */
export const U_ATTEMPTS = 1;
/** Retry budget: BUDGET_BUCKETS buckets of [second, U_ATTEMPTS when the second began, retries]. */
export const U_BUDGET = 2;
export const BUDGET_BUCKETS = 10;
export const BUDGET_BUCKET_INTS = 3;
/** Initial second of every budget bucket: 2^31 s away from any clock, so never inside the window. */
export const NO_SECOND = -0x80000000;

export const TARGET_INTS = 32;
// Written by the control plane (active health checks).
/** 1 up, 0 down. Every target starts up (nginx does the same). */
export const T_HEALTH = 0;
export const T_HC_OK = 1;
export const T_HC_FAIL = 2;
/** Last active check: HTTP status, 0 never checked, -1 connection error, -2 timeout. */
export const T_HC_LAST = 3;
// Passive health (nginx max_fails / fail_timeout).
export const T_P_FAILS = 4;
export const T_P_WINDOW_AT = 5;
/** 1 while passively marked unavailable. */
export const T_P_DOWN = 6;
export const T_P_DOWN_UNTIL = 7;
// Circuit breaker.
/** state | permitsTaken << 2 in one word, so "take a half-open permit" is one CAS. */
export const T_BREAKER = 8;
export const T_BR_FAILS = 9;
export const T_BR_OPENED_AT = 10;
export const T_BR_HALF_AT = 11;
// Per-request fields, second cache line.
export const T_IN_FLIGHT = 16;
/** Latency EWMA in µs, fixed point; 0 = never measured. */
export const T_EWMA_US = 17;
export const T_EWMA_AT = 18;
/** 64-bit counters as low/high Int32 words (low word read as unsigned). */
export const T_REQUESTS_LO = 19;
export const T_REQUESTS_HI = 20;
export const T_FAILURES_LO = 21;
export const T_FAILURES_HI = 22;

export class StateLayout {
  readonly upstreamCount: number;
  readonly targetCount: number;
  readonly totalInts: number;
  private readonly upstreamBases: Int32Array;
  private readonly targetBases: Int32Array;

  constructor(upstreams: readonly UpstreamConfig[]) {
    this.upstreamCount = upstreams.length;
    this.upstreamBases = new Int32Array(upstreams.length);
    this.targetBases = new Int32Array(upstreams.length);
    const targetsStart = HEADER_INTS + upstreams.length * UPSTREAM_INTS;
    let slot = 0;
    for (let u = 0; u < upstreams.length; u++) {
      this.upstreamBases[u] = HEADER_INTS + u * UPSTREAM_INTS;
      this.targetBases[u] = targetsStart + slot * TARGET_INTS;
      slot += upstreams[u]!.targets.length;
    }
    this.targetCount = slot;
    this.totalInts = targetsStart + slot * TARGET_INTS;
  }

  /** Int32 index of upstream u's own fields. */
  upstreamBase(u: number): number {
    return this.upstreamBases[u]!;
  }

  /** Int32 index of target t of upstream u. */
  targetBase(u: number, t: number): number {
    return this.targetBases[u]! + t * TARGET_INTS;
  }
}

/**
 * Read a low/high counter pair. The high word is read twice so a carry that
 * lands between the reads is not mixed into a torn value; a reader that falls
 * between a writer's wrap of the low word and its carry can still see the
 * count 2^32 short for that instant (once per 4 billion requests, metrics only).
 */
export function readCounter(i32: Int32Array, lo: number): number {
  for (;;) {
    const hi = Atomics.load(i32, lo + 1);
    const low = Atomics.load(i32, lo) >>> 0;
    if (Atomics.load(i32, lo + 1) === hi) return hi * 0x100000000 + low;
  }
}

/** Add one to a low/high counter pair: carry into the high word when the low word wraps. */
export function incrementCounter(i32: Int32Array, lo: number): void {
  if (Atomics.add(i32, lo, 1) === -1) Atomics.add(i32, lo + 1, 1);
}
