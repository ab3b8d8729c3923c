/**
 * The response cache over a CacheStore: primary and secondary (Vary) keys,
 * storing, updating after a 304, invalidation (§4.4) and purges. Pure of the
 * pipeline: callers pass keys, header getters and times.
 *
 * Layout in the store (keys.ts): a response that does not vary lives at its
 * primary key; one that varies leaves a marker there with its Vary names,
 * and lives at the secondary key those names select. Tags (Surrogate-Key,
 * Cache-Tag) are kept as small index entries `\x01tag\0<tag>` listing keys.
 *
 * A lookup reads the store in place (CacheStore.read: no copy) and, when this
 * worker decoded that stored version before, takes the entry from the memo
 * (memo.ts) without reading its bytes; otherwise it decodes the meta and
 * copies the body once.
 */
import { decode, encodeEntry, encodeMarker, type Decoded } from "./codec.ts";
import { validators } from "./conditional.ts";
import type { StoredEntry } from "./entry.ts";
import { secondaryKey, uriPrefix } from "./keys.ts";
import { DecodedMemo } from "./memo.ts";
import type { CacheStore, StoredView } from "./store.ts";

/** A stored response found for a request. */
export interface Found {
  readonly kind: "found";
  readonly key: string;
  /** Shared by every lookup of this stored version in this worker (memo.ts): read it, never change it (copy first, as a 304 update does). */
  readonly entry: StoredEntry;
  readonly body: Uint8Array;
  /**
   * From the second lookup of this version in this worker on (a version seen
   * once would pay for them and never use them): the stored fields as a
   * Headers object, for a Response's init (which copies it), cheaper per HIT
   * than appending every field; and the body as a Blob, which a Response does
   * not copy again. null before that, and blob null for an empty body.
   */
  readonly headers: Headers | null;
  readonly blob: Blob | null;
}

type MutableFound = { -readonly [K in keyof Found]: Found[K] };

export type Lookup = { kind: "uri-miss" } | { kind: "vary-miss"; key: string } | Found;

interface Marker {
  readonly kind: "marker";
  readonly vary: string[];
}
/** What a visit of the store read: a memoized Found or Marker, or bytes decoded now. */
type Visited = Found | Marker | { readonly kind: "decoded"; readonly version: number; readonly decoded: Decoded; readonly body: Uint8Array };
const URI_MISS: Lookup = { kind: "uri-miss" };

/** How long an entry with validators stays after its windows, to be revalidated with a 304 rather than refetched. */
export const KEEP_VALIDATABLE_MS = 3600_000;
/** How long any entry stays once stale, for clients that accept stale ones (max-stale, §5.2.1.2); eviction bounds the memory. */
export const KEEP_STALE_MS = 600_000;
const TAG = "\u0001tag\0";
const LOCK = "\u0001lock\0";
const EMPTY = new Uint8Array(0);
/** Keys listed per tag, at most: a tag index stays small (older keys fall off; their entries expire on their own). */
const MAX_TAGGED = 4096;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** What a version's second lookup builds once for every later hit (Found.headers, Found.blob). */
function prepare(f: MutableFound): void {
  const headers = new Headers();
  for (const [k, v] of f.entry.headers) headers.append(k, v);
  f.headers = headers;
  f.blob = f.body.length > 0 ? new Blob([f.body]) : null;
}

export class HttpCache {
  private readonly memo = new DecodedMemo<Found | Marker>();

  constructor(readonly store: CacheStore) {}

  lookup(primary: string, get: (name: string) => string | null): Lookup {
    const first = this.read(primary);
    if (first === null) return URI_MISS;
    if (first.kind === "found") return first;
    const key = secondaryKey(primary, first.vary, get);
    const v = this.read(key);
    if (v === null || v.kind !== "found") return { kind: "vary-miss", key };
    return v;
  }

  /**
   * The store's visitor (it may run more than once, on bytes a writer is
   * changing: no side effects, and only copies leave it): the memoized value
   * of the version it finds, else the meta decoded and the body copied.
   */
  private readonly visit = (v: StoredView): Visited => {
    const known = this.memo.get(v.version);
    if (known !== undefined) return known;
    const decoded = decode(v.bytes.subarray(v.metaStart, v.bodyStart));
    const body = new Uint8Array(v.bodyEnd - v.bodyStart);
    body.set(v.bytes.subarray(v.bodyStart, v.bodyEnd));
    return { kind: "decoded", version: v.version, decoded, body };
  };

