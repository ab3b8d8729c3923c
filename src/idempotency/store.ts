/**
 * Where idempotency records live: the shared-memory arena (memory-store.ts,
 * one copy for every worker of an instance) or Redis (redis-store.ts, shared
 * by instances). Both give the same guarantees, checked by one conformance
 * suite (test/idempotency/store.case.ts):
 *
 * - begin() takes the in-flight lock atomically: of any number of callers
 *   racing on one key (any worker, any instance sharing the store), exactly
 *   one gets `taken`; the others get the record that is there.
 * - complete(), extend() and release() act only while the caller still owns the lock
 *   (its token): a request whose lock expired (lock_timeout) and was taken by
 *   a retry can never overwrite or free the retry's record.
 */
import type { DoneRecord, IdempotencyRecord, UnreplayableRecord } from "./record.ts";

export type BeginResult = { readonly taken: true } | { readonly taken: false; readonly record: IdempotencyRecord };

export type FinalRecord = DoneRecord | UnreplayableRecord;

export interface IdempotencyStore {
  readonly kind: "memory" | "redis";
  /** Take the lock on `key` for `lockMs`, or read what holds the key. */
  begin(key: string, token: string, lockMs: number): BeginResult | Promise<BeginResult>;
  /**
   * Replace our lock by the final record for `ttlMs`. A done record that
   * cannot be stored (larger than the store takes) is stored as
   * unreplayable instead. Returns what was stored, or null when the lock is
   * no longer ours (expired, taken by another).
   */
  complete(key: string, token: string, record: FinalRecord, ttlMs: number): FinalRecord | null | Promise<FinalRecord | null>;
  /**
   * Push our lock's expiry to `lockMs` from now, while our request is still
   * running (a lease: an instance that crashed stops renewing, so its key is
   * free lock_timeout after its last renewal). False when the lock is no
   * longer ours.
   */
  extend(key: string, token: string, lockMs: number): boolean | Promise<boolean>;
  /** Drop our lock so the client may retry (nothing was executed, or no answer came). */
  release(key: string, token: string): void | Promise<void>;
  /** The record at `key`, or null. */
  peek(key: string): IdempotencyRecord | null | Promise<IdempotencyRecord | null>;
}

/** A store that cannot be reached (Redis down): the caller applies redis.on_error. */
export class StoreUnavailable extends Error {
  constructor(cause: unknown) {
    super(`idempotency store unavailable: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "StoreUnavailable";
  }
}
