import { HEADER_WORDS, W_EXPIRY, W_STATE0, W_STATE1, WORDS_PER_SLOT, raiseExpiry, slotHoldsKey, type LimiterTable } from "../slot-table.ts";
import { effectiveLimit, type CompiledLimit, type Decision, type LimitAlgorithm } from "./types.ts";

/**
 * Concurrency: requests in flight per key. state0 counts this instance's
 * in-flight requests (all workers); state1 holds the other instances' count
 * when Redis sync is on (written by the main thread).
 *
 * Each admission refreshes the slot's expiry to now + lease (the limit's
 * window, default 60 s). A slot nobody touched for a whole lease is stale and
 * its count is dropped: that bounds the damage of a count leaked by a worker
 * that died mid-request. Releases are idempotent at the policy (a flag per
 * request) and skip a slot that has since been given to another key.
 */

function decide(t: LimiterTable, slot: number, lim: CompiledLimit, now: number, scale: number, out: Decision): boolean {
  const i32 = t.i32;
  const base = HEADER_WORDS + slot * WORDS_PER_SLOT;
  const limit = effectiveLimit(lim.limit, scale);
  const nowSec = now / 1000;
  out.limit = limit;
  out.delayMs = 0;
  out.resetMs = 0;
  for (;;) {
    const raw = Atomics.load(i32, base + W_STATE0);
    const expiry = Atomics.load(i32, base + W_EXPIRY) >>> 0;
    const stale = nowSec >= expiry;
    const local = stale || raw < 0 ? 0 : raw;
    const remoteRaw = stale ? 0 : Atomics.load(i32, base + W_STATE1);
    const remote = remoteRaw < 0 ? 0 : remoteRaw;
    if (local + remote >= limit) {
      out.allowed = false;
      out.remaining = 0;
      out.retryAfterMs = 1000; // no schedule to predict: ask for a short back-off
      return false;
    }
    raiseExpiry(i32, base + W_EXPIRY, Math.ceil((now + lim.leaseMs) / 1000));
    if (Atomics.compareExchange(i32, base + W_STATE0, raw, local + 1) !== raw) continue;
    out.allowed = true;
    out.remaining = limit - local - remote - 1;
    out.retryAfterMs = 0;
    return true;
  }
}

/** Give back one in-flight unit, if the slot still belongs to key (a, b). */
export function releaseConcurrency(t: LimiterTable, slot: number, a: number, b: number): void {
  if (!slotHoldsKey(t, slot, a, b)) return;
  const idx = HEADER_WORDS + slot * WORDS_PER_SLOT + W_STATE0;
  for (;;) {
    const raw = Atomics.load(t.i32, idx);
    if (raw <= 0) return;
    if (Atomics.compareExchange(t.i32, idx, raw, raw - 1) === raw) return;
  }
}

/** In-flight count of this instance for a slot (the sync loop publishes it). */
export function localInFlight(t: LimiterTable, slot: number, now: number): number {
  const base = HEADER_WORDS + slot * WORDS_PER_SLOT;
  if (now / 1000 >= Atomics.load(t.i32, base + W_EXPIRY) >>> 0) return 0;
  return Math.max(0, Atomics.load(t.i32, base + W_STATE0));
}

/** Sync mode: the other instances' in-flight total for this key. */
export function foldRemoteInFlight(t: LimiterTable, slot: number, remote: number): void {
  Atomics.store(t.i32, HEADER_WORDS + slot * WORDS_PER_SLOT + W_STATE1, Math.max(0, remote | 0));
}

export const concurrency: LimitAlgorithm = {
  decide,
  undo(t, slot) {
    const idx = HEADER_WORDS + slot * WORDS_PER_SLOT + W_STATE0;
    for (;;) {
      const raw = Atomics.load(t.i32, idx);
      if (raw <= 0) return;
      if (Atomics.compareExchange(t.i32, idx, raw, raw - 1) === raw) return;
    }
  },
  parity: () => 0,
};
