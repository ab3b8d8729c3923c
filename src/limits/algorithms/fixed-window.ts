import { HEADER_WORDS, W_EXPIRY, W_STATE0, WORDS_PER_SLOT, raiseExpiry, type LimiterTable } from "../slot-table.ts";
import { effectiveLimit, type CompiledLimit, type Decision, type LimitAlgorithm } from "./types.ts";

/**
 * Fixed window counter. Windows are aligned to multiples of the window since
 * the Unix epoch, so whole-day windows ("1d", "30d") start at UTC midnight:
 * a "1d" quota resets every day at 00:00 UTC; a "30d" quota every 30 days at
 * 00:00 UTC counted from 1970-01-01 (not on calendar months).
 *
 * state0 = (window index mod 64) << 26 | count. The tag tells the current
 * window from the previous one; the slot's expiry (window end) makes any
 * older state stale, so the 6-bit tag never aliases. Counts are capped at the
 * limit, which compile.ts bounds to 2^26 - 1.
 */

export const COUNT_BITS = 26;
export const COUNT_MASK = (1 << COUNT_BITS) - 1;
export const TAG_MASK = 63;

export function packWindow(index: number, count: number): number {
  return ((index & TAG_MASK) << COUNT_BITS) | count;
}

/** Count stored in `raw` for window `index`, or 0 when raw belongs to another window. */
export function countFor(raw: number, index: number): number {
  return raw >>> COUNT_BITS === (index & TAG_MASK) ? raw & COUNT_MASK : 0;
}

function decide(t: LimiterTable, slot: number, lim: CompiledLimit, now: number, scale: number, out: Decision): boolean {
  const i32 = t.i32;
  const base = HEADER_WORDS + slot * WORDS_PER_SLOT;
  const w = lim.windowMs;
  const index = Math.floor(now / w);
  const end = (index + 1) * w;
  const limit = effectiveLimit(lim.limit, scale);
  const nowSec = now / 1000;
  out.limit = limit;
  out.delayMs = 0;
  out.resetMs = end - now;
  for (;;) {
    const raw = Atomics.load(i32, base + W_STATE0);
    const expiry = Atomics.load(i32, base + W_EXPIRY) >>> 0;
    const count = nowSec >= expiry ? 0 : countFor(raw, index);
    if (count >= limit) {
      out.allowed = false;
      out.remaining = 0;
      out.retryAfterMs = end - now;
      return false;
    }
    raiseExpiry(i32, base + W_EXPIRY, Math.ceil(end / 1000));
    if (Atomics.compareExchange(i32, base + W_STATE0, raw, packWindow(index, count + 1)) !== raw) continue;
    out.allowed = true;
    out.remaining = limit - count - 1;
    out.retryAfterMs = 0;
    return true;
  }
}

/** Take back one admission of window `index` from a (tag, count) word. */
export function undoWindowWord(i32: Int32Array, idx: number, index: number): void {
  for (;;) {
    const raw = Atomics.load(i32, idx);
    const count = countFor(raw, index);
    if (count === 0) return; // the window moved on: nothing left to give back
    if (Atomics.compareExchange(i32, idx, raw, packWindow(index, count - 1)) === raw) return;
  }
}

/**
 * Sync mode: the cluster has admitted `total` in window `index`; local counts
 * only ever rise to meet it (never fall), so folding cannot over-admit.
 */
export function foldWindowWord(t: LimiterTable, slot: number, word: number, index: number, total: number, expirySec: number, now: number): void {
  const i32 = t.i32;
  const base = HEADER_WORDS + slot * WORDS_PER_SLOT;
  const capped = Math.min(total, COUNT_MASK);
  for (;;) {
    const raw = Atomics.load(i32, base + word);
    const expiry = Atomics.load(i32, base + W_EXPIRY) >>> 0;
    const count = now / 1000 >= expiry ? 0 : countFor(raw, index);
    if (count >= capped) return;
    raiseExpiry(i32, base + W_EXPIRY, expirySec);
    if (Atomics.compareExchange(i32, base + word, raw, packWindow(index, capped)) === raw) return;
  }
}

export const fixedWindow: LimitAlgorithm = {
  decide,
  undo(t, slot, lim, now) {
    undoWindowWord(t.i32, HEADER_WORDS + slot * WORDS_PER_SLOT + W_STATE0, Math.floor(now / lim.windowMs));
  },
  parity: (lim, now) => Math.floor(now / lim.windowMs) & 1,
};
