/**
 * SharedStore: one object arena in a SharedArrayBuffer, mapped by every worker
 * (the cache's responses and idempotency's records: one copy for all threads).
 *
 * Concurrency (why this shape, and what it costs):
 *  - Writers (set, insertIfAbsent, compareAndSet, delete, deletePrefix) take
 *    one futex mutex (mutex.ts). That makes the conditional writes atomic
 *    across workers: idempotency's exactly-once lock is insertIfAbsent.
 *  - Readers take no lock. A global seqlock word is odd while a writer
 *    changes the index or evicts; a reader notes it, looks up and copies
 *    out, and keeps the copy only when the word is unchanged and even, so it
 *    sees the whole old entry or the whole new one, never a mix. Every offset
 *    read during an optimistic pass is bounds-checked, so a racing pass
 *    returns garbage at worst, which the seqlock check then discards. After
 *    READ_RETRIES failed passes the reader reads under the mutex instead.
 *  - A writer copies the new record's bytes with the seqlock even: the space
 *    was reserved (and evicted) in one short odd phase and no slot points at
 *    it yet; a second short odd phase links it in and unlinks the old entry.
 *    So readers only retry for index updates, never for a large memcpy.
 *
 * Memory: a ring of records (log-structured), so allocation never
 * fragments: a record goes at the head; when the ring is full the record at
 * the tail goes, unless it was read since it was written (CLOCK second
 * chance: its reference bit is cleared and it is moved to the head, at most
 * SECOND_CHANCE_MOVES moves per allocation). Deleted and replaced records
 * are dead space reclaimed when the tail passes them; expired entries are
 * reclaimed there too (lazily) and read as absent before that.
 *
 * Keys: UTF-8 bytes, hashed to two 32-bit words (hashKey) for the bucket and a tag,
 * and always compared in full on lookup: a hash match alone never serves an
 * entry (cache poisoning by collision).
 */
import {
  type AllocateOptions,
  allocateArena,
  F,
  H,
  HEADER_BYTES,
  HEADER_F64,
  HEADER_I32,
  LAYOUT_VERSION,
  MAGIC,
  R,
  REC_DEAD,
  REC_HEADER,
  REC_WRAP,
  SF,
  SI,
  SLOT_F64,
  SLOT_FREE,
  SLOT_I32,
  SLOT_USED,
  STRIPE_I32,
  STRIPES,
  align8,
} from "./layout.ts";
import { lock, unlock } from "./mutex.ts";

export interface StoreEntry {
  meta: Uint8Array;
  body: Uint8Array;
  expiresAt: number;
  storedAt: number;
  /** Unique across the arena's life (a global counter), so compareAndSet has no ABA. */
  version: number;
}

/**
 * What `read` shows its visitor: an entry in place, in the arena's shared
 * memory (no copy). `bytes` is the whole ring: meta is
 * bytes[metaStart, bodyStart), body bytes[bodyStart, bodyEnd). Valid only
 * during the visitor's call; one object per store, reused.
 */
export interface EntryView {
  readonly bytes: Uint8Array;
  readonly metaStart: number;
  readonly bodyStart: number;
  readonly bodyEnd: number;
  readonly expiresAt: number;
  readonly storedAt: number;
  readonly version: number;
}

export interface StoreStats {
  /** Entries in the index (expired ones included until reclaimed). */
  entries: number;
  /** Bytes of live records (key + meta + body + 24-byte header, 8-aligned). */
  bytes: number;
  /** Ring bytes in use: live records plus dead space not yet reclaimed. */
  usedBytes: number;
  /** Ring bytes available for records. */
  capacity: number;
  /** The whole arena (index included): what `[cache] size` bounds. */
  arenaBytes: number;
  maxEntries: number;
  maxObjectBytes: number;
  /** Live entries removed to make room. */
  evictions: number;
  /** Expired entries reclaimed. */
  expired: number;
  hits: number;
  misses: number;
}

