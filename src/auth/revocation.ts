/**
 * The revocation denylist shared by every worker: two open-addressing hash
 * sets (one for JWT ids, one for API keys) of 64-bit digests in a
 * SharedArrayBuffer. The main thread is the only writer; workers read
 * lock-free, so a revoke is visible to every worker as soon as it returns.
 *
 * A value's digest is the first 64 bits of its SHA-256. A false positive (a
 * live token refused because its digest equals a revoked one) has
 * probability about n / 2^64; a revoked value can never be missed.
 *
 * Consistency: each table has a sequence word (a seqlock). The writer makes it
 * odd, changes slots, makes it even; a reader that saw it odd, or saw it
 * change during its probe, probes again. Readers never block the writer and
 * a write is a handful of stores, so a retry is rare and short.
 *
 * Layout (Int32 words):
 *   [0] magic  [1] slots per table  [2] version (bumped on every change)
 *   [4 + 4t] seq, [5 + 4t] used (live + tombstones), [6 + 4t] live   for table t
 *   [16 ...]  table 0 slots, then table 1 slots; a slot is (hi, lo)
 * Slot (0,0) is empty, (0,1) a tombstone; digests are nudged off those two.
 */

export type RevocationKind = "jti" | "api_key";

export const TABLE_JTI = 0;
export const TABLE_API_KEY = 1;
const TABLES = 2;

const MAGIC = 0x52564b31; // "RVK1"
const HEADER_WORDS = 16;
const W_SLOTS = 1;
const W_VERSION = 2;
const tableWord = (t: number, field: 0 | 1 | 2) => 4 + 4 * t + field;

/** 65536 slots per table: 1 MiB in all, up to 49152 live entries per kind. */
export const DEFAULT_REVOCATION_SLOTS = 1 << 16;
const MAX_LOAD = 0.75;

export function tableOf(kind: RevocationKind): number {
  return kind === "jti" ? TABLE_JTI : TABLE_API_KEY;
}

/** The SHA-256 of a jti or an API key; its first 8 bytes are the set's digest. */
export function sha256(value: string): Uint8Array {
  return Bun.SHA256.hash(value) as Uint8Array;
}

