import { describe, expect, test } from "bun:test";
import { newDecision } from "../../src/limits/algorithms/types.ts";
import { compileLimit } from "../../src/limits/compile.ts";
import { hashKey, hashHex } from "../../src/limits/hash.ts";
import { allocateLimiterTable, attachLimiterTable, findSlot, tableStats, W_EXPIRY, slotBase } from "../../src/limits/slot-table.ts";
import { limit } from "./helpers.ts";

const NOW = 1_700_000_000_000;

describe("allocation", () => {
  test("rounds capacity up to a power of two and lays out header, slots, bitmap", () => {
    const sab = allocateLimiterTable(1000);
    const t = attachLimiterTable(sab);
    expect(t.capacity).toBe(1024);
    expect(sab.byteLength).toBe(64 + 1024 * 32 + 1024 / 8);
    expect(t.dirtyBase).toBe(16 + 1024 * 8);
  });
  test("minimum capacity 64", () => {
    expect(attachLimiterTable(allocateLimiterTable(1)).capacity).toBe(64);
  });
  test("rejects bad sizes", () => {
    expect(() => allocateLimiterTable(0)).toThrow(RangeError);
    expect(() => allocateLimiterTable(-5)).toThrow(RangeError);
    expect(() => allocateLimiterTable(1.5)).toThrow(RangeError);
    expect(() => allocateLimiterTable(2 ** 27)).toThrow(RangeError);
  });
  test("attach refuses a buffer that is not a table", () => {
    expect(() => attachLimiterTable(new SharedArrayBuffer(1024))).toThrow(/magic/);
  });
  test("fixed seeds give the same hashes in every table (Redis sync instances agree)", () => {
    const a = attachLimiterTable(allocateLimiterTable(64, { seed: [1, 2] }));
    const b = attachLimiterTable(allocateLimiterTable(64, { seed: [1, 2] }));
    expect(hashKey(a.seedA, a.seedB, "x")).toEqual(hashKey(b.seedA, b.seedB, "x"));
    expect(hashHex(1, 2)).toBe("0000000200000001");
  });
});

describe("lookup", () => {
  test("the same key finds the same slot; different keys get different slots", () => {
    // Sparse (200 keys in 64k slots) so no 8-slot probe window fills: a full window evicts by design (below).
    const t = attachLimiterTable(allocateLimiterTable(65536));
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const [a, b] = hashKey(t.seedA, t.seedB, `key-${i}`);
      const s = findSlot(t, a, b, NOW, 1);
      expect(findSlot(t, a, b, NOW, 1)).toBe(s);
      seen.add(s);
    }
    expect(seen.size).toBe(200);
    expect(tableStats(t)).toMatchObject({ used: 200, claims: 200, evictions: 0 });
  });
});

describe("reclaim and eviction at capacity", () => {
  const lim = compileLimit(limit({ id: "cap#0", algorithm: "fixed_window", limit: 1, window: 1000 }), 1);

  function use(t: ReturnType<typeof attachLimiterTable>, key: string, now: number) {
    const [a, b] = hashKey(t.seedA, t.seedB, key);
    const slot = findSlot(t, a, b, now, 1);
    const d = newDecision();
    lim.impl.decide(t, slot, lim, now, 1, d);
    return d.allowed;
  }

  test("expired slots are reclaimed before anything is evicted", () => {
    const t = attachLimiterTable(allocateLimiterTable(64, { probe: 64 }));
    for (let i = 0; i < 64; i++) expect(use(t, `old-${i}`, NOW)).toBe(true);
    expect(tableStats(t).used).toBe(64);
    // All 64 windows ended: new keys reuse their slots.
    for (let i = 0; i < 64; i++) expect(use(t, `new-${i}`, NOW + 5000)).toBe(true);
    const st = tableStats(t);
    expect(st.reclaims).toBe(64);
    expect(st.evictions).toBe(0);
  });

  test("a full window evicts the oldest expiry; the evicted key starts fresh", () => {
    const t = attachLimiterTable(allocateLimiterTable(64, { probe: 8 }));
    // Fill the table with keys whose windows are still open.
    let filled = 0;
    for (let i = 0; filled < 64 * 4 && i < 10_000; i++, filled++) use(t, `live-${i}`, NOW);
    const st = tableStats(t);
    expect(st.used).toBe(64);
    expect(st.evictions).toBeGreaterThan(0);
    // A key that was evicted is admitted again (fresh), the documented effect. Which keys
    // were evicted depends on the table's random hash seeds: find one that is not resident.
    const resident = (key: string) => {
      const [a, b] = hashKey(t.seedA, t.seedB, key);
      for (let s = 0; s < 64; s++) if (t.i32[slotBase(s)] === a && t.i32[slotBase(s) + 1] === b) return true;
      return false;
    };
    const evicted = Array.from({ length: filled }, (_, i) => `live-${i}`).find((k) => !resident(k));
    expect(evicted).toBeDefined();
    expect(use(t, evicted!, NOW)).toBe(true);
    // A key that is still resident keeps its count.
    use(t, "resident", NOW);
    expect(use(t, "resident", NOW)).toBe(false);
  });

  test("eviction prefers the slot whose state expires first", () => {
    const t = attachLimiterTable(allocateLimiterTable(64, { probe: 64 }));
    const long = compileLimit(limit({ id: "long#0", algorithm: "fixed_window", limit: 1, window: 3_600_000 }), 2);
    const useLong = (key: string) => {
      const [a, b] = hashKey(t.seedA, t.seedB, key);
      const slot = findSlot(t, a, b, NOW, 2);
      const d = newDecision();
      long.impl.decide(t, slot, long, NOW, 1, d);
      return d.allowed;
    };
    for (let i = 0; i < 63; i++) useLong(`hour-${i}`);
    use(t, "second", NOW); // expires within a second: the oldest expiry
    const [a, b] = hashKey(t.seedA, t.seedB, "second");
    const secondSlot = findSlot(t, a, b, NOW, 1);
    const expiry = Atomics.load(t.i32, slotBase(secondSlot) + W_EXPIRY);
    expect(expiry).toBeGreaterThan(0);
    useLong("newcomer");
    // "second" was the victim; every hour-long key is still counted.
    expect(tableStats(t).evictions).toBe(1);
    for (let i = 0; i < 63; i++) expect(useLong(`hour-${i}`)).toBe(false);
  });
});