/** Longest key in UTF-8 bytes. */
export const MAX_KEY_BYTES = 65535;
const READ_RETRIES = 64;
const SECOND_CHANCE_MOVES = 8;
/** Records larger than this are evicted rather than moved (bounds the writer's odd phase). */
const MOVE_MAX = 64 * 1024;
const MODE_SET = 0;
const MODE_ABSENT = 1;
const MODE_CAS = 2;

const encoder = new TextEncoder();

export class SharedStore {
  /** Lays out a new arena of `bytes` bytes (main thread, in a factory's share()). */
  static allocate(bytes: number, opts?: AllocateOptions): SharedArrayBuffer {
    return allocateArena(bytes, opts);
  }

  readonly buffer: SharedArrayBuffer;
  private readonly now: () => number;
  private readonly h: Int32Array;
  private readonly hf: Float64Array;
  private readonly counters: Int32Array;
  private readonly stripe: number;
  private readonly buckets: Int32Array;
  private readonly si: Int32Array;
  private readonly sf: Float64Array;
  private readonly ring8: Uint8Array;
  private readonly ring32: Int32Array;
  private readonly ringSize: number;
  private readonly slots: number;
  private readonly maxEntries: number;
  private readonly maxObject: number;
  private readonly bucketMask: number;
  private readonly hashMask: number;
  // The key being looked up, encoded once per call (per-instance scratch: one thread).
  private scratch = new Uint8Array(256);
  /** The same bytes as Int32 words, for hashKey. */
  private words = new Int32Array(this.scratch.buffer);
  private keyLen = 0;
  private hLo = 0;
  private hHi = 0;
  private lastVersionValue = 0;
  /** The entry `read` shows its visitor, refilled per lookup (one thread per instance). */
  private readonly view: MutableView;

  constructor(buffer: SharedArrayBuffer, now: () => number = Date.now) {
    const h = new Int32Array(buffer, 0, HEADER_I32);
    if (Atomics.load(h, H.MAGIC) !== MAGIC || h[H.LAYOUT] !== LAYOUT_VERSION) {
      throw new TypeError("SharedStore: buffer was not made by SharedStore.allocate");
    }
    this.buffer = buffer;
    this.now = now;
    this.h = h;
    this.hf = new Float64Array(buffer, HEADER_I32 * 4, HEADER_F64);
    this.counters = new Int32Array(buffer, HEADER_BYTES, STRIPES * STRIPE_I32);
    this.stripe = (Atomics.add(h, H.INSTANCES, 1) % STRIPES) * STRIPE_I32;
    this.slots = h[H.SLOTS]!;
    this.maxEntries = this.slots - 1;
    this.buckets = new Int32Array(buffer, h[H.BUCKETS_OFF]!, h[H.BUCKETS]!);
    this.bucketMask = h[H.BUCKETS]! - 1;
    // Two views of one slot region: a slot's Int32 and Float64 fields share its cache line (layout.ts).
    this.si = new Int32Array(buffer, h[H.SLOTS_OFF]!, this.slots * SLOT_I32);
    this.sf = new Float64Array(buffer, h[H.SLOTS_OFF]!, this.slots * SLOT_F64);
    this.ringSize = h[H.RING_SIZE]!;
    this.ring8 = new Uint8Array(buffer, h[H.RING_OFF]!, this.ringSize);
    this.ring32 = new Int32Array(buffer, h[H.RING_OFF]!, this.ringSize >> 2);
    this.maxObject = h[H.MAX_OBJECT]!;
    this.hashMask = h[H.HASH_MASK]!;
    this.view = { bytes: this.ring8, metaStart: 0, bodyStart: 0, bodyEnd: 0, expiresAt: 0, storedAt: 0, version: 0 };
  }

  /** Version of this instance's last successful write (e.g. the in-flight record idempotency will compareAndSet). */
  get lastVersion(): number {
    return this.lastVersionValue;
  }

  /** A copy of the entry, or null when absent or expired. Lock-free (seqlock). */
  get(key: string): StoreEntry | null {
    return this.read(key, copyOut);
  }