/** High word of the digest of `bytes` (a SHA-256 output). */
export function digestHi(bytes: Uint8Array): number {
  return (bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!;
}

/** Low word of the digest, nudged off the empty and tombstone markers. */
export function digestLo(bytes: Uint8Array): number {
  const lo = (bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!;
  return digestHi(bytes) === 0 && (lo === 0 || lo === 1) ? 2 : lo;
}

/** Digest words from a hex SHA-256 (how Redis holds revoked API keys). Null when not 64 hex digits. */
export function digestFromHex(hex: string): [number, number] | null {
  if (!/^[0-9a-f]{64}$/i.test(hex)) return null;
  return [digestHi(Buffer.from(hex.slice(0, 16), "hex")), digestLo(Buffer.from(hex.slice(0, 16), "hex"))];
}

export function allocateRevocationBuffer(slots: number = DEFAULT_REVOCATION_SLOTS): SharedArrayBuffer {
  if (!Number.isInteger(slots) || slots < 16 || (slots & (slots - 1)) !== 0) {
    throw new RangeError(`revocation slots must be a power of two >= 16, got ${slots}`);
  }
  const shared = new SharedArrayBuffer((HEADER_WORDS + TABLES * slots * 2) * 4);
  const words = new Int32Array(shared);
  words[0] = MAGIC;
  words[W_SLOTS] = slots;
  return shared;
}

export class RevocationSet {
  private readonly words: Int32Array;
  private readonly slots: number;
  private readonly mask: number;

  constructor(shared: SharedArrayBuffer) {
    this.words = new Int32Array(shared);
    if (this.words[0] !== MAGIC) throw new Error("not a revocation buffer (bad magic)");
    this.slots = this.words[W_SLOTS]!;
    this.mask = this.slots - 1;
  }

  /** Hot path, any thread: is the digest (hi, lo) in table t? */
  has(t: number, hi: number, lo: number): boolean {
    const w = this.words;
    const seq = tableWord(t, 0);
    for (;;) {
      const before = Atomics.load(w, seq);
      if ((before & 1) === 0) {
        const found = this.probe(t, hi, lo) >= 0;
        if (Atomics.load(w, seq) === before) return found;
      }
    }
  }

  /** Convenience for callers holding the plain value. */
  isRevoked(kind: RevocationKind, value: string): boolean {
    const d = sha256(value);
    return this.has(tableOf(kind), digestHi(d), digestLo(d));
  }

  /** Entries held in table t. */
  size(t: number): number {
    return Atomics.load(this.words, tableWord(t, 2));
  }

  /** Bumped on every change; lets a reader notice that something changed. */
  version(): number {
    return Atomics.load(this.words, W_VERSION);
  }

  /** Main thread only. Adds the digest; false when already present. Throws when the table is full. */
  add(t: number, hi: number, lo: number): boolean {
    const w = this.words;
    if (this.probe(t, hi, lo) >= 0) return false;
    const live = Atomics.load(w, tableWord(t, 2));
    if (live + 1 > this.slots * MAX_LOAD) {
      throw new RangeError(`revocation table full (${live} entries); raise the slot count`);
    }
    this.beginWrite(t);
    try {
      if (Atomics.load(w, tableWord(t, 1)) + 1 > this.slots * MAX_LOAD) this.rebuild(t);
      // Linear probing from the digest's low bits (already uniform: it is SHA-256).
      const base = this.base(t);
      let i = lo & this.mask;
      let reused = false;
      for (;;) {
        const h = w[base + 2 * i]!;
        const l = w[base + 2 * i + 1]!;
        if (h === 0 && (l === 0 || l === 1)) {
          reused = l === 1;
          break;
        }
        i = (i + 1) & this.mask;
      }
      Atomics.store(w, base + 2 * i, hi);
      Atomics.store(w, base + 2 * i + 1, lo);
      if (!reused) Atomics.add(w, tableWord(t, 1), 1);
      Atomics.add(w, tableWord(t, 2), 1);
    } finally {
      this.endWrite(t);
    }
    return true;
  }

  /** Main thread only. Removes the digest; false when absent. */
  remove(t: number, hi: number, lo: number): boolean {
    const i = this.probe(t, hi, lo);
    if (i < 0) return false;
    const w = this.words;
    this.beginWrite(t);
    const base = this.base(t);
    // A tombstone, not an empty slot: later entries of the same probe chain must stay reachable.
    Atomics.store(w, base + 2 * i, 0);
    Atomics.store(w, base + 2 * i + 1, 1);
    Atomics.sub(w, tableWord(t, 2), 1);
    this.endWrite(t);
    return true;
  }

  revoke(kind: RevocationKind, value: string): boolean {
    const d = sha256(value);
    return this.add(tableOf(kind), digestHi(d), digestLo(d));
  }

  unrevoke(kind: RevocationKind, value: string): boolean {
    const d = sha256(value);
    return this.remove(tableOf(kind), digestHi(d), digestLo(d));
  }

  /** Main thread only: every digest in table t, as "hi:lo" strings. */
  entries(t: number): string[] {
    const out: string[] = [];
    const w = this.words;
    const base = this.base(t);
    for (let i = 0; i < this.slots; i++) {
      const h = w[base + 2 * i]!;
      const l = w[base + 2 * i + 1]!;
      if (!(h === 0 && (l === 0 || l === 1))) out.push(`${h}:${l}`);
    }
    return out;
  }

  private base(t: number): number {
    return HEADER_WORDS + t * this.slots * 2;
  }

  /** Slot index of the digest, or -1. */
  private probe(t: number, hi: number, lo: number): number {
    const w = this.words;
    const base = this.base(t);
    let i = lo & this.mask;
    for (let n = 0; n < this.slots; n++) {
      const h = Atomics.load(w, base + 2 * i);
      const l = Atomics.load(w, base + 2 * i + 1);
      if (h === hi && l === lo) return i;
      if (h === 0 && l === 0) return -1;
      i = (i + 1) & this.mask;
    }
    return -1;
  }

  private beginWrite(t: number): void {
    Atomics.add(this.words, tableWord(t, 0), 1);
  }

  private endWrite(t: number): void {
    Atomics.add(this.words, W_VERSION, 1);
    Atomics.add(this.words, tableWord(t, 0), 1);
  }

  /** Drop tombstones: re-insert the live digests into a cleared table. Called inside a write. */
  private rebuild(t: number): void {
    const w = this.words;
    const base = this.base(t);
    const live: number[] = [];
    for (let i = 0; i < this.slots; i++) {
      const h = w[base + 2 * i]!;
      const l = w[base + 2 * i + 1]!;
      if (!(h === 0 && (l === 0 || l === 1))) live.push(h, l);
    }
    w.fill(0, base, base + this.slots * 2);
    for (let k = 0; k < live.length; k += 2) {
      let i = live[k + 1]! & this.mask;
      while (!(w[base + 2 * i] === 0 && w[base + 2 * i + 1] === 0)) i = (i + 1) & this.mask;
      Atomics.store(w, base + 2 * i, live[k]!);
      Atomics.store(w, base + 2 * i + 1, live[k + 1]!);
    }
    Atomics.store(w, tableWord(t, 1), live.length / 2);
  }
}
