import { T_P_DOWN, T_P_DOWN_UNTIL, T_P_FAILS, T_P_WINDOW_AT } from "./layout.ts";
import { ADMIT, USABLE } from "./usability.ts";
import { elapsed, since } from "./time.ts";

/**
 * Passive health, nginx's `max_fails` / `fail_timeout`: `max_fails` failed
 * requests within `fail_timeout` mark the target unavailable for
 * `fail_timeout`. After that, as in nginx, it is not simply trusted again:
 * one request is let through (claimed by CAS, so one across all workers);
 * its success makes the target available, its failure keeps it out for
 * another `fail_timeout`. The failure window starts at the first failure
 * and successes inside it do not clear the count (nginx clears it only on a
 * success after the window).
 */
export class PassiveHealth {
  private readonly i32: Int32Array;
  private readonly generation: number;
  private readonly maxFails: number;
  private readonly failTimeout: number;

  constructor(i32: Int32Array, generation: number, maxFails: number, failTimeout: number) {
    this.i32 = i32;
    this.generation = generation;
    this.maxFails = maxFails;
    this.failTimeout = failTimeout;
  }

  /** USABLE, ADMIT (the probe may be claimed) or ms until it may be. No side effects. */
  check(off: number, now: number): number {
    if (Atomics.load(this.i32, off + T_P_DOWN) === 0) return USABLE;
    const left = since(Atomics.load(this.i32, off + T_P_DOWN_UNTIL), now);
    // A "left" beyond fail_timeout can only be a stamp from 2^31 ms ago.
    return left > 0 && left <= this.failTimeout ? left : ADMIT;
  }

  /** Claim the one probe of a target whose fail_timeout passed; false when it is still down or another thread claimed it. */
  claimProbe(off: number, now: number): boolean {
    const i32 = this.i32;
    if (Atomics.load(i32, off + T_P_DOWN) === 0) return true;
    const until = Atomics.load(i32, off + T_P_DOWN_UNTIL);
    const left = since(until, now);
    if (left > 0 && left <= this.failTimeout) return false;
    if (Atomics.compareExchange(i32, off + T_P_DOWN_UNTIL, until, (now + this.failTimeout) | 0) !== until) return false;
    // Others drop it from their cached candidates until the probe reports.
    Atomics.add(i32, this.generation, 1);
    return true;
  }

  onFailure(off: number, now: number): void {
    const i32 = this.i32;
    if (Atomics.load(i32, off + T_P_DOWN) === 1) {
      // The probe (or a request from before) failed: out for another fail_timeout.
      Atomics.store(i32, off + T_P_DOWN_UNTIL, (now + this.failTimeout) | 0);
      Atomics.add(i32, this.generation, 1);
      return;
    }
    let fails: number;
    const windowAt = Atomics.load(i32, off + T_P_WINDOW_AT);
    if (Atomics.load(i32, off + T_P_FAILS) === 0 || elapsed(now, windowAt, this.failTimeout + 1)) {
      // First failure of a new window. Two threads racing here may both reset;
      // losing one count at a window edge is harmless.
      Atomics.store(i32, off + T_P_WINDOW_AT, now);
      Atomics.store(i32, off + T_P_FAILS, 1);
      fails = 1;
    } else {
      fails = Atomics.add(i32, off + T_P_FAILS, 1) + 1;
    }
    if (fails < this.maxFails) return;
    Atomics.store(i32, off + T_P_DOWN_UNTIL, (now + this.failTimeout) | 0);
    if (Atomics.compareExchange(i32, off + T_P_DOWN, 0, 1) === 0) {
      Atomics.store(i32, off + T_P_FAILS, 0);
      Atomics.add(i32, this.generation, 1);
    }
  }

  onSuccess(off: number): void {
    const i32 = this.i32;
    if (Atomics.load(i32, off + T_P_DOWN) === 0) return;
    if (Atomics.compareExchange(i32, off + T_P_DOWN, 1, 0) === 1) {
      Atomics.store(i32, off + T_P_FAILS, 0);
      Atomics.add(i32, this.generation, 1);
    }
  }

  /** ms until a passively failed target may be probed; -1 when it is not down. */
  msUntilProbe(off: number, now: number): number {
    const c = this.check(off, now);
    return c === USABLE ? -1 : c === ADMIT ? 0 : c;
  }
}

/** Whether target `off` is inside its passive fail_timeout (for snapshots). */
export function passivelyDown(i32: Int32Array, off: number, now: number): boolean {
  if (Atomics.load(i32, off + T_P_DOWN) === 0) return false;
  return since(Atomics.load(i32, off + T_P_DOWN_UNTIL), now) > 0;
}