  /**
   * Lock-free read without a copy: `visit` sees the entry in place (an
   * EntryView into shared memory) and returns what the caller keeps; null
   * when absent or expired. Seqlock: `visit` runs inside the optimistic
   * pass, and its result is kept only when no writer changed the index
   * meanwhile; otherwise it is dropped and the pass runs again. So `visit`
   * may run more than once, on bytes a racing writer is changing: it must
   * copy whatever it keeps, have no side effects, and may throw (a throw on
   * a raced pass is a retry; on a clean pass it reaches the caller).
   */
  read<T>(key: string, visit: (entry: EntryView) => T): T | null {
    if (!this.prepare(key)) return null;
    const now = this.now();
    const h = this.h;
    for (let attempt = 0; attempt < READ_RETRIES; attempt++) {
      const seq = Atomics.load(h, H.SEQ);
      if ((seq & 1) !== 0) continue;
      const s = this.locate(now);
      if (s === INCONSISTENT) continue;
      if (s < 0) {
        if (Atomics.load(h, H.SEQ) === seq) return this.miss();
        continue;
      }
      let out: T;
      try {
        out = visit(this.view);
      } catch (e) {
        if (Atomics.load(h, H.SEQ) === seq) throw e;
        continue;
      }
      if (Atomics.load(h, H.SEQ) === seq) return this.hit(s, out);
    }
    // Writers kept the index busy for the whole budget: read under their lock.
    lock(h, H.LOCK);
    try {
      const s = this.locate(now);
      return s < 0 ? this.miss() : this.hit(s, visit(this.view));
    } finally {
      unlock(h, H.LOCK);
    }
  }

  /** Stores (replacing any entry). False when it cannot fit: oversized, bad ttl, or key too long. */
  set(key: string, meta: Uint8Array, body: Uint8Array, ttlMs: number): boolean {
    return this.write(key, meta, body, ttlMs, MODE_SET, 0);
  }

  /** Stores only when no unexpired entry has the key; atomic across workers. */
  insertIfAbsent(key: string, meta: Uint8Array, body: Uint8Array, ttlMs: number): boolean {
    return this.write(key, meta, body, ttlMs, MODE_ABSENT, 0);
  }

  /** Replaces the entry only when it is unexpired and still at `expectedVersion`; atomic across workers. */
  compareAndSet(key: string, expectedVersion: number, meta: Uint8Array, body: Uint8Array, ttlMs: number): boolean {
    return this.write(key, meta, body, ttlMs, MODE_CAS, expectedVersion);
  }

  /** Removes the key; true when an unexpired entry went. */
  delete(key: string): boolean {
    if (!this.prepare(key)) return false;
    const h = this.h;
    lock(h, H.LOCK);
    try {
      const s = this.find();
      if (s < 0) return false;
      const live = this.sf[s * SLOT_F64 + SF.EXPIRES]! > this.now();
      Atomics.add(h, H.SEQ, 1);
      try {
        this.unlink(s, true);
      } finally {
        Atomics.add(h, H.SEQ, 1);
      }
      return live;
    } finally {
      unlock(h, H.LOCK);
    }
  }

  /**
   * Removes every entry whose key starts with `prefix` (UTF-8 bytes); returns
   * how many (expired ones included). Cost: a scan of all maxEntries slots
   * with a prefix compare on each used one, O(maxEntries); done in chunks of
   * PREFIX_CHUNK slots, each under the lock on its own, so writers wait at
   * most one chunk and readers only retry for the unlinking.
   */
  deletePrefix(prefix: string): number {
    const p = encoder.encode(prefix);
    const h = this.h;
    const si = this.si;
    const ring8 = this.ring8;
    const ring32 = this.ring32;
    const found: number[] = [];
    let removed = 0;
    for (let start = 0; start < this.slots; start += PREFIX_CHUNK) {
      const end = Math.min(this.slots, start + PREFIX_CHUNK);
      lock(h, H.LOCK);
      try {
        found.length = 0;
        for (let s = start; s < end; s++) {
          if (si[s * SLOT_I32 + SI.STATE] !== SLOT_USED) continue;
          const rec = si[s * SLOT_I32 + SI.REC]!;
          if (ring32[(rec >> 2) + R.KEY]! < p.length) continue;
          const k = rec + REC_HEADER;
          let i = 0;
          while (i < p.length && ring8[k + i] === p[i]) i++;
          if (i === p.length) found.push(s);
        }
        if (found.length > 0) {
          Atomics.add(h, H.SEQ, 1);
          try {
            for (const s of found) this.unlink(s, true);
          } finally {
            Atomics.add(h, H.SEQ, 1);
          }
          removed += found.length;
        }
      } finally {
        unlock(h, H.LOCK);
      }
    }
    return removed;
  }

