import { T_EWMA_AT, T_EWMA_US } from "./layout.ts";
import { since, STALE } from "./time.ts";

/**
 * Latency EWMA per target, in µs as an Int32 so it can be updated with a
 * compare-and-swap loop from any worker (Atomics has no Float64 CAS).
 * Each response moves it EWMA_ALPHA of the way to the new sample. For
 * least_time it also decays with age, halving every EWMA_HALF_LIFE_MS without
 * a sample: a target that was slow once is tried again later instead of
 * starving, and a new sample starts from the decayed value.
 */

export const EWMA_ALPHA = 0.2;
export const EWMA_HALF_LIFE_MS = 10_000;
const DECAY_PER_MS = Math.LN2 / EWMA_HALF_LIFE_MS;
const MAX_US = 0x7fffffff;

/** Factor an EWMA keeps after `ageMs` without a sample. */
export function decay(ageMs: number): number {
  if (ageMs <= 0) return ageMs < STALE ? 0 : 1;
  return Math.exp(-ageMs * DECAY_PER_MS);
}

/** Fold a sample of `ms` into target `off`'s EWMA; with `decayed`, age it first and stamp it with `now`. */
export function recordLatency(i32: Int32Array, off: number, ms: number, decayed: boolean, now: number): void {
  let sample = Math.round(ms * 1000);
  if (!(sample >= 1)) sample = 1;
  else if (sample > MAX_US) sample = MAX_US;
  for (;;) {
    const old = Atomics.load(i32, off + T_EWMA_US);
    let next = sample;
    if (old !== 0) {
      const prior = decayed ? old * decay(since(now, Atomics.load(i32, off + T_EWMA_AT))) : old;
      next = Math.round(prior + (sample - prior) * EWMA_ALPHA) || 1;
    }
    if (Atomics.compareExchange(i32, off + T_EWMA_US, old, next) === old) break;
  }
  if (decayed) Atomics.store(i32, off + T_EWMA_AT, now);
}
