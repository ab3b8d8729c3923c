/**
 * The conformance suite every idempotency record store runs (STYLE.md: one
 * suite for interchangeable implementations): the arena store and the Redis
 * store must agree on locks, ownership, expiry and byte-exact records.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { DoneRecord, IdempotencyStore } from "../../src/idempotency/index.ts";

export interface StoreUnderTest {
  store: IdempotencyStore;
  close(): Promise<void> | void;
}

let seq = 0;
const fresh = () => `case:${process.pid}:${Date.now()}:${seq++}`;

export function storeCases(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`${name} store (idempotency conformance)`, () => {
    let sut: StoreUnderTest;
    let store: IdempotencyStore;
    beforeAll(async () => {
      sut = await make();
      store = sut.store;
    });
    afterAll(() => sut.close());

    const done = (body: Uint8Array): DoneRecord => ({
      state: "done",
      fp: "fp-1",
      status: 201,
      headers: [["content-type", "application/octet-stream"], ["set-cookie", "a=1"], ["set-cookie", "b=2"]],
      body,
    });

    test("begin takes the lock once; the next caller sees it in flight", async () => {
      const k = fresh();
      expect(await store.begin(k, "t1", 10_000)).toEqual({ taken: true });
      const second = await store.begin(k, "t2", 10_000);
      expect(second.taken).toBe(false);
      if (!second.taken) expect(second.record).toEqual({ state: "pending", token: "t1" });
    });

    test("of many concurrent begins on one key exactly one is taken", async () => {
      const k = fresh();
      const all = await Promise.all(Array.from({ length: 50 }, (_, i) => store.begin(k, `t${i}`, 10_000)));
      expect(all.filter((r) => r.taken).length).toBe(1);
    });

    test("complete by the owner stores the record byte for byte; a retry reads it", async () => {
      const k = fresh();
      await store.begin(k, "owner", 10_000);
      const body = new Uint8Array([0, 255, 10, 13, 0x22, 0x5c, 128, 1]);
      expect(await store.complete(k, "owner", done(body), 10_000)).toEqual(done(body));
      const r = await store.begin(k, "retry", 10_000);
      expect(r.taken).toBe(false);
      if (r.taken) return;
      expect(r.record.state).toBe("done");
      const rec = r.record as DoneRecord;
      expect(rec.status).toBe(201);
      expect(rec.headers).toEqual(done(body).headers);
      expect(Array.from(rec.body)).toEqual(Array.from(body));
      expect(await store.peek(k)).toEqual(rec);
    });

    test("complete and release by a non-owner do nothing", async () => {
      const k = fresh();
      await store.begin(k, "owner", 10_000);
      expect(await store.complete(k, "intruder", done(new Uint8Array([1])), 10_000)).toBeNull();
      await store.release(k, "intruder");
      expect(await store.peek(k)).toEqual({ state: "pending", token: "owner" });
    });

    test("release by the owner frees the key for a retry", async () => {
      const k = fresh();
      await store.begin(k, "owner", 10_000);
      await store.release(k, "owner");
      expect(await store.peek(k)).toBeNull();
      expect((await store.begin(k, "retry", 10_000)).taken).toBe(true);
    });

    test("a lock expires after lockMs; the old owner can then no longer complete", async () => {
      const k = fresh();
      await store.begin(k, "crashed", 60);
      await Bun.sleep(120);
      expect((await store.begin(k, "retry", 10_000)).taken).toBe(true);
      expect(await store.complete(k, "crashed", done(new Uint8Array([1])), 10_000)).toBeNull();
      expect(await store.peek(k)).toEqual({ state: "pending", token: "retry" });
    });

    test("extend by the owner renews the lease past lockMs; a non-owner's or a finished key's extend does nothing", async () => {
      const k = fresh();
      await store.begin(k, "owner", 150);
      await Bun.sleep(90);
      expect(await store.extend(k, "owner", 150)).toBe(true);
      expect(await store.extend(k, "intruder", 150)).toBe(false);
      await Bun.sleep(90);
      // 180 ms after begin: alive only because of the renewal at 90 ms.
      expect(await store.peek(k)).toEqual({ state: "pending", token: "owner" });
      expect((await store.begin(k, "retry", 10_000)).taken).toBe(false);
      await Bun.sleep(200);
      expect(await store.peek(k)).toBeNull();
      expect(await store.extend(k, "owner", 150)).toBe(false);
      const d = fresh();
      await store.begin(d, "owner", 10_000);
      await store.complete(d, "owner", done(new Uint8Array([1])), 10_000);
      expect(await store.extend(d, "owner", 150)).toBe(false);
      expect((await store.peek(d))?.state).toBe("done");
    });

    test("a record expires after its ttl", async () => {
      const k = fresh();
      await store.begin(k, "owner", 10_000);
      await store.complete(k, "owner", done(new Uint8Array([7])), 60);
      await Bun.sleep(120);
      expect(await store.peek(k)).toBeNull();
      expect((await store.begin(k, "next", 10_000)).taken).toBe(true);
    });

    test("an unreplayable marker is kept as such", async () => {
      const k = fresh();
      await store.begin(k, "owner", 10_000);
      expect(await store.complete(k, "owner", { state: "unreplayable", fp: "f", status: 200 }, 10_000)).toEqual({ state: "unreplayable", fp: "f", status: 200 });
      const r = await store.begin(k, "retry", 10_000);
      expect(r.taken ? null : r.record).toEqual({ state: "unreplayable", fp: "f", status: 200 });
    });
  });
}
