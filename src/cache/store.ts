/**
 * What the cache needs of its storage: the part of src/store's SharedStore
 * it uses (one arena in shared memory for every worker), so the engine is
 * written and tested against the interface and SharedStore `satisfies` it.
 */
export interface StoredBytes {
  meta: Uint8Array;
  body: Uint8Array;
  expiresAt: number;
  storedAt: number;
  version: number;
}

/** An entry in place in the store's memory, during a `read` visit only (SharedStore's EntryView). */
export interface StoredView {
  readonly bytes: Uint8Array;
  readonly metaStart: number;
  readonly bodyStart: number;
  readonly bodyEnd: number;
  readonly expiresAt: number;
  readonly storedAt: number;
  /** Unique over the store's life: one version never names two contents. */
  readonly version: number;
}

export interface CacheStore {
  get(key: string): StoredBytes | null;
  /** Lock-free read in place: `visit` may run more than once and must copy what it keeps (SharedStore.read). */
  read<T>(key: string, visit: (entry: StoredView) => T): T | null;
  set(key: string, meta: Uint8Array, body: Uint8Array, ttlMs: number): boolean;
  insertIfAbsent(key: string, meta: Uint8Array, body: Uint8Array, ttlMs: number): boolean;
  compareAndSet(key: string, expectedVersion: number, meta: Uint8Array, body: Uint8Array, ttlMs: number): boolean;
  delete(key: string): boolean;
  deletePrefix(prefix: string): number;
}
