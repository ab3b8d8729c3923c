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

export interface CacheStore {
  get(key: string): StoredBytes | null;
  set(key: string, meta: Uint8Array, body: Uint8Array, ttlMs: number): boolean;
  insertIfAbsent(key: string, meta: Uint8Array, body: Uint8Array, ttlMs: number): boolean;
  compareAndSet(key: string, expectedVersion: number, meta: Uint8Array, body: Uint8Array, ttlMs: number): boolean;
  delete(key: string): boolean;
  deletePrefix(prefix: string): number;
}
