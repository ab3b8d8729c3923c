/**
 * Time for the shared upstream state. Every timestamp kept in the
 * SharedArrayBuffer is an Int32 "stamp": milliseconds of the injected clock
 * wrapped to 32 bits (`ms | 0`). Atomics only work on integer arrays, and an
 * Int32 stamp can be compare-and-swapped, which a Float64 cannot.
 *
 * Differences are taken wrap-safe, `(a - b) | 0`, and are exact while the
 * true span is below 2^31 ms (24.8 days): far beyond any open_for or
 * fail_timeout. A difference below STALE (-2^30 ms) cannot come from clock skew
 * between threads (sub-millisecond), so it means "longer ago than 2^31 ms".
 */

export type Clock = () => number;

/**
 * Default clock: wall-clock epoch ms with a monotonic tick. Every thread adds
 * its own performance.now() to its own timeOrigin, so all workers and the main
 * thread agree to well under a millisecond, and the clock never steps back
 * when NTP adjusts the wall clock.
 */
export const monotonicNow: Clock = () => performance.timeOrigin + performance.now();

/** Clock reading as a 32-bit stamp. */
export function toStamp(ms: number): number {
  return ms | 0;
}

/** `later - earlier` in ms, wrap-safe. */
export function since(later: number, earlier: number): number {
  return (later - earlier) | 0;
}

/** A span this negative only arises from a stamp more than 2^31 ms old. */
export const STALE = -0x40000000;

/** At least `span` ms passed between stamp `then` and stamp `now`. */
export function elapsed(now: number, then: number, span: number): boolean {
  const d = (now - then) | 0;
  return d >= span || d < STALE;
}
