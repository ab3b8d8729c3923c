/**
 * Idempotency records in the shared-memory arena (src/store/), one copy for
 * every worker of the instance: the lock is the arena's atomic
 * insertIfAbsent (an expired lock counts as absent, so lock_timeout frees a
 * key whose owner crashed), and "in progress -> done" is compareAndSet on
 * the lock's version, so only the owner completes it.
 *
 * release() reads the lock, checks the token, then deletes: between the two
 * the lock can only change hands if it expired in that instant, and then the
 * new owner's record would be dropped and the key freed early (a retry runs
 * at worst as if lock_timeout had passed). The arena has no
 * delete-if-version; the window is a few hundred nanoseconds.
 */
import type { SharedStore } from "../store/index.ts";
import { decodeRecord, encodeHead, type IdempotencyRecord } from "./record.ts";
import type { BeginResult, FinalRecord, IdempotencyStore } from "./store.ts";

const EMPTY = new Uint8Array(0);
const TAKEN: BeginResult = { taken: true };

/** The part of the shared store (src/store) records need. */
export type RecordArena = Pick<SharedStore, "get" | "set" | "insertIfAbsent" | "compareAndSet" | "delete">;

export class MemoryRecordStore implements IdempotencyStore {
  readonly kind = "memory";

  constructor(private readonly arena: RecordArena) {}

  begin(key: string, token: string, lockMs: number): BeginResult {
    const head = encodeHead({ state: "pending", token });
    // An entry that expires between the failed insert and the read is gone: try again (bounded: each try is a fresh race).
    for (let attempt = 0; attempt < 4; attempt++) {
      if (this.arena.insertIfAbsent(key, head, EMPTY, lockMs)) return TAKEN;
      const found = this.peek(key);
      if (found !== null) return { taken: false, record: found };
    }
    // A key that keeps flipping: someone holds it; say so as in flight.
    return { taken: false, record: { state: "pending", token: "" } };
  }

  complete(key: string, token: string, record: FinalRecord, ttlMs: number): FinalRecord | null {
    const e = this.arena.get(key);
    if (e === null) return null;
    const cur = decodeRecord(e.meta, e.body);
    if (cur === null || cur.state !== "pending" || cur.token !== token) return null;
    const body = record.state === "done" ? record.body : EMPTY;
    if (this.arena.compareAndSet(key, e.version, encodeHead(record), body, ttlMs)) return record;
    if (record.state !== "done") return null;
    // Did not fit (or lost a race: then the next CAS fails too): keep the outcome without the body.
    const marker: FinalRecord = { state: "unreplayable", fp: record.fp, status: record.status };
    return this.arena.compareAndSet(key, e.version, encodeHead(marker), EMPTY, ttlMs) ? marker : null;
  }

  extend(key: string, token: string, lockMs: number): boolean {
    const e = this.arena.get(key);
    if (e === null) return false;
    const cur = decodeRecord(e.meta, e.body);
    if (cur === null || cur.state !== "pending" || cur.token !== token) return false;
    return this.arena.compareAndSet(key, e.version, e.meta, EMPTY, lockMs);
  }

  release(key: string, token: string): void {
    const e = this.arena.get(key);
    if (e === null) return;
    const cur = decodeRecord(e.meta, e.body);
    if (cur !== null && cur.state === "pending" && cur.token === token) this.arena.delete(key);
  }

  peek(key: string): IdempotencyRecord | null {
    const e = this.arena.get(key);
    return e === null ? null : decodeRecord(e.meta, e.body);
  }

  /** Keep a copy of a record written elsewhere (Redis): this instance then answers retries even while Redis is down. */
  mirror(key: string, record: FinalRecord, ttlMs: number): void {
    this.arena.set(key, encodeHead(record), record.state === "done" ? record.body : EMPTY, ttlMs);
  }
}
