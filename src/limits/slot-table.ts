/**
 * The limiter slot table: one SharedArrayBuffer shared by every worker thread
 * (and the main thread's Redis sync loop). Fixed capacity, open addressing with
 * bounded linear probing, every update a 32-bit Atomics compare-and-swap: no
 * locks, no messages on the request path.
 *
 * Memory layout (little-endian; i32 = word index):
 *
 *   header   64 bytes   i32[0..15]   see H_* below (epoch is a Float64 at byte 56)
 *   slots    capacity × 32 bytes     8 words per slot, slot s at word 16 + 8s:
 *              +0 key lo  \ 64-bit key hash (0,0 = never used). Claimed with one
 *              +1 key hi  / 64-bit CAS; read as two 32-bit words on the hot path.
 *              +2 expiry   unix seconds (uint32) after which the state means nothing
 *              +3 state0   algorithm word (GCRA TAT / window counter / in-flight); FRESH = none yet
 *              +4 state1   second algorithm word (sliding: other window; concurrency: remote in-flight)
 *              +5 delta0   admissions not yet pushed to Redis (sync mode), even windows
 *              +6 delta1   same, odd windows
 *              +7 meta     registry index of the limit that owns the slot (for the sync loop)
 *   dirty    capacity / 8 bytes      one bit per slot: "has deltas" (sync mode)
 *
 * Why 32-bit words: a BigInt64 CAS costs ~100 ns in JSC (every value is a heap
 * BigInt), an Int32 CAS ~6 ns. Only claiming a slot for a new key (a miss) uses
 * the 64-bit CAS.
 *
 * Reclaim and eviction. A slot whose expiry has passed is stale: any key may
 * take it with a CAS on the key word. When the probe window holds no empty or
 * stale slot, the slot with the oldest expiry is evicted (never fail): the key
 * that lived there is forgotten and starts fresh the next time it is seen,
 * which can only admit more for that key, bounded by one fresh budget per
 * eviction. A claimed slot's state words are reset to FRESH (by CAS, so a
 * decision that got in first survives) and its expiry raised to now + 2 s so
 * no other key can take it before its first decision. The header counts
 * claims, reclaims and evictions.
 *
 * Duplicates. Keys are only ever inserted at the first empty-or-stale slot of
 * their window and lookups take the first match, so two workers inserting the
 * same new key race on the same slot and the CAS serialises them. Only a race
 * between reclaiming a stale slot and another worker's scan can create a second
 * copy; the first copy in probe order then wins and the other is orphaned until
 * it expires (at most the requests decided during that race are off by one).
 */

export const WORDS_PER_SLOT = 8;
export const HEADER_WORDS = 16;
const HEADER_BYTES = HEADER_WORDS * 4;
const MAGIC = 0x524c5431; // "RLT1"

export const W_KEY_LO = 0;
export const W_KEY_HI = 1;
export const W_EXPIRY = 2;
export const W_STATE0 = 3;
export const W_STATE1 = 4;
export const W_DELTA0 = 5;
export const W_DELTA1 = 6;
export const W_META = 7;

/**
 * State words of a slot that holds no state yet (every slot at allocation, a
 * reclaimed or evicted slot once claimed). Algorithms read it as "fresh".
 */
export const FRESH = -0x80000000;

/** Header words. */
const H_MAGIC = 0;
const H_CAPACITY = 1;
const H_PROBE = 2;
const H_SEED_A = 3;
const H_SEED_B = 4;
export const H_CLAIMS = 5;
export const H_RECLAIMS = 6;
export const H_EVICTIONS = 7;
/** Live gateway instances seen in Redis heartbeats (0 = never seen). Written by the main thread. */
export const H_LIVE_INSTANCES = 8;
/** Redis link as the main thread sees it: 0 = not configured, 1 = up, 2 = down. */
export const H_REDIS_STATE = 9;
/** Sync rounds completed (tests wait on it). */
export const H_SYNC_ROUNDS = 10;
const F64_EPOCH = 7; // Float64 index 7 = bytes 56..63

export const REDIS_NONE = 0;
export const REDIS_UP = 1;
export const REDIS_DOWN = 2;

export interface LimiterTable {
  readonly buffer: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly i64: BigInt64Array;
  readonly capacity: number;
  readonly mask: number;
  readonly probe: number;
  /** Hash seeds shared by every thread (deterministic when instances must agree). */
  readonly seedA: number;
  readonly seedB: number;
  /** Word index of the dirty bitmap. */
  readonly dirtyBase: number;
  /** Date.now() when the table was allocated (informational). */
  readonly createdAt: number;
}

export interface AllocateOptions {
  /** Slots probed per key before evicting; default 8. */
  probe?: number;
  /** Fixed hash seeds (Redis sync mode: every instance must hash alike). Default: random. */
  seed?: [number, number];
}

/** Largest slot count: 2^26 slots of 32 bytes is a 2 GiB table. */
export const MAX_SLOTS = 1 << 26;

