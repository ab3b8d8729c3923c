import { FRESH, HEADER_WORDS, W_EXPIRY, W_STATE0, WORDS_PER_SLOT, raiseExpiry, type LimiterTable } from "../slot-table.ts";
import { effectiveLimit, type CompiledLimit, type Decision, type LimitAlgorithm } from "./types.ts";

/**
 * GCRA (generic cell rate algorithm): one theoretical arrival time (TAT) per
 * key. Each admission pushes TAT by the emission interval T = window / limit;
 * a request is admitted while TAT - now stays within the bucket (capacity × T).
 * It is the token bucket and the leaky-bucket meter in one word:
 *
 * - token_bucket: capacity = burst (default limit), refilled at limit per window.
 * - leaky_bucket: nginx limit_req. nginx keeps `excess` (requests beyond the
 *   one being served) and refuses when excess > burst; excess = (TAT - now)/T - 1
 *   after the update, so capacity = burst + 1. Without `nodelay` (delay = true)
 *   an admitted request waits excess × T, exactly nginx's `excess / rate`.
 *
 * The TAT is stored in state0 as an int32 in `unitMs` units, modulo 2^32, and
 * read relative to now (signed difference). compile.ts picks the unit so the
 * largest meaningful difference fits 30 bits; the slot's expiry (TAT + 1 s)
 * marks older TATs as stale, so a wrapped value is never interpreted.
 */

function capacityUnits(lim: CompiledLimit, scale: number): { tu: number; cap: number } {
  // Scaled: fewer requests per window (longer T) and a proportionally smaller bucket.
  const limitEff = effectiveLimit(lim.limit, scale);
  const tu = Math.max(1, Math.round(lim.windowMs / limitEff / lim.unitMs));
  const capReq = lim.algorithm === "leaky_bucket" ? effectiveLimit(lim.burst, scale) + 1 : effectiveLimit(lim.capacity, scale);
  return { tu, cap: capReq * tu };
}

function decide(t: LimiterTable, slot: number, lim: CompiledLimit, now: number, scale: number, out: Decision): boolean {
  const i32 = t.i32;
  const base = HEADER_WORDS + slot * WORDS_PER_SLOT;
  const unit = lim.unitMs;
  let tu = lim.tu;
  let cap = lim.capacity * tu;
  if (scale !== 1) {
    const c = capacityUnits(lim, scale);
    tu = c.tu;
    cap = c.cap;
  }
  const nowU = Math.floor(now / unit);
  const nowI = nowU | 0;
  const nowSec = now / 1000;
  for (;;) {
    const raw = Atomics.load(i32, base + W_STATE0);
    const expiry = Atomics.load(i32, base + W_EXPIRY) >>> 0;
    let diff = nowSec >= expiry || raw === FRESH ? 0 : (raw - nowI) | 0; // TAT - now, in units
    if (diff < 0) diff = 0;
    const next = diff + tu;
    out.limit = effectiveLimit(lim.limit, scale);
    if (next > cap) {
      out.allowed = false;
      out.remaining = 0;
      out.retryAfterMs = (next - cap) * unit;
      out.resetMs = diff * unit;
      out.delayMs = 0;
      return false;
    }
    // Expiry first: a worker that sees our TAT must also see an expiry that keeps it valid.
    raiseExpiry(i32, base + W_EXPIRY, Math.ceil((now + next * unit) / 1000) + 1);
    if (Atomics.compareExchange(i32, base + W_STATE0, raw, (nowU + next) | 0) !== raw) continue;
    out.allowed = true;
    out.remaining = Math.floor((cap - next) / tu);
    out.resetMs = next * unit;
    out.retryAfterMs = 0;
    out.delayMs = lim.delay ? (next - tu) * unit : 0;
    return true;
  }
}

function undo(t: LimiterTable, slot: number, lim: CompiledLimit): void {
  const i32 = t.i32;
  const idx = HEADER_WORDS + slot * WORDS_PER_SLOT + W_STATE0;
  // Hand back one emission interval. A TAT pushed below now just reads as "now".
  for (;;) {
    const raw = Atomics.load(i32, idx);
    if (Atomics.compareExchange(i32, idx, raw, (raw - lim.tu) | 0) === raw) return;
  }
}

/**
 * Sync mode: other instances admitted `n` requests for this key since the
 * last round; push the TAT as if they had been admitted here just now
 * (conservative: their refill time is not credited).
 */
export function foldGcra(t: LimiterTable, slot: number, lim: CompiledLimit, n: number, now: number): void {
  if (n <= 0) return;
  const i32 = t.i32;
  const base = HEADER_WORDS + slot * WORDS_PER_SLOT;
  const nowU = Math.floor(now / lim.unitMs);
  const nowI = nowU | 0;
  const nowSec = now / 1000;
  // Never push further than one bucket beyond now: the excess is refused anyway.
  const maxDiff = lim.capacity * lim.tu + lim.tu;
  for (;;) {
    const raw = Atomics.load(i32, base + W_STATE0);
    const expiry = Atomics.load(i32, base + W_EXPIRY) >>> 0;
    let diff = nowSec >= expiry || raw === FRESH ? 0 : (raw - nowI) | 0;
    if (diff < 0) diff = 0;
    const next = Math.min(maxDiff, diff + n * lim.tu);
    if (next <= diff) return;
    raiseExpiry(i32, base + W_EXPIRY, Math.ceil((now + next * lim.unitMs) / 1000) + 1);
    if (Atomics.compareExchange(i32, base + W_STATE0, raw, (nowU + next) | 0) === raw) return;
  }
}

export const gcra: LimitAlgorithm = {
  decide,
  undo,
  parity: () => 0,
};
