/**
 * Which store holds a key: with `[redis]`, Redis (shared by instances), with
 * the local arena as the fallback and as a mirror; without it, the arena.
 *
 * With Redis:
 * - a record this instance holds locally answers first: one written while
 *   Redis was down, or the local copy of one completed here, so a retry that
 *   arrives after Redis came back (or while it is down) is replayed, never
 *   run a second time on this instance;
 * - Redis down (not connected, a command failed or timed out) follows
 *   redis.on_error: `deny` refuses (the caller answers 503), `local` and
 *   `allow` take the lock in the arena instead, counted and reported by
 *   `onFallback`. While Redis is down, instances do not see each other's
 *   keys: exactly-once holds per instance only until it is back.
 */
import type { RedisOnError } from "../limits/redis/modes.ts";
import type { MemoryRecordStore } from "./memory-store.ts";
import type { RedisRecordStore } from "./redis-store.ts";
import { StoreUnavailable, type BeginResult, type FinalRecord, type IdempotencyStore } from "./store.ts";

/** begin()'s answer, with the store that holds the lock when taken. */
export type TierBegin = { readonly taken: true; readonly store: IdempotencyStore } | Extract<BeginResult, { taken: false }>;

export class RecordTiers {
  constructor(
    private readonly local: MemoryRecordStore,
    private readonly redis: RedisRecordStore | null,
    private readonly onError: RedisOnError,
    /** Called when an operation fell back to (or was refused for want of) Redis. */
    private readonly onFallback: (op: "begin" | "complete" | "extend" | "release", error: unknown) => void,
  ) {}

  /** The arena alone: the answer is synchronous (the memory hot path). */
  get localOnly(): boolean {
    return this.redis === null;
  }

  beginLocal(key: string, token: string, lockMs: number): TierBegin {
    const r = this.local.begin(key, token, lockMs);
    return r.taken ? { taken: true, store: this.local } : r;
  }

  /** Take the lock or read the record; rejects with StoreUnavailable under on_error = "deny". */
  async begin(key: string, token: string, lockMs: number): Promise<TierBegin> {
    const redis = this.redis!;
    const mine = this.local.peek(key);
    if (mine !== null) return { taken: false, record: mine };
    if (redis.ready) {
      try {
        const r = await redis.begin(key, token, lockMs);
        return r.taken ? { taken: true, store: redis } : r;
      } catch (e) {
        return this.fallback(key, token, lockMs, e);
      }
    }
    return this.fallback(key, token, lockMs, new StoreUnavailable(new Error("redis not connected")));
  }

  private fallback(key: string, token: string, lockMs: number, error: unknown): TierBegin {
    this.onFallback("begin", error);
    if (this.onError === "deny") throw error instanceof StoreUnavailable ? error : new StoreUnavailable(error);
    return this.beginLocal(key, token, lockMs);
  }

  /** Store the final record where the lock is; a Redis record is mirrored locally (and kept locally when Redis failed). */
  complete(store: IdempotencyStore, key: string, token: string, record: FinalRecord, ttlMs: number): FinalRecord | null | Promise<FinalRecord | null> {
    if (store === this.local) return this.local.complete(key, token, record, ttlMs);
    return this.completeRemote(store, key, token, record, ttlMs);
  }

  private async completeRemote(store: IdempotencyStore, key: string, token: string, record: FinalRecord, ttlMs: number): Promise<FinalRecord | null> {
    try {
      const stored = await store.complete(key, token, record, ttlMs);
      if (stored !== null) this.local.mirror(key, stored, ttlMs);
      return stored;
    } catch (e) {
      // The request ran: this instance at least must never run it again.
      this.onFallback("complete", e);
      this.local.mirror(key, record, ttlMs);
      return null;
    }
  }

  /** Renew the lock where it is; false when it is no longer ours or Redis failed (it then expires at lock_timeout). */
  extend(store: IdempotencyStore, key: string, token: string, lockMs: number): boolean | Promise<boolean> {
    if (store === this.local) return this.local.extend(key, token, lockMs);
    return this.extendRemote(store, key, token, lockMs);
  }

  private async extendRemote(store: IdempotencyStore, key: string, token: string, lockMs: number): Promise<boolean> {
    try {
      return await store.extend(key, token, lockMs);
    } catch (e) {
      this.onFallback("extend", e);
      return false;
    }
  }

  /** Free the lock; a failure leaves it to lock_timeout. */
  release(store: IdempotencyStore, key: string, token: string): void | Promise<void> {
    if (store === this.local) return this.local.release(key, token);
    return this.releaseRemote(store, key, token);
  }

  private async releaseRemote(store: IdempotencyStore, key: string, token: string): Promise<void> {
    try {
      await store.release(key, token);
    } catch (e) {
      this.onFallback("release", e);
    }
  }
}