  stats(): StoreStats {
    const h = this.h;
    let hits = 0;
    let misses = 0;
    for (let i = 0; i < STRIPES; i++) {
      hits += Atomics.load(this.counters, i * STRIPE_I32) >>> 0;
      misses += Atomics.load(this.counters, i * STRIPE_I32 + 1) >>> 0;
    }
    return {
      entries: Atomics.load(h, H.ENTRIES),
      bytes: Atomics.load(h, H.LIVE_BYTES),
      usedBytes: Atomics.load(h, H.USED),
      capacity: this.ringSize,
      arenaBytes: this.buffer.byteLength,
      maxEntries: this.maxEntries,
      maxObjectBytes: this.maxObject,
      evictions: this.hf[F.EVICTIONS]!,
      expired: this.hf[F.EXPIRED]!,
      hits,
      misses,
    };
  }

  // ---- lookup -------------------------------------------------------------

  /** Encodes the key into the scratch buffer and hashes it. False when too long. No allocation. */
  private prepare(key: string): boolean {
    // Room for the UTF-8 bytes (at most 3 per UTF-16 unit) and the zeroed tail of the last hashed word.
    if (key.length * 3 + 4 > this.scratch.length) {
      if (key.length > MAX_KEY_BYTES) return false;
      this.scratch = new Uint8Array((Math.max(key.length * 3 + 4, this.scratch.length * 2) + 3) & ~3);
      this.words = new Int32Array(this.scratch.buffer);
    }
    const n = encoder.encodeInto(key, this.scratch).written;
    if (n > MAX_KEY_BYTES) return false;
    this.keyLen = n;
    const b = this.scratch;
    for (let i = n; i < ((n + 3) & ~3); i++) b[i] = 0;
    hashKey(this.words, n);
    this.hLo = hashLo & this.hashMask;
    this.hHi = hashHi & this.hashMask;
    return true;
  }

  /** Slot of the prepared key, or -1. Bounded walk: safe on a racing index. */
  private find(): number {
    const si = this.si;
    const lo = this.hLo;
    const hi = this.hHi;
    let s = this.buckets[lo & this.bucketMask]!;
    for (let steps = this.slots; s >= 0 && s < this.slots && steps > 0; steps--) {
      const b = s * SLOT_I32;
      if (si[b + SI.HASH_LO] === lo && si[b + SI.HASH_HI] === hi && this.keyAt(si[b + SI.REC]!)) return s;
      s = si[b + SI.NEXT]!;
    }
    return -1;
  }

  /** Full key compare against the record at `rec`. */
  private keyAt(rec: number): boolean {
    if (rec < 0 || (rec & 7) !== 0 || rec > this.ringSize - REC_HEADER) return false;
    const n = this.keyLen;
    if (this.ring32[(rec >> 2) + R.KEY] !== n) return false;
    const k = rec + REC_HEADER;
    if (k + n > this.ringSize) return false;
    const ring8 = this.ring8;
    const key = this.scratch;
    for (let i = 0; i < n; i++) if (ring8[k + i] !== key[i]) return false;
    return true;
  }

