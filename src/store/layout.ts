/**
 * Byte layout of a SharedStore arena. One SharedArrayBuffer holds everything,
 * so every worker maps the same copy and nothing is per-thread:
 *
 *   [ header: 64 Int32 + 16 Float64 ][ hit/miss stripes ][ buckets: Int32 × B ]
 *   [ slots: 64 bytes each, one cache line: 8 Int32 then 4 Float64 ]
 *   [ ring: the records (key, meta, body), 8-byte aligned ]
 *
 * A slot's Int32 fields (hash, record, chain, state, reference bit) and its
 * Float64 fields (expiry, stored, version) share one 64-byte line, so a
 * lookup costs three cache lines that are not already hot: the bucket, the
 * slot and the record. (Layout 1 kept them in three arrays: at 1M entries
 * each was a cache and TLB miss of its own, ~1.9 µs per lookup.)
 *
 * The total is exactly the byte size asked for: `[cache] size` bounds the
 * memory of the whole store, index included.
 */

/** Header Int32 words. */
export const H = {
  MAGIC: 0,
  LAYOUT: 1,
  LOCK: 2, // futex word: 0 free, 1 held, 2 held with waiters
  SEQ: 3, // seqlock: odd while a writer changes the index
  HEAD: 4, // next record goes here (ring offset)
  TAIL: 5, // oldest record (ring offset)
  USED: 6, // ring bytes between tail and head (live + dead + wrap padding)
  FREE_SLOT: 7, // head of the free-slot list, -1 when empty
  ENTRIES: 8,
  LIVE_BYTES: 9, // bytes of live records
  BUCKETS: 10, // power of two
  SLOTS: 11, // maxEntries + 1 (one spare: a writer builds the new entry beside the old)
  MAX_OBJECT: 12,
  RING_OFF: 13,
  RING_SIZE: 14,
  BUCKETS_OFF: 15,
  SLOTS_OFF: 16, // 64-byte aligned
  // 17, 18: unused since layout 2 (separate Float64 slot and ref-bit arrays)
  HASH_MASK: 19, // testing: masks both hash words, to force collisions
  INSTANCES: 20, // attach counter, picks a counter stripe
  WRITES_OFF: 21,
} as const;
export const HEADER_I32 = 64;

/** Header Float64 words (after the Int32 words). */
export const F = { VERSION: 0, EVICTIONS: 1, EXPIRED: 2 } as const;
export const HEADER_F64 = 16;
export const HEADER_BYTES = HEADER_I32 * 4 + HEADER_F64 * 8;

/** Hit/miss counters: one 64-byte line per stripe, so workers don't share a cache line. */
export const STRIPES = 16;
export const STRIPE_I32 = 16;
export const STRIPE_BYTES = STRIPES * STRIPE_I32 * 4;

/** Bytes per slot: one cache line. */
export const SLOT_BYTES = 64;
/** Slot Int32 fields (index s * SLOT_I32 + field of an Int32Array over the slots). REF: the CLOCK reference bit. */
export const SI = { HASH_LO: 0, HASH_HI: 1, REC: 2, NEXT: 3, STATE: 4, REF: 5 } as const;
export const SLOT_I32 = SLOT_BYTES / 4;
/** Slot Float64 fields (index s * SLOT_F64 + field of a Float64Array over the slots): bytes 32-63 of the slot. */
export const SF = { EXPIRES: 4, STORED: 5, VERSION: 6 } as const;
export const SLOT_F64 = SLOT_BYTES / 8;
export const SLOT_FREE = 0;
export const SLOT_USED = 1;

/** Record header in the ring: Int32 words, then key, meta, body bytes. */
export const R = { LEN: 0, SLOT: 1, KEY: 2, META: 3, BODY: 4 } as const;
export const REC_HEADER = 24;
/** Record SLOT values that are not a slot index. */
export const REC_DEAD = -1;
export const REC_WRAP = -2;

export const MAGIC = 0x53544f52; // "STOR"
export const LAYOUT_VERSION = 2;
/** Offsets are Int32: the arena stays under 2 GiB. */
export const MAX_ARENA = 0x7fff_fff8;

export const align8 = (n: number) => (n + 7) & ~7;
const align64 = (n: number) => (n + 63) & ~63;

export interface AllocateOptions {
  /** Most entries at once (index size); default one per KiB of arena, at least 16. */
  maxEntries?: number;
  /** Largest meta + body accepted; default min(8 MiB, ring / 4). */
  maxObjectBytes?: number;
  /** Testing: hash buckets (a power of two; 1 puts every key in one chain). */
  buckets?: number;
  /** Testing: keep only this many bits of each hash word, so distinct keys share a full hash. */
  hashBits?: number;
}

const pow2AtLeast = (n: number) => {
  let p = 1;
  while (p < n) p *= 2;
  return p;
};

/** Lays out and initialises a new arena of exactly `bytes` bytes. */
export function allocateArena(bytes: number, opts: AllocateOptions = {}): SharedArrayBuffer {
  if (!Number.isInteger(bytes) || bytes < 4096 || bytes > MAX_ARENA) {
    throw new RangeError(`SharedStore: size must be an integer from 4096 to ${MAX_ARENA} bytes, got ${bytes}`);
  }
  const total = bytes & ~7;
  const maxEntries = opts.maxEntries ?? Math.max(16, Math.floor(total / 1024));
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`SharedStore: maxEntries must be a positive integer`);
  const slots = maxEntries + 1;
  const buckets = opts.buckets ?? pow2AtLeast(maxEntries);
  if (!Number.isInteger(buckets) || buckets < 1 || (buckets & (buckets - 1)) !== 0) {
    throw new RangeError(`SharedStore: buckets must be a power of two`);
  }
  const bucketsOff = HEADER_BYTES + STRIPE_BYTES;
  const slotsOff = align64(bucketsOff + buckets * 4);
  const ringOff = slotsOff + slots * SLOT_BYTES;
  const ringSize = total - ringOff;
  if (ringSize < 1024) throw new RangeError(`SharedStore: ${bytes} bytes leave no room for records after an index of ${maxEntries} entries`);
  const maxObject = opts.maxObjectBytes ?? Math.min(8 * 1024 * 1024, Math.floor(ringSize / 4));
  if (!Number.isInteger(maxObject) || maxObject < 1) throw new RangeError(`SharedStore: maxObjectBytes must be a positive integer`);

  const sab = new SharedArrayBuffer(total);
  const h = new Int32Array(sab, 0, HEADER_I32);
  h[H.LAYOUT] = LAYOUT_VERSION;
  h[H.BUCKETS] = buckets;
  h[H.SLOTS] = slots;
  h[H.MAX_OBJECT] = maxObject;
  h[H.RING_OFF] = ringOff;
  h[H.RING_SIZE] = ringSize;
  h[H.BUCKETS_OFF] = bucketsOff;
  h[H.SLOTS_OFF] = slotsOff;
  const bits = opts.hashBits ?? 32;
  h[H.HASH_MASK] = bits >= 32 ? -1 : (1 << Math.max(0, bits)) - 1;
  new Int32Array(sab, bucketsOff, buckets).fill(-1);
  const si = new Int32Array(sab, slotsOff, slots * SLOT_I32);
  for (let s = 0; s < slots; s++) si[s * SLOT_I32 + SI.NEXT] = s + 1 < slots ? s + 1 : -1;
  h[H.FREE_SLOT] = 0;
  Atomics.store(h, H.MAGIC, MAGIC); // last: an arena with the magic is fully initialised
  return sab;
}
