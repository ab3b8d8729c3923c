import { describe, expect, test } from "bun:test";
import { MemoryRecordStore } from "../../src/idempotency/index.ts";
import { SharedStore } from "../../src/store/index.ts";
import { storeCases } from "./store.case.ts";

const arena = () => new SharedStore(SharedStore.allocate(1 << 20, { maxObjectBytes: 64 * 1024 }));

storeCases("memory (shared arena)", async () => ({ store: new MemoryRecordStore(arena()), close() {} }));

describe("memory store specifics", () => {
  test("two store objects on one buffer (two workers) see one lock", () => {
    const buf = SharedStore.allocate(1 << 20, { maxObjectBytes: 64 * 1024 });
    const a = new MemoryRecordStore(new SharedStore(buf));
    const b = new MemoryRecordStore(new SharedStore(buf));
    expect(a.begin("k", "ta", 10_000).taken).toBe(true);
    expect(b.begin("k", "tb", 10_000)).toEqual({ taken: false, record: { state: "pending", token: "ta" } });
    expect(b.complete("k", "tb", { state: "unreplayable", fp: "f", status: 200 }, 1000)).toBeNull();
  });
  test("a response larger than the arena's object limit is kept as unreplayable, never dropped", () => {
    const s = new MemoryRecordStore(arena());
    s.begin("big", "t", 10_000);
    const stored = s.complete("big", "t", { state: "done", fp: "f", status: 200, headers: [], body: new Uint8Array(100_000) }, 10_000);
    expect(stored).toEqual({ state: "unreplayable", fp: "f", status: 200 });
    expect(s.peek("big")).toEqual({ state: "unreplayable", fp: "f", status: 200 });
  });
});