  /**
   * Slot of the prepared key's entry with this.view filled in, ABSENT when
   * absent or expired, INCONSISTENT when the offsets make no sense (a racing
   * writer). Reads only the index, the record header and the key: no body
   * byte is touched here.
   */
  private locate(now: number): number {
    const s = this.find();
    if (s < 0) return ABSENT;
    const f = s * SLOT_F64;
    const expiresAt = this.sf[f + SF.EXPIRES]!;
    if (!(expiresAt > now)) return ABSENT;
    const rec = this.si[s * SLOT_I32 + SI.REC]!;
    const r = rec >> 2;
    const len = this.ring32[r + R.LEN]!;
    const metaLen = this.ring32[r + R.META]!;
    const bodyLen = this.ring32[r + R.BODY]!;
    if (this.ring32[r + R.SLOT] !== s || metaLen < 0 || bodyLen < 0) return INCONSISTENT;
    const start = rec + REC_HEADER + this.keyLen;
    if (start + metaLen + bodyLen > rec + len || rec + len > this.ringSize) return INCONSISTENT;
    const v = this.view;
    v.metaStart = start;
    v.bodyStart = start + metaLen;
    v.bodyEnd = start + metaLen + bodyLen;
    v.expiresAt = expiresAt;
    v.storedAt = this.sf[f + SF.STORED]!;
    v.version = this.sf[f + SF.VERSION]!;
    return s;
  }

  private hit<T>(s: number, out: T): T {
    // CLOCK reference bit; a racing stray store only spares some entry once. Written only when clear:
    // a store on every hit would bounce the slot's cache line between the workers' cores.
    const ref = s * SLOT_I32 + SI.REF;
    if (this.si[ref] === 0) this.si[ref] = 1;
    Atomics.add(this.counters, this.stripe, 1);
    return out;
  }

  private miss(): null {
    Atomics.add(this.counters, this.stripe + 1, 1);
    return null;
  }

  // ---- writes (all under the mutex) ---------------------------------------

  private write(key: string, meta: Uint8Array, body: Uint8Array, ttlMs: number, mode: number, expected: number): boolean {
    if (!(ttlMs > 0)) return false;
    const payload = meta.length + body.length;
    if (payload > this.maxObject) return false;
    if (!this.prepare(key)) return false;
    const k = this.keyLen;
    const need = align8(REC_HEADER + k + payload);
    if (need > this.ringSize) return false;
    const h = this.h;
    lock(h, H.LOCK);
    try {
      const now = this.now();
      const old = this.find();
      if (mode !== MODE_SET) {
        const live = old >= 0 && this.sf[old * SLOT_F64 + SF.EXPIRES]! > now;
        if (mode === MODE_ABSENT && live) return false;
        if (mode === MODE_CAS && (!live || this.sf[old * SLOT_F64 + SF.VERSION] !== expected)) return false;
      }
      // Phase 1 (odd): a slot and ring space, evicting as needed.
      let slot: number;
      let rec: number;
      Atomics.add(h, H.SEQ, 1);
      try {
        slot = this.takeSlot(now, old >= 0);
        rec = this.reserve(need, now);
        const r = rec >> 2;
        this.ring32[r + R.LEN] = need;
        this.ring32[r + R.SLOT] = slot;
        this.ring32[r + R.KEY] = k;
        this.ring32[r + R.META] = meta.length;
        this.ring32[r + R.BODY] = body.length;
      } finally {
        Atomics.add(h, H.SEQ, 1);
      }
      // Phase 2 (even): the bytes, into space no slot points at yet.
      const ring8 = this.ring8;
      const at = rec + REC_HEADER;
      ring8.set(this.scratch.subarray(0, k), at);
      ring8.set(meta, at + k);
      ring8.set(body, at + k + meta.length);
      // Phase 3 (odd): swap the new entry in.
      Atomics.add(h, H.SEQ, 1);
      try {
        const prev = this.find(); // phase 1 may have evicted the old one
        if (prev >= 0) this.unlink(prev, true);
        const b = slot * SLOT_I32;
        const f = slot * SLOT_F64;
        const si = this.si;
        si[b + SI.HASH_LO] = this.hLo;
        si[b + SI.HASH_HI] = this.hHi;
        si[b + SI.REC] = rec;
        si[b + SI.STATE] = SLOT_USED;
        const version = (this.hf[F.VERSION] = this.hf[F.VERSION]! + 1);
        this.sf[f + SF.EXPIRES] = now + ttlMs;
        this.sf[f + SF.STORED] = now;
        this.sf[f + SF.VERSION] = version;
        this.si[slot * SLOT_I32 + SI.REF] = 0;
        const bucket = this.hLo & this.bucketMask;
        si[b + SI.NEXT] = this.buckets[bucket]!;
        this.buckets[bucket] = slot;
        h[H.ENTRIES]!++;
        h[H.LIVE_BYTES] = h[H.LIVE_BYTES]! + need;
        this.lastVersionValue = version;
      } finally {
        Atomics.add(h, H.SEQ, 1);
      }
      return true;
    } finally {
      unlock(h, H.LOCK);
    }
  }

