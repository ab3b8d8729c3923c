import { BUDGET_BUCKETS, BUDGET_BUCKET_INTS } from "./layout.ts";
import type { Clock } from "./time.ts";

const B_SECOND = 0;
const B_ATTEMPTS_AT = 1;
const B_RETRIES = 2;
/** Attempts between two clock reads on the request path (one clock read costs ~50 ns). */
const TICK_EVERY = 16;

/**
 * Retry budget of one upstream, shared by all workers: retries may be at most
 * `ratio` of the recent requests, and `min_per_second` retries per second are
 * always allowed (so a quiet upstream can still retry). When every target
 * fails, retries add at most `ratio` (+ the floor) to the offered load instead
 * of multiplying it (Finagle's RetryBudget, Envoy's retry_budget).
 *
 * The request path rarely reads the clock: onStart adds one to the
 * upstream's attempt counter and only every TICK_EVERY attempts (per worker)
 * stamps the current second's bucket; failures and takeRetry() stamp it too.
 * Buckets form a ring of BUDGET_BUCKETS one-second buckets: [second, attempt
 * counter when that second was first stamped, retries taken in it].
 * "Recent requests" are the attempts since the oldest bucket still inside the
 * window: under steady traffic, the last ~10 s; after a quiet spell (fewer
 * than TICK_EVERY requests per worker), the requests since the first stamp,
 * so the budget is then mostly the floor. Never more than `ratio` of the last
 * 10 s.
 * Attempts include retries (they are counted at onStart), so originals =
 * attempts - retries. An attempt whose connect failed is taken back
 * (forgetAttempt), and the retry that follows it is not taken from the
 * budget: nothing reached the upstream, so nothing was multiplied.
 *
 * The first thread to reach a bucket in a new second resets it (CAS on its
 * second); a reader racing with that reset, or two threads taking the last
 * retry at once, is off by a retry or two, never a runaway.
 */
export class RetryBudget {
  private readonly i32: Int32Array;
  private readonly attempts: number;
  private readonly base: number;
  private readonly ratio: number;
  private readonly minPerSecond: number;
  private readonly now: Clock;
  private untilTick = TICK_EVERY;

  /** `attempts`: index of the upstream's attempt counter; `base`: index of its buckets. */
  constructor(i32: Int32Array, attempts: number, base: number, ratio: number, minPerSecond: number, now: Clock) {
    this.i32 = i32;
    this.attempts = attempts;
    this.base = base;
    this.ratio = ratio;
    this.minPerSecond = minPerSecond;
    this.now = now;
  }

  /** Count one attempt (a first try or a retry) sent to the upstream. */
  recordAttempt(): void {
    Atomics.add(this.i32, this.attempts, 1);
    // Every TICK_EVERY attempts (per worker), stamp the current second, so
    // under steady traffic the window is anchored before the first failure.
    if (--this.untilTick === 0) {
      this.untilTick = TICK_EVERY;
      this.bucket(Math.floor(this.now() / 1000) | 0);
    }
  }

  /**
   * Take back an attempt that never reached the upstream (its connect
   * failed), so it does not count as a request that funds retries.
   */
  forgetAttempt(): void {
    Atomics.sub(this.i32, this.attempts, 1);
  }

  /** A request failed at `nowMs`: open the window here if it is not open yet. */
  noteFailure(nowMs: number): void {
    this.bucket(Math.floor(nowMs / 1000) | 0);
  }

  /** Take one retry if the budget has room; false means do not retry. */
  takeRetry(): boolean {
    const i32 = this.i32;
    const sec = Math.floor(this.now() / 1000) | 0;
    const current = this.bucket(sec);
    const total = Atomics.load(i32, this.attempts);
    let oldest = -1;
    let since = total;
    let retries = 0;
    for (let k = 0; k < BUDGET_BUCKETS; k++) {
      const b = this.base + k * BUDGET_BUCKET_INTS;
      const age = (sec - Atomics.load(i32, b + B_SECOND)) | 0;
      if (age < 0 || age >= BUDGET_BUCKETS) continue;
      retries += Atomics.load(i32, b + B_RETRIES);
      if (age > oldest) {
        oldest = age;
        since = Atomics.load(i32, b + B_ATTEMPTS_AT);
      }
    }
    const originals = ((total - since) | 0) - retries;
    if (Atomics.load(i32, current + B_RETRIES) < this.minPerSecond || retries < this.ratio * originals) {
      Atomics.add(i32, current + B_RETRIES, 1);
      return true;
    }
    return false;
  }

  /** Index of the bucket for `sec`, claimed and reset first if it still holds an older second. */
  private bucket(sec: number): number {
    const i32 = this.i32;
    const b = this.base + (((sec % BUDGET_BUCKETS) + BUDGET_BUCKETS) % BUDGET_BUCKETS) * BUDGET_BUCKET_INTS;
    const held = Atomics.load(i32, b + B_SECOND);
    if (held !== sec && Atomics.compareExchange(i32, b + B_SECOND, held, sec) === held) {
      Atomics.store(i32, b + B_ATTEMPTS_AT, Atomics.load(i32, this.attempts));
      Atomics.store(i32, b + B_RETRIES, 0);
    }
    return b;
  }
}