  private read(key: string): Found | Marker | null {
    const r = this.store.read(key, this.visit);
    if (r === null) return null;
    if (r.kind === "found") {
      if (r.headers === null) prepare(r as MutableFound);
      return r;
    }
    if (r.kind !== "decoded") return r;
    const d = r.decoded;
    if (d === null) return null;
    const out: Found | Marker = d.kind === "marker" ? { kind: "marker", vary: d.vary } : { kind: "found", key, entry: d.entry, body: r.body, headers: null, blob: null };
    // The body twice (bytes and, once prepared, the Blob) plus about the meta.
    this.memo.set(r.version, out, 2 * r.body.length + 512);
    return out;
  }

  /** How long the store keeps `e`: fresh life, the RFC 5861 windows, then a while to revalidate if it has validators. 0: not worth keeping. */
  keepFor(e: StoredEntry, now: number): number {
    const v = validators(e);
    const left = e.lifetime - (e.initialAge + Math.max(0, now - e.responseTime));
    const windows = Math.max(e.swr, e.sie);
    const validatable = v.etag !== null || v.lastModified !== null;
    // Stale and no way to revalidate or serve it within a window: nothing to keep.
    if (left <= 0 && windows <= 0 && !validatable) return 0;
    return Math.max(0, left) + Math.max(windows, KEEP_STALE_MS) + (validatable ? KEEP_VALIDATABLE_MS : 0);
  }

  /** Store `e` for a request whose headers `get` reads; false when it is not worth it or does not fit. */
  put(primary: string, get: (name: string) => string | null, e: StoredEntry, body: Uint8Array, now: number): boolean {
    return this.place(primary, e.vary.length > 0 ? secondaryKey(primary, e.vary, get) : primary, e, body, now);
  }

  /** The key `put` stores `e` under for a request whose headers `get` reads. */
  keyFor(primary: string, get: (name: string) => string | null, e: StoredEntry): string {
    return e.vary.length > 0 ? secondaryKey(primary, e.vary, get) : primary;
  }

  /** Store an entry whose key is known (one found in the Redis tier): the Vary marker, the entry, its tags. */
  place(primary: string, key: string, e: StoredEntry, body: Uint8Array, now: number): boolean {
    const ttl = this.keepFor(e, now);
    if (ttl <= 0) return false;
    if (key !== primary && !this.store.set(primary, encodeMarker(e.vary), EMPTY, ttl)) return false;
    if (!this.store.set(key, encodeEntry(e), body, ttl)) return false;
    for (const t of e.tags) this.tag(t, key, ttl);
    return true;
  }

  /** Replace the entry at `key` (after a 304 updated its headers). */
  update(key: string, e: StoredEntry, body: Uint8Array, now: number): boolean {
    const ttl = this.keepFor(e, now);
    if (ttl <= 0) return this.store.delete(key), false;
    return this.store.set(key, encodeEntry(e), body, ttl);
  }

  /** Every entry of a URI: all routes, all Vary variants (purge by URL, §4.4 invalidation). */
  invalidate(uri: string): number {
    return this.store.deletePrefix(uriPrefix(uri));
  }

  purgePrefix(prefix: string): number {
    // Keys start with the URI, so a URI prefix is a key prefix; the tag and lock entries start with \x01 and stay.
    return prefix.length === 0 ? 0 : this.store.deletePrefix(prefix);
  }

  /** Every stored response (keys start with their URI's scheme), when purges may have been missed; tag and lock entries stay. */
  clear(): number {
    return this.store.deletePrefix("http");
  }

  purgeTag(tag: string): number {
    const idx = this.store.get(TAG + tag);
    if (idx === null) return 0;
    let n = 0;
    for (const key of dec.decode(idx.body).split("\n")) if (key.length > 0 && this.store.delete(key)) n++;
    this.store.delete(TAG + tag);
    return n;
  }

  /** Add `key` to the tag's index, with compare-and-set so concurrent writers from several workers lose no key. */
  private tag(tag: string, key: string, ttl: number): void {
    for (let attempt = 0; attempt < 8; attempt++) {
      const cur = this.store.get(TAG + tag);
      if (cur === null) {
        if (this.store.insertIfAbsent(TAG + tag, EMPTY, enc.encode(key), ttl)) return;
        continue;
      }
      const keys = dec.decode(cur.body).split("\n");
      if (keys.includes(key)) return;
      keys.push(key);
      const body = enc.encode(keys.slice(-MAX_TAGGED).join("\n"));
      const keep = Math.max(ttl, cur.expiresAt - Date.now());
      if (this.store.compareAndSet(TAG + tag, cur.version, EMPTY, body, keep)) return;
    }
  }

  /** Cross-worker fill lock (coalescing): true when this caller holds it now. */
  tryLock(key: string, ttlMs: number): boolean {
    return this.store.insertIfAbsent(LOCK + key, EMPTY, EMPTY, ttlMs);
  }

  locked(key: string): boolean {
    return this.store.get(LOCK + key) !== null;
  }

  unlock(key: string): void {
    this.store.delete(LOCK + key);
  }
}
