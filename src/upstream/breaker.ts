import { T_BREAKER, T_BR_FAILS, T_BR_HALF_AT, T_BR_OPENED_AT } from "./layout.ts";
import { ADMIT, USABLE } from "./usability.ts";
import { elapsed, since } from "./time.ts";

/**
 * Circuit breaker per target, its state in the shared buffer so every worker
 * obeys the same breaker:
 *
 *   closed --`failures` consecutive failures--> open
 *   open --open_for passed, next pick--> half-open (that pick takes permit 1)
 *   half-open --a probe succeeds--> closed
 *   half-open --a probe fails--> open (open_for starts again)
 *
 * State and half-open permits taken share one Int32 (state | permits << 2),
 * so "move to half-open and take the first permit" and "take one more permit
 * if any is left" are single compare-and-swaps: across all workers exactly
 * `half_open_requests` probes are admitted.
 *
 * A permit is taken by pick(); if its request never reports back (the caller
 * dropped it), the permits would be gone for good. So when every permit is out
 * and none has reported within `probeTimeout` ms, they are handed out afresh.
 */

export const CLOSED = 0;
export const OPEN = 1;
export const HALF_OPEN = 2;
const STATE_MASK = 3;
const PERMIT = 4;

export type BreakerStateName = "closed" | "open" | "half_open";
const NAMES: readonly BreakerStateName[] = ["closed", "open", "half_open"];

export interface BreakerSettings {
  /** Consecutive failures that open the breaker (≥ 1). */
  failures: number;
  /** ms the breaker stays open before admitting probes. */
  openFor: number;
  /** Probes admitted while half-open (≥ 1). */
  halfOpenRequests: number;
  /** ms after which permits that never reported back are considered lost. */
  probeTimeout: number;
}

export class CircuitBreaker {
  private readonly i32: Int32Array;
  private readonly generation: number;
  private readonly failures: number;
  private readonly openFor: number;
  private readonly permits: number;
  private readonly probeTimeout: number;

  /** `generation`: index of the upstream's generation word, bumped on every state change. */
  constructor(i32: Int32Array, generation: number, settings: BreakerSettings) {
    this.i32 = i32;
    this.generation = generation;
    this.failures = settings.failures;
    this.openFor = settings.openFor;
    this.permits = settings.halfOpenRequests;
    this.probeTimeout = settings.probeTimeout;
  }

  /** USABLE when closed, ADMIT when a pick may take a permit, else ms to wait. No side effects. */
  check(off: number, now: number): number {
    const w = Atomics.load(this.i32, off + T_BREAKER);
    const state = w & STATE_MASK;
    if (state === CLOSED) return USABLE;
    if (state === OPEN) {
      const openedAt = Atomics.load(this.i32, off + T_BR_OPENED_AT);
      if (elapsed(now, openedAt, this.openFor)) return ADMIT;
      return Math.max(1, this.openFor - since(now, openedAt));
    }
    if (w >>> 2 < this.permits) return ADMIT;
    const halfAt = Atomics.load(this.i32, off + T_BR_HALF_AT);
    if (elapsed(now, halfAt, this.probeTimeout)) return ADMIT;
    return Math.max(1, this.probeTimeout - since(now, halfAt));
  }

  /** Let one request through: always when closed; when half-open (or due to be), only by taking a permit. */
  admit(off: number, now: number): boolean {
    const i32 = this.i32;
    const at = off + T_BREAKER;
    for (;;) {
      const w = Atomics.load(i32, at);
      const state = w & STATE_MASK;
      if (state === CLOSED) return true;
      if (state === OPEN) {
        if (!elapsed(now, Atomics.load(i32, off + T_BR_OPENED_AT), this.openFor)) return false;
        // Stamp first: whoever wins the CAS below moved to half-open at ~now.
        Atomics.store(i32, off + T_BR_HALF_AT, now);
        if (Atomics.compareExchange(i32, at, w, HALF_OPEN | PERMIT) === w) {
          Atomics.add(i32, this.generation, 1);
          return true;
        }
        continue;
      }
      if (w >>> 2 < this.permits) {
        if (Atomics.compareExchange(i32, at, w, w + PERMIT) === w) return true;
        continue;
      }
      if (!elapsed(now, Atomics.load(i32, off + T_BR_HALF_AT), this.probeTimeout)) return false;
      // Every permit out and none reported back in time: presume them lost.
      Atomics.store(i32, off + T_BR_HALF_AT, now);
      if (Atomics.compareExchange(i32, at, w, HALF_OPEN | PERMIT) === w) return true;
    }
  }

