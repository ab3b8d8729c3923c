/**
 * Per worker: the entries a lookup decoded, by the store's version. A HIT
 * still probes the shared store every time (so a purge, a replacement or an
 * expiry is seen at once, by every worker), but when the version it finds
 * was decoded here before, the stored bytes are not read, decoded or copied
 * again: the entry, its header template and its body come from here. A
 * version is unique over the store's life, so it can never name other bytes.
 *
 * Bounded in entries and bytes, FIFO: the oldest insert goes first. So the
 * memory beyond `[cache] size` is at most MEMO_BYTES per worker; values over
 * MEMO_MAX_VALUE bytes are never kept (for those bodies the copy per hit is
 * small next to sending them). The order is a ring of versions beside the
 * Map, not the Map's own order: evicting through `map.keys().next()` walks
 * the deleted entries at the Map's front, and measured ~10 µs per insert once
 * the memo churned.
 */
export const MEMO_ENTRIES = 1024;
export const MEMO_BYTES = 4 * 1024 * 1024;
export const MEMO_MAX_VALUE = 512 * 1024;

export class DecodedMemo<T> {
  private readonly map = new Map<number, T>();
  private readonly order: Float64Array;
  private readonly sizes: Float64Array;
  private head = 0;
  private count = 0;
  private bytes = 0;

  constructor(
    private readonly maxEntries = MEMO_ENTRIES,
    private readonly maxBytes = MEMO_BYTES,
  ) {
    this.order = new Float64Array(maxEntries);
    this.sizes = new Float64Array(maxEntries);
  }

  get(version: number): T | undefined {
    return this.map.get(version);
  }

  /** Keep `value` for `version` (not already kept); `bytes`: what it holds. False when too large to keep. */
  set(version: number, value: T, bytes: number): boolean {
    if (bytes > MEMO_MAX_VALUE || bytes > this.maxBytes || this.map.has(version)) return false;
    while (this.count === this.maxEntries || this.bytes + bytes > this.maxBytes) this.evict();
    const at = (this.head + this.count) % this.maxEntries;
    this.order[at] = version;
    this.sizes[at] = bytes;
    this.count++;
    this.bytes += bytes;
    this.map.set(version, value);
    return true;
  }

  private evict(): void {
    this.map.delete(this.order[this.head]!);
    this.bytes -= this.sizes[this.head]!;
    this.head = (this.head + 1) % this.maxEntries;
    this.count--;
  }

  get size(): number {
    return this.count;
  }

  get usedBytes(): number {
    return this.bytes;
  }
}