  /** A free slot, evicting from the tail while the index is full. */
  private takeSlot(now: number, replacing: boolean): number {
    const h = this.h;
    while (h[H.ENTRIES]! + (replacing ? 0 : 1) > this.maxEntries || h[H.FREE_SLOT]! < 0) {
      if (h[H.USED] === 0) throw new Error("SharedStore: index full with an empty ring (corrupt arena)");
      this.evictTail(now, false);
    }
    const s = h[H.FREE_SLOT]!;
    h[H.FREE_SLOT] = this.si[s * SLOT_I32 + SI.NEXT]!;
    return s;
  }

  /** Ring offset of `need` contiguous bytes at the head, evicting from the tail. */
  private reserve(need: number, now: number): number {
    const h = this.h;
    const size = this.ringSize;
    let moves = 0;
    for (;;) {
      if (h[H.USED] === 0) {
        h[H.HEAD] = 0;
        h[H.TAIL] = 0;
      }
      const head = h[H.HEAD]!;
      const tail = h[H.TAIL]!;
      if (head > tail || h[H.USED] === 0) {
        // Free space: [head, size) and [0, tail).
        if (need <= size - head) return this.advanceHead(head, need);
        // Pad the end with a wrap record (all sizes are 8-aligned: it is >= 8 bytes).
        this.ring32[(head >> 2) + R.LEN] = size - head;
        this.ring32[(head >> 2) + R.SLOT] = REC_WRAP;
        h[H.USED] = h[H.USED]! + (size - head);
        h[H.HEAD] = 0;
        continue;
      }
      // Free space: [head, tail) (none when head == tail: full).
      if (need <= tail - head) return this.advanceHead(head, need);
      if (this.evictTail(now, moves < SECOND_CHANCE_MOVES)) moves++;
    }
  }

  private advanceHead(head: number, n: number): number {
    const h = this.h;
    h[H.HEAD] = head + n === this.ringSize ? 0 : head + n;
    h[H.USED] = h[H.USED]! + n;
    return head;
  }

  /**
   * Frees the record at the tail. A live, unexpired entry read since it was
   * written gets a second chance (moved to the head, bit cleared) when
   * `secondChance` and it fits; returns true when it moved.
   */
  private evictTail(now: number, secondChance: boolean): boolean {
    const h = this.h;
    const tail = h[H.TAIL]!;
    const r = tail >> 2;
    const len = this.ring32[r + R.LEN]!;
    if (len < 8 || (len & 7) !== 0 || tail + len > this.ringSize) throw new Error("SharedStore: corrupt ring record");
    const slot = this.ring32[r + R.SLOT]!;
    let moved = false;
    if (slot >= 0) {
      const expired = !(this.sf[slot * SLOT_F64 + SF.EXPIRES]! > now);
      const head = h[H.HEAD]!;
      // With head <= tail the freed record itself makes the room (copyWithin is a memmove).
      const room = head > tail ? this.ringSize - head : tail - head + len;
      if (secondChance && !expired && this.si[slot * SLOT_I32 + SI.REF] === 1 && len <= MOVE_MAX && len <= room) {
        this.si[slot * SLOT_I32 + SI.REF] = 0;
        this.ring8.copyWithin(head, tail, tail + len);
        this.si[slot * SLOT_I32 + SI.REC] = head;
        this.advanceHead(head, len);
        moved = true;
      } else {
        this.unlink(slot, false);
        if (expired) this.hf[F.EXPIRED] = this.hf[F.EXPIRED]! + 1;
        else this.hf[F.EVICTIONS] = this.hf[F.EVICTIONS]! + 1;
      }
    }
    const next = tail + len;
    h[H.TAIL] = next >= this.ringSize ? 0 : next;
    h[H.USED] = h[H.USED]! - len;
    if (h[H.USED] === 0) {
      h[H.HEAD] = 0;
      h[H.TAIL] = 0;
    }
    return moved;
  }

