/** What the cache needs of an entry: when it stops being valid, and a CLOCK bit. */
export interface Expiring {
  /** ms (same clock as `now`): never later than the token's exp. */
  readonly expiresAt: number;
  /** Set on every hit; cleared when eviction passes over it (second chance). */
  referenced: boolean;
}

/** How many second chances one insert may hand out before evicting the oldest outright. */
const EVICTION_SCAN = 8;

/**
 * Verified tokens, bounded, keyed by the token string itself.
 *
 * Why the token and not a hash of it: Map compares the whole key on lookup,
 * so a different token can never hit another token's entry (no collision to
 * argue about), and a hit costs one string hash (cached by the engine per
 * string) instead of a SHA-256 per request. The memory cost is the token
 * text, bounded by capacity × max_token_size.
 *
 * Eviction is CLOCK over Map insertion order: a hit only sets a bit (no
 * re-insertion on the hot path); an insert into a full cache moves referenced
 * entries to the back once and evicts the first unreferenced one.
 */
export class TokenCache<V extends Expiring> {
  private readonly map = new Map<string, V>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.map.size;
  }

  /** The entry, or undefined when absent or expired at `now` (an expired entry is dropped). */
  get(token: string, now: number): V | undefined {
    const entry = this.map.get(token);
    if (entry === undefined) return undefined;
    if (now >= entry.expiresAt) {
      this.map.delete(token);
      return undefined;
    }
    entry.referenced = true;
    return entry;
  }

  set(token: string, entry: V): void {
    if (this.capacity <= 0) return;
    if (!this.map.delete(token) && this.map.size >= this.capacity) this.evictOne();
    this.map.set(token, entry);
  }

  delete(token: string): void {
    this.map.delete(token);
  }

  clear(): void {
    this.map.clear();
  }

  private evictOne(): void {
    for (let n = 0; n < EVICTION_SCAN; n++) {
      const first = this.map.entries().next();
      if (first.done) return;
      const [token, entry] = first.value;
      this.map.delete(token);
      if (!entry.referenced) return;
      entry.referenced = false;
      this.map.set(token, entry);
    }
    const oldest = this.map.keys().next();
    if (!oldest.done) this.map.delete(oldest.value);
  }
}