  /** Give back a permit taken by admit() for a request that will not be sent; returns whether one was given back. */
  release(off: number): boolean {
    const at = off + T_BREAKER;
    for (;;) {
      const w = Atomics.load(this.i32, at);
      if ((w & STATE_MASK) !== HALF_OPEN || w >>> 2 === 0) return false;
      if (Atomics.compareExchange(this.i32, at, w, w - PERMIT) === w) return true;
    }
  }

  /**
   * A request ended without a verdict (its client went away). If it held a
   * half-open permit, the permit goes to the next request, and every worker
   * re-reads the state (they dropped the target when the permits ran out).
   */
  onAbandon(off: number): void {
    if (this.release(off)) Atomics.add(this.i32, this.generation, 1);
  }

  onSuccess(off: number): void {
    const i32 = this.i32;
    const at = off + T_BREAKER;
    for (;;) {
      const w = Atomics.load(i32, at);
      const state = w & STATE_MASK;
      if (state === CLOSED) {
        // Consecutive failures only: any success starts the count again.
        if (Atomics.load(i32, off + T_BR_FAILS) !== 0) Atomics.store(i32, off + T_BR_FAILS, 0);
        return;
      }
      // A success that started before the breaker opened says nothing about now.
      if (state === OPEN) return;
      if (Atomics.compareExchange(i32, at, w, CLOSED) === w) {
        Atomics.store(i32, off + T_BR_FAILS, 0);
        Atomics.add(i32, this.generation, 1);
        return;
      }
    }
  }

  onFailure(off: number, now: number): void {
    const i32 = this.i32;
    const at = off + T_BREAKER;
    for (;;) {
      const w = Atomics.load(i32, at);
      const state = w & STATE_MASK;
      if (state === OPEN) return;
      if (state === CLOSED) {
        if (Atomics.add(i32, off + T_BR_FAILS, 1) + 1 < this.failures) return;
        Atomics.store(i32, off + T_BR_OPENED_AT, now);
        // Closed is the word 0 (no permits); losing the CAS means another thread opened it.
        if (Atomics.compareExchange(i32, at, CLOSED, OPEN) === CLOSED) {
          Atomics.store(i32, off + T_BR_FAILS, 0);
          Atomics.add(i32, this.generation, 1);
        }
        return;
      }
      // Half-open: the probe failed, open again for a full open_for.
      Atomics.store(i32, off + T_BR_OPENED_AT, now);
      if (Atomics.compareExchange(i32, at, w, OPEN) === w) {
        Atomics.add(i32, this.generation, 1);
        return;
      }
    }
  }

  /** ms until an open breaker admits probes; -1 when it is not open. */
  msUntilHalfOpen(off: number, now: number): number {
    const w = Atomics.load(this.i32, off + T_BREAKER);
    if ((w & STATE_MASK) !== OPEN) return -1;
    const openedAt = Atomics.load(this.i32, off + T_BR_OPENED_AT);
    if (elapsed(now, openedAt, this.openFor)) return 0;
    return this.openFor - since(now, openedAt);
  }
}

/** State name of target `off` (for snapshots); works without a configured breaker (always closed). */
export function breakerStateName(i32: Int32Array, off: number): BreakerStateName {
  return NAMES[Atomics.load(i32, off + T_BREAKER) & STATE_MASK] ?? "closed";
}
