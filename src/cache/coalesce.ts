/**
 * Request coalescing (collapsed forwarding): concurrent misses on one key
 * make one upstream request. Within a worker the first caller leads and the
 * others await it; across workers the leader also takes a lock entry in the
 * shared store (HttpCache.tryLock), and a worker that finds the lock taken
 * polls the store until the entry appears, the lock goes or the wait bound
 * passes. Every wait is bounded by `lockTimeout`: after it, a waiter goes
 * upstream itself (nginx proxy_cache_lock_timeout).
 */
import type { HttpCache } from "./http-cache.ts";

const POLL_MS = 5;

export class Coalescer {
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly done = new Map<string, () => void>();

  constructor(
    private readonly cache: HttpCache,
    readonly lockTimeout: number,
  ) {}

  /**
   * null: the caller leads (it must call release(key) when the fill is
   * over, stored or not). A promise: another request is filling the key;
   * it resolves when that one is over or the wait bound passed.
   */
  join(key: string): Promise<void> | null {
    const waiting = this.inflight.get(key);
    if (waiting !== undefined) return bounded(waiting, this.lockTimeout);
    let resolve!: () => void;
    const p = new Promise<void>((r) => (resolve = r));
    this.inflight.set(key, p);
    this.done.set(key, resolve);
    if (this.cache.tryLock(key, this.lockTimeout)) return null;
    // Another worker fills it: wait for its lock to go, as this worker's leader, then let our waiters look again.
    const until = Date.now() + this.lockTimeout;
    const poll = async () => {
      while (Date.now() < until && this.cache.locked(key)) await Bun.sleep(POLL_MS);
      this.finish(key);
    };
    void poll();
    return p;
  }

  release(key: string): void {
    this.cache.unlock(key);
    this.finish(key);
  }

  private finish(key: string): void {
    const r = this.done.get(key);
    if (r === undefined) return;
    this.done.delete(key);
    this.inflight.delete(key);
    r();
  }
}

function bounded(p: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    void p.then(() => {
      clearTimeout(t);
      resolve();
    });
  });
}