  /** Takes slot `s` out of its chain and frees it; `markDead` for records the tail has not reached. */
  private unlink(s: number, markDead: boolean): void {
    const si = this.si;
    const b = s * SLOT_I32;
    const bucket = si[b + SI.HASH_LO]! & this.bucketMask;
    let cur = this.buckets[bucket]!;
    if (cur === s) this.buckets[bucket] = si[b + SI.NEXT]!;
    else {
      while (cur >= 0) {
        const nb = cur * SLOT_I32 + SI.NEXT;
        if (si[nb] === s) {
          si[nb] = si[b + SI.NEXT]!;
          break;
        }
        cur = si[nb]!;
      }
    }
    const rec = si[b + SI.REC]!;
    const h = this.h;
    h[H.LIVE_BYTES] = h[H.LIVE_BYTES]! - this.ring32[(rec >> 2) + R.LEN]!;
    if (markDead) this.ring32[(rec >> 2) + R.SLOT] = REC_DEAD;
    si[b + SI.STATE] = SLOT_FREE;
    si[b + SI.NEXT] = h[H.FREE_SLOT]!;
    h[H.FREE_SLOT] = s;
    h[H.ENTRIES]!--;
    this.si[s * SLOT_I32 + SI.REF] = 0;
  }
}

const PREFIX_CHUNK = 4096;

let hashLo = 0;
let hashHi = 0;
/**
 * Two 32-bit hash words of the key's first `n` bytes (`words`, the tail of
 * the last word zeroed) into hashLo / hashHi: MurmurHash3's x86_32 block mix
 * with a second lane and both finalizers. In JS on Int32 words, because
 * Bun.hash.wyhash answers a BigInt: splitting it cost ~50 ns and a heap
 * allocation per lookup (GC work in a busy worker); this is ~25 ns and none.
 * Full keys are compared on every lookup, so the hash only spreads buckets.
 */
function hashKey(words: Int32Array, n: number): void {
  let h1 = n | 0;
  let h2 = (n ^ 0x9747b28c) | 0;
  const nw = (n + 3) >> 2;
  for (let j = 0; j < nw; j++) {
    let k = Math.imul(words[j]!, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h1 ^= k;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    h2 = Math.imul(h2 ^ k, 0x85ebca6b);
    h2 ^= h2 >>> 13;
  }
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  h2 ^= h2 >>> 16;
  h2 = Math.imul(h2, 0xc2b2ae35);
  h2 ^= h2 >>> 16;
  hashLo = h1;
  hashHi = h2;
}
const ABSENT = -1;
const INCONSISTENT = -2;

type MutableView = { -readonly [K in keyof EntryView]: EntryView[K] };

/**
 * get()'s visitor: one copy of meta and body together. new + set, not
 * slice(): slice on a SharedArrayBuffer view measured ~1.7 µs for 1.2 KB in a
 * process holding a 64 MiB arena, new + set ~0.25 µs.
 */
function copyOut(v: EntryView): StoreEntry {
  const metaLen = v.bodyStart - v.metaStart;
  const copy = new Uint8Array(v.bodyEnd - v.metaStart);
  copy.set(v.bytes.subarray(v.metaStart, v.bodyEnd));
  return { meta: copy.subarray(0, metaLen), body: copy.subarray(metaLen), expiresAt: v.expiresAt, storedAt: v.storedAt, version: v.version };
}