/** Why `slots` cannot size a table (rate_limit.slots), or null; checked at config load and by allocateLimiterTable. */
export function slotCountProblem(slots: number): string | null {
  if (!Number.isInteger(slots) || slots < 1) return `must be a positive integer, got ${slots}`;
  if (slots > MAX_SLOTS) return `must be at most ${MAX_SLOTS} (a ${(MAX_SLOTS * WORDS_PER_SLOT * 4) / 2 ** 30} GiB table), got ${slots}`;
  return null;
}

/** Main thread: allocate the shared table. `slots` is rounded up to a power of two (min 64). */
export function allocateLimiterTable(slots: number, opts: AllocateOptions = {}): SharedArrayBuffer {
  const bad = slotCountProblem(slots);
  if (bad !== null) throw new RangeError(`rate_limit.slots ${bad}`);
  let capacity = 64;
  while (capacity < slots) capacity *= 2;
  const probe = Math.min(opts.probe ?? 8, capacity);
  const bytes = HEADER_BYTES + capacity * WORDS_PER_SLOT * 4 + (capacity / 8);
  const buffer = new SharedArrayBuffer(Math.ceil(bytes / 8) * 8);
  const i32 = new Int32Array(buffer);
  const seed = opts.seed ?? [(Math.random() * 0x100000000) | 0, (Math.random() * 0x100000000) | 0];
  i32[H_CAPACITY] = capacity;
  i32[H_PROBE] = probe;
  i32[H_SEED_A] = seed[0] | 0;
  i32[H_SEED_B] = seed[1] | 0;
  new Float64Array(buffer, 0, HEADER_WORDS / 2)[F64_EPOCH] = Date.now();
  for (let s = 0; s < capacity; s++) {
    const base = HEADER_WORDS + s * WORDS_PER_SLOT;
    i32[base + W_STATE0] = FRESH;
    i32[base + W_STATE1] = FRESH;
  }
  Atomics.store(i32, H_MAGIC, MAGIC);
  return buffer;
}

/** Any thread: a typed view over a table made by allocateLimiterTable. */
export function attachLimiterTable(buffer: SharedArrayBuffer): LimiterTable {
  const i32 = new Int32Array(buffer);
  if (Atomics.load(i32, H_MAGIC) !== MAGIC) throw new TypeError("not a limiter table (bad magic)");
  const capacity = i32[H_CAPACITY]!;
  return {
    buffer,
    i32,
    i64: new BigInt64Array(buffer),
    capacity,
    mask: capacity - 1,
    probe: i32[H_PROBE]!,
    seedA: i32[H_SEED_A]!,
    seedB: i32[H_SEED_B]!,
    dirtyBase: HEADER_WORDS + capacity * WORDS_PER_SLOT,
    createdAt: new Float64Array(buffer, 0, HEADER_WORDS / 2)[F64_EPOCH]!,
  };
}

/** Word index of a slot's first word. */
export function slotBase(slot: number): number {
  return HEADER_WORDS + slot * WORDS_PER_SLOT;
}

/**
 * The slot holding key (a, b), claiming one if the key is new. Never fails:
 * at worst evicts the oldest slot of the window. `meta` is stored on claim.
 * (a, b) must not both be 0 (hash.ts guarantees it).
 */
export function findSlot(t: LimiterTable, a: number, b: number, now: number, meta: number): number {
  const i32 = t.i32;
  const mask = t.mask;
  const home = (a >>> 0) & mask;
  // Hot path: plain reads; a torn read of a key being claimed can only look
  // like "not mine", and the slow path re-checks with a 64-bit atomic load.
  for (let i = 0; i < t.probe; i++) {
    const s = (home + i) & mask;
    const base = HEADER_WORDS + s * WORDS_PER_SLOT;
    const lo = i32[base]!;
    const hi = i32[base + 1]!;
    if (lo === a && hi === b) return s;
    if (lo === 0 && hi === 0) break;
  }
  return claimSlot(t, a, b, now, meta, home);
}

function keyBigInt(a: number, b: number): bigint {
  return BigInt.asIntN(64, (BigInt(b >>> 0) << 32n) | BigInt(a >>> 0));
}

