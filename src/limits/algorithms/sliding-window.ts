import { FRESH, HEADER_WORDS, W_EXPIRY, W_STATE0, WORDS_PER_SLOT, raiseExpiry, type LimiterTable } from "../slot-table.ts";
import { countFor, packWindow, undoWindowWord } from "./fixed-window.ts";
import { effectiveLimit, type CompiledLimit, type Decision, type LimitAlgorithm } from "./types.ts";

/**
 * Sliding window counter (weighted): the estimate is
 *   previous window's count × (share of the previous window still inside the
 *   sliding window) + current window's count,
 * and a request is admitted while estimate + 1 ≤ limit.
 *
 * Windows are epoch-aligned like fixed_window, so whole-day windows turn over
 * at UTC midnight (the weighting then slides across the day boundary).
 *
 * Two (tag, count) words: state0 holds even windows, state1 odd ones, so a new
 * window starts in the word of the window before last and the previous one is
 * read untouched. Only the current window's word is CAS-updated.
 */

function decide(t: LimiterTable, slot: number, lim: CompiledLimit, now: number, scale: number, out: Decision): boolean {
  const i32 = t.i32;
  const base = HEADER_WORDS + slot * WORDS_PER_SLOT;
  const w = lim.windowMs;
  const index = Math.floor(now / w);
  const start = index * w;
  const curWord = base + W_STATE0 + (index & 1);
  const prevWord = base + W_STATE0 + ((index + 1) & 1);
  const limit = effectiveLimit(lim.limit, scale);
  const nowSec = now / 1000;
  const weight = 1 - (now - start) / w; // share of the previous window still counted
  out.limit = limit;
  out.delayMs = 0;
  out.resetMs = start + w - now;
  for (;;) {
    const raw = Atomics.load(i32, curWord);
    const rawPrev = Atomics.load(i32, prevWord);
    const expiry = Atomics.load(i32, base + W_EXPIRY) >>> 0;
    const stale = nowSec >= expiry;
    const cur = stale ? 0 : countFor(raw, index);
    const prev = stale ? 0 : countFor(rawPrev, index - 1);
    const estimate = prev * weight + cur;
    if (estimate + 1 > limit) {
      out.allowed = false;
      out.remaining = 0;
      out.retryAfterMs = retryAfter(prev, cur, limit, now - start, w);
      return false;
    }
    // A stale slot's other word holds another life's counts: clear it before reviving the slot.
    if (stale && rawPrev !== FRESH) Atomics.compareExchange(i32, prevWord, rawPrev, FRESH);
    raiseExpiry(i32, base + W_EXPIRY, Math.ceil((start + 2 * w) / 1000));
    if (Atomics.compareExchange(i32, curWord, raw, packWindow(index, cur + 1)) !== raw) continue;
    out.allowed = true;
    out.remaining = Math.max(0, Math.floor(limit - estimate - 1));
    out.retryAfterMs = 0;
    return true;
  }
}

/** ms until estimate + 1 ≤ limit, given the counts now, `elapsed` ms into the window. */
function retryAfter(prev: number, cur: number, limit: number, elapsed: number, w: number): number {
  if (cur + 1 <= limit) {
    // Wait for the previous window's weight to fall: prev × (1 - e/w) ≤ limit - 1 - cur.
    const e = w * (1 - (limit - 1 - cur) / prev);
    return Math.max(1, Math.ceil(e - elapsed));
  }
  // Wait for the next window, then for this window's weight to fall enough.
  const e = limit - 1 <= 0 ? w : w * Math.max(0, 1 - (limit - 1) / cur);
  return Math.max(1, Math.ceil(w - elapsed + e));
}

export const slidingWindow: LimitAlgorithm = {
  decide,
  undo(t, slot, lim, now) {
    const index = Math.floor(now / lim.windowMs);
    undoWindowWord(t.i32, HEADER_WORDS + slot * WORDS_PER_SLOT + W_STATE0 + (index & 1), index);
  },
  parity: (lim, now) => Math.floor(now / lim.windowMs) & 1,
};