function claimSlot(t: LimiterTable, a: number, b: number, now: number, meta: number, home: number): number {
  const i32 = t.i32;
  const i64 = t.i64;
  const mine = keyBigInt(a, b);
  const nowSec = now / 1000;
  for (let attempt = 0; attempt < 16; attempt++) {
    let candidate = -1;
    let candidateKey = 0n;
    let candidateKind = 0; // 1 empty, 2 stale, 3 evict
    let oldestSlot = -1;
    let oldestKey = 0n;
    let oldestExpiry = Infinity;
    for (let i = 0; i < t.probe; i++) {
      const s = (home + i) & t.mask;
      const base = HEADER_WORDS + s * WORDS_PER_SLOT;
      const key = Atomics.load(i64, base >> 1);
      if (key === mine) return s;
      if (key === 0n) {
        if (candidate < 0) {
          candidate = s;
          candidateKey = key;
          candidateKind = 1;
        }
        break; // nothing was ever inserted past an empty slot
      }
      const expiry = Atomics.load(i32, base + W_EXPIRY) >>> 0;
      if (nowSec >= expiry) {
        if (candidate < 0) {
          candidate = s;
          candidateKey = key;
          candidateKind = 2;
        }
      } else if (expiry < oldestExpiry) {
        oldestExpiry = expiry;
        oldestSlot = s;
        oldestKey = key;
      }
    }
    if (candidate < 0) {
      candidate = oldestSlot;
      candidateKey = oldestKey;
      candidateKind = 3;
    }
    const base = HEADER_WORDS + candidate * WORDS_PER_SLOT;
    // The previous owner's state, read before the claim: reset below only if nobody replaced it since.
    const old0 = Atomics.load(i32, base + W_STATE0);
    const old1 = Atomics.load(i32, base + W_STATE1);
    const seen = Atomics.compareExchange(i64, base >> 1, candidateKey, mine);
    if (seen === candidateKey) {
      // Ours. Another worker may already be deciding on this slot for the
      // same key (it saw `mine`), so the old owner's state is reset with a CAS
      // from the value read before the claim: a decision that got in first is
      // kept. An empty slot is FRESH since allocation.
      Atomics.store(i32, base + W_META, meta);
      if (candidateKind !== 1) {
        Atomics.compareExchange(i32, base + W_STATE0, old0, FRESH);
        Atomics.compareExchange(i32, base + W_STATE1, old1, FRESH);
        Atomics.store(i32, base + W_DELTA0, 0);
        Atomics.store(i32, base + W_DELTA1, 0);
      }
      // Not reclaimable by another key before its first decision lands.
      raiseExpiry(i32, base + W_EXPIRY, Math.ceil(nowSec) + 2);
      Atomics.add(i32, candidateKind === 1 ? H_CLAIMS : candidateKind === 2 ? H_RECLAIMS : H_EVICTIONS, 1);
      return candidate;
    }
    if (seen === mine) return candidate; // another worker claimed it for the same key
    // Lost to a different key: scan again.
  }
  // Pathological contention: take the home slot's current owner's place.
  return home;
}

/** Raise a slot's expiry to at least `expirySec` (monotonic, so a slow writer never lowers it). */
export function raiseExpiry(i32: Int32Array, index: number, expirySec: number): void {
  let cur = Atomics.load(i32, index) >>> 0;
  while (cur < expirySec) {
    const prev = Atomics.compareExchange(i32, index, cur | 0, expirySec | 0) >>> 0;
    if (prev === cur) return;
    cur = prev;
  }
}

/** True when the slot still holds key (a, b) (a release or a fold must not touch a new owner). */
export function slotHoldsKey(t: LimiterTable, slot: number, a: number, b: number): boolean {
  const base = HEADER_WORDS + slot * WORDS_PER_SLOT;
  return Atomics.load(t.i32, base) === a && Atomics.load(t.i32, base + 1) === b;
}

/**
 * Sync mode: count one admission for the Redis sync loop and flag the slot.
 * `meta` is re-asserted so a slot kept across a config reload names the
 * limit's current registry index.
 */
export function recordDelta(t: LimiterTable, slot: number, parity: number, n: number, meta: number): void {
  const base = HEADER_WORDS + slot * WORDS_PER_SLOT;
  if (t.i32[base + W_META] !== meta) Atomics.store(t.i32, base + W_META, meta);
  if (n !== 0) Atomics.add(t.i32, base + W_DELTA0 + parity, n);
  markDirty(t, slot);
}

export function markDirty(t: LimiterTable, slot: number): void {
  const word = t.dirtyBase + (slot >>> 5);
  const bit = 1 << (slot & 31);
  if ((Atomics.load(t.i32, word) & bit) === 0) Atomics.or(t.i32, word, bit);
}

export interface TableStats {
  capacity: number;
  probe: number;
  bytes: number;
  used: number;
  claims: number;
  reclaims: number;
  evictions: number;
}

/** Counters and occupancy (walks every slot: admin/bench use, not the request path). */
export function tableStats(t: LimiterTable): TableStats {
  let used = 0;
  for (let s = 0; s < t.capacity; s++) {
    const base = HEADER_WORDS + s * WORDS_PER_SLOT;
    if (t.i32[base] !== 0 || t.i32[base + 1] !== 0) used++;
  }
  return {
    capacity: t.capacity,
    probe: t.probe,
    bytes: t.buffer.byteLength,
    used,
    claims: Atomics.load(t.i32, H_CLAIMS),
    reclaims: Atomics.load(t.i32, H_RECLAIMS),
    evictions: Atomics.load(t.i32, H_EVICTIONS),
  };
}
